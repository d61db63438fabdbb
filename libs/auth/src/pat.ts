import { timingSafeEqual } from 'node:crypto';
import type { EventStore } from '#eventstore';
import { readStreamOf } from '#kernel';
import { userStream, type UserEvent } from '#user';
import { foldUser, type UserState } from '#user';
import { hashPat, parsePat } from '#org';

/** Verification of personal access tokens; their format is in libs/org/src/pat-format.ts. */

export type PatRejection = 'malformed' | 'unknown-user' | 'unknown-token' | 'wrong-secret' | 'expired';

export type PatVerification =
  | { ok: true; userId: string; tokenId: string; state: UserState; /** From the user's first event's metadata. */ instanceId?: string }
  | { ok: false; reason: PatRejection; userId?: string; tokenId?: string };

/** Checks a token against its user's stream at `now` (its expiry). Never throws for a bad token: see `reason`. */
export async function verifyPat(store: EventStore, token: string, now: Date): Promise<PatVerification> {
  const parsed = parsePat(token);
  if (!parsed) return { ok: false, reason: 'malformed' };
  const { userId, tokenId } = parsed;
  const events = await readStreamOf<UserEvent>(store, userStream(userId));
  const state = foldUser(events);
  if (!state.exists) return { ok: false, reason: 'unknown-user', userId, tokenId };
  const stored = state.pats[tokenId];
  if (!stored) return { ok: false, reason: 'unknown-token', userId, tokenId };
  if (!sameHash(stored.hash, hashPat(token))) return { ok: false, reason: 'wrong-secret', userId, tokenId };
  if (stored.expiresAt !== undefined && !(now.getTime() < Date.parse(stored.expiresAt))) {
    return { ok: false, reason: 'expired', userId, tokenId };
  }
  const instanceId = events[0]?.metadata.instanceId;
  return { ok: true, userId, tokenId, state, ...(typeof instanceId === 'string' ? { instanceId } : {}) };
}

function sameHash(storedHex: string, computedHex: string): boolean {
  const stored = Buffer.from(storedHex, 'hex');
  const computed = Buffer.from(computedHex, 'hex');
  return stored.length === computed.length && timingSafeEqual(stored, computed);
}
