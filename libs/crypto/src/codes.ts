import { createHash, randomInt, timingSafeEqual } from 'node:crypto';

const DIGITS = '0123456789';
// No 0/O, 1/I/L: codes people copy from an email by hand.
const ALPHANUMERIC = 'ABCDEFGHJKMNPQRSTUVWXYZ23456789';

function randomCode(alphabet: string, length: number): string {
  let code = '';
  for (let i = 0; i < length; i++) code += alphabet[randomInt(alphabet.length)];
  return code;
}

/** A one-time code of `length` digits from the cryptographic generator. */
export const generateNumericCode = (length: number) => randomCode(DIGITS, length);
export const generateAlphanumericCode = (length: number) => randomCode(ALPHANUMERIC, length);

/**
 * Compares two secrets in time that depends on neither content nor length: both sides are
 * hashed to the same width first.
 */
export function constantTimeEqual(a: string, b: string): boolean {
  const ha = createHash('sha256').update(a, 'utf8').digest();
  const hb = createHash('sha256').update(b, 'utf8').digest();
  return timingSafeEqual(ha, hb);
}
