import { describe, expect, it } from '@jest/globals';
import { otpEmailChallenged, otpEmailChecked, sessionAdded, terminated, tokenSet, userChecked } from '#session/testing';
import type { SessionEvent } from './events.js';
import { evolveSession, initialSessionState, type SessionState } from './session-state.js';

const fold = (...events: (SessionEvent & { metadata?: { editor?: string; resourceOwner?: string } })[]): SessionState =>
  events.reduce<SessionState>((s, e) => evolveSession(s, e, s.version + 1, undefined, e.metadata), initialSessionState());

describe('evolveSession', () => {
  it('Given a state, When an event is folded into it, Then the state given is as it was', () => {
    const state = fold(sessionAdded(), userChecked(), otpEmailChallenged());
    const before = structuredClone(state);
    for (const event of [otpEmailChecked(), tokenSet('h'), terminated()]) {
      evolveSession(state, event);
      expect(state).toEqual(before);
    }
  });

  it('Given a challenge, When the code is checked, Then the challenge is used up and the check’s time kept', () => {
    const challenged = fold(sessionAdded(), userChecked(), otpEmailChallenged());
    expect(challenged.otpEmailChallenge).toMatchObject({ sequence: 3 });
    const checked = evolveSession(challenged, otpEmailChecked('2026-01-01T00:02:00.000Z'));
    expect(checked.otpEmailChallenge).toBeUndefined();
    expect(checked).toMatchObject({ otpEmailCheckedAt: '2026-01-01T00:02:00.000Z', version: 4 });
  });

  it('Given session.added with its metadata, When folded, Then the creator and the resource owner come from it; a checked user’s organization owns the session', () => {
    const added = fold(sessionAdded('900000000000000009', '100000000000000009'));
    expect(added).toMatchObject({ exists: true, creator: '900000000000000009', resourceOwner: '100000000000000009' });
    expect(evolveSession(added, userChecked('200000000000000001', '100000000000000001')).resourceOwner).toBe('100000000000000001');
  });
});
