import { describe, expect, it } from '@jest/globals';
import { IdGenerator, newId } from './ids.js';

describe('newId', () => {
  it('gives 18-19 digit decimal strings that fit a signed 64-bit integer', () => {
    for (let i = 0; i < 1000; i++) {
      const id = newId();
      expect(id).toMatch(/^[1-9]\d{17,18}$/);
      expect(BigInt(id) < 2n ** 63n).toBe(true);
    }
  });

  it('never repeats and always increases within a process, even at full speed', () => {
    const ids = Array.from({ length: 50_000 }, () => newId());
    expect(new Set(ids).size).toBe(ids.length);
    for (let i = 1; i < ids.length; i++) expect(BigInt(ids[i]!) > BigInt(ids[i - 1]!)).toBe(true);
  });

  it('borrows the next tick when one is used up, and ignores a clock that steps back', () => {
    let now = Date.UTC(2026, 0, 1);
    const ids = new IdGenerator(7, () => now);
    const first = Array.from({ length: 600 }, () => BigInt(ids.next()));
    now -= 60_000;
    const later = BigInt(ids.next());
    const all = [...first, later];
    for (let i = 1; i < all.length; i++) expect(all[i]! > all[i - 1]!).toBe(true);
  });

  it('orders ids by time across generators', () => {
    let now = Date.UTC(2026, 0, 1);
    const a = new IdGenerator(65535, () => now);
    const b = new IdGenerator(0, () => now);
    const earlier = BigInt(a.next());
    now += 10;
    expect(BigInt(b.next()) > earlier).toBe(true);
  });
});
