import { describe, expect, it } from '@jest/globals';
import { START } from '../event-store.js';
import { decodePostgresPosition, encodePostgresPosition } from './position.js';

describe('PostgreSQL positions', () => {
  it('sort as strings in the numeric order of (transaction id, global sequence)', () => {
    const ordered = [
      encodePostgresPosition('999', '5'),
      encodePostgresPosition('999', '40'),
      encodePostgresPosition('1000', '2'),
      encodePostgresPosition('18446744073709551615', '1'),
    ];
    expect([...ordered].reverse().sort()).toEqual(ordered);
    expect(ordered.every((p) => START < p)).toBe(true);
  });

  it('decode to what was encoded, and START to the beginning', () => {
    expect(decodePostgresPosition(encodePostgresPosition('1000', '42'))).toEqual({ transactionId: '1000', globalSeq: '42' });
    expect(decodePostgresPosition(START)).toEqual({ transactionId: '0', globalSeq: '0' });
  });

  it('refuses a string that is not a position of this store', () => {
    expect(() => decodePostgresPosition('12/34')).toThrow(RangeError);
  });
});
