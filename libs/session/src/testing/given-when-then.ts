import { expect } from '@jest/globals';
import type { DomainError } from '../../../errors/src/index.js';
import { CodeCipher } from '../../../crypto/src/code-cipher.js';
import { ORG, USER } from '../../../user/src/testing/given-when-then.js';
import type { SessionEvent } from '../events.js';
import { evolveSession, initialSessionState, type SessionState } from '../session-state.js';

/**
 * Given/When/Then for the session's decide functions: session events in, an event (or events,
 * or a decision) or an error out.
 *   givenSession(events).when((state) => decide(state, ...)).then(expected) / .thenFails(kind, id)
 */
export function givenSession(...events: (SessionEvent & { metadata?: { editor?: string; resourceOwner?: string } })[]) {
  const state = events.reduce<SessionState>(
    (s, e) => evolveSession(s, e, s.version + 1, new Date(Date.UTC(2026, 0, 1, 0, 0, s.version)), e.metadata),
    initialSessionState(),
  );
  return {
    state,
    when<T>(decide: (state: SessionState) => T) {
      return outcome(() => decide(state));
    },
  };
}

/** Runs `fn` and compares its result or its DomainError. */
export function outcome<T>(fn: () => T) {
  let result: { value: T } | { error: unknown };
  try {
    result = { value: fn() };
  } catch (error) {
    result = { error };
  }
  return {
    then(expected: unknown): T {
      if ('error' in result) throw result.error;
      expect(result.value).toEqual(expected);
      return result.value;
    },
    thenFails(kind: DomainError['kind'], id: string) {
      if (!('error' in result)) throw new Error(`expected ${kind} ${id}, got ${JSON.stringify(result.value)}`);
      expect(result.error).toMatchObject({ name: 'DomainError', kind, id });
    },
  };
}

export const SESSION = '300000000000000001';
export const CREATOR = '900000000000000001';
export const cipher = new CodeCipher(Buffer.alloc(32, 7));

export const sessionAdded = (creator = CREATOR, resourceOwner = ORG): SessionEvent & { metadata: { editor: string; resourceOwner: string } } => ({
  type: 'session.added',
  data: {},
  metadata: { editor: creator, resourceOwner },
});
export const userChecked = (userId = USER, orgId = ORG): SessionEvent => ({
  type: 'session.user.checked',
  data: { userId, orgId, loginName: 'ada', checkedAt: '2026-01-01T00:00:00.000Z' },
});
export const otpEmailChallenged = (code = '12345678', expiresAt = '2026-01-01T00:05:00.000Z', returnCode = false): SessionEvent => ({
  type: 'session.otp.email.challenged',
  data: { userId: USER, code: cipher.encrypt(code), expiresAt, returnCode },
});
export const otpEmailChecked = (checkedAt = '2026-01-01T00:01:00.000Z'): SessionEvent => ({
  type: 'session.otp.email.checked',
  data: { checkedAt },
});
export const tokenSet = (hash: string, tokenId = 't1'): SessionEvent => ({ type: 'session.token.set', data: { tokenId, hash } });
export const terminated = (): SessionEvent => ({ type: 'session.terminated', data: {} });
