import { CodeCipher } from '#crypto';
import { givenState } from '#test-kit';
import { ORG, USER } from '#user/testing';
import type { SessionEvent } from '#session';
import { evolveSession, initialSessionState, type SessionState } from '#session';

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
  return givenState(state);
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
