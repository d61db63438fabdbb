import type { Position } from '../event-store.js';

// Fixed-width decimal so that string order equals numeric order: xid8 and bigint both fit in 20 digits.
const WIDTH = 20;

export function encodePostgresPosition(transactionId: string, globalSeq: string): Position {
  return `${transactionId.padStart(WIDTH, '0')}.${globalSeq.padStart(WIDTH, '0')}`;
}

export function decodePostgresPosition(position: Position): { transactionId: string; globalSeq: string } {
  if (position === '') return { transactionId: '0', globalSeq: '0' };
  const match = /^(\d{20})\.(\d{20})$/.exec(position);
  if (!match) throw new RangeError(`not a PostgreSQL event store position: "${position}"`);
  return { transactionId: BigInt(match[1]!).toString(), globalSeq: BigInt(match[2]!).toString() };
}
