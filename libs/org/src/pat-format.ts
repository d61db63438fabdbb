import { createHash, randomBytes } from 'node:crypto';
import { newId } from '#kernel';

/**
 * Personal access tokens (PATs) of machine users.
 *
 * Format: `pat_<userId>_<tokenId>_<secret>`
 *   - `userId`, `tokenId`: the ids (digits from newId(); letters, digits and `-` are accepted,
 *     never `_`), so verification goes straight to the user's stream: no lookup table;
 *   - `secret`: 32 bytes from crypto.randomBytes, base64url without padding (43 characters).
 * Example: `pat_304563418221101057_304563418221101058_q5b0Zx...` (99 characters today).
 *
 * Storage: only `hash` = hex(SHA-256(the whole token)) goes into `user.pat.added` on
 * `user-<userId>`. Because the ids are inside the hashed text, a token edited to name another
 * user or another token id no longer matches any hash.
 *
 * Verification: parse, load the user's stream (foldUser), find the token id among the user's
 * tokens (a removed token is gone from the fold), compare the hashes with timingSafeEqual,
 * check the expiry. A token is never logged: log the user id and token id instead.
 */
export const PAT_PREFIX = 'pat_';
const SECRET_BYTES = 32;
const ID = '[0-9A-Za-z-]{1,64}';
const PAT_PATTERN = new RegExp(`^pat_(${ID})_(${ID})_([0-9A-Za-z_-]{43})$`);
const ID_PATTERN = new RegExp(`^${ID}$`);

export interface IssuedPat {
  tokenId: string;
  /** The token itself: show it once, never store or log it. */
  token: string;
  /** What the event stores. */
  hash: string;
}

export function issuePat(userId: string, tokenId: string = newId()): IssuedPat {
  if (!ID_PATTERN.test(userId) || !ID_PATTERN.test(tokenId)) {
    throw new Error('a personal access token needs ids of letters, digits and "-" (at most 64)');
  }
  const token = `${PAT_PREFIX}${userId}_${tokenId}_${randomBytes(SECRET_BYTES).toString('base64url')}`;
  return { tokenId, token, hash: hashPat(token) };
}

export function hashPat(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}

export function looksLikePat(token: string): boolean {
  return token.startsWith(PAT_PREFIX);
}

export function parsePat(token: string): { userId: string; tokenId: string } | undefined {
  const match = PAT_PATTERN.exec(token);
  return match ? { userId: match[1]!, tokenId: match[2]! } : undefined;
}
