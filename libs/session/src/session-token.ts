import { createHash, randomBytes } from 'node:crypto';
import { constantTimeEqual } from '#crypto';
import { newId } from '#kernel';

/** A session token: 32 random bytes, base64url (43 characters). Only its hash is stored. */
export interface NewSessionToken {
  tokenId: string;
  token: string;
  hash: string;
}

export const TOKEN_BYTES = 32;

export const hashSessionToken = (token: string) => createHash('sha256').update(token, 'utf8').digest('hex');

export function newSessionToken(): NewSessionToken {
  const token = randomBytes(TOKEN_BYTES).toString('base64url');
  return { tokenId: newId(), token, hash: hashSessionToken(token) };
}

/** Whether `token` is the session's current token (the latest session.token.set), in constant time. */
export function isCurrentSessionToken(current: { hash: string } | undefined, token: string): boolean {
  if (!current) return false;
  return constantTimeEqual(hashSessionToken(token), current.hash);
}
