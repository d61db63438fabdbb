import { timingSafeEqual } from 'node:crypto';
import type { UserState } from '#user';
import { hashPat, parsePat } from '#org';
import type { UserLookup } from './authenticated-users.js';

/** Verification of personal access tokens; their format is in libs/org/src/pat-format.ts. */

export type PatRejection = 'malformed' | 'unknown-user' | 'unknown-token' | 'wrong-secret' | 'expired';

export type PatVerification =
  | { ok: true; userId: string; tokenId: string; state: UserState; /** From the user's first event's metadata. */ instanceId?: string }
  | { ok: false; reason: PatRejection; userId?: string; tokenId?: string };

/**
 * Checks a token against its user's state (`users`: the stream read now, readUserFrom, or
 * remembered for a short time, AuthenticatedUsers) at `now` (its expiry). Never throws for a bad
 * token: see `reason`.
 */
export async function verifyPat(users: UserLookup, token: string, now: Date): Promise<PatVerification> {
  const parsed = parsePat(token);
  if (!parsed) return { ok: false, reason: 'malformed' };
  const { userId, tokenId } = parsed;
  const { state, instanceId } = await users(userId);
  if (!state.exists) return { ok: false, reason: 'unknown-user', userId, tokenId };
  const stored = state.pats[tokenId];
  if (!stored) return { ok: false, reason: 'unknown-token', userId, tokenId };
  if (!sameHash(stored.hash, hashPat(token))) return { ok: false, reason: 'wrong-secret', userId, tokenId };
  if (stored.expiresAt !== undefined && !(now.getTime() < Date.parse(stored.expiresAt))) {
    return { ok: false, reason: 'expired', userId, tokenId };
  }
  return { ok: true, userId, tokenId, state, ...(instanceId !== undefined ? { instanceId } : {}) };
}

function sameHash(storedHex: string, computedHex: string): boolean {
  const stored = Buffer.from(storedHex, 'hex');
  const computed = Buffer.from(computedHex, 'hex');
  return stored.length === computed.length && timingSafeEqual(stored, computed);
}
