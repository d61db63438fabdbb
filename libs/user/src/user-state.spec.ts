import { describe, expect, it } from '@jest/globals';
import { emailChanged, emailVerified, given, humanAdded, otpEmailAdded } from '#user/testing';
import type { UserEvent } from './events.js';
import { evolveUser, foldUser } from './user-state.js';

const codeAdded: UserEvent = {
  type: 'user.email.code.added',
  data: { code: { keyId: 'k1', crypted: 'c2VhbGVk' }, expiresAt: '2026-12-02T10:00:00.000Z', sendEmail: true },
};

describe('evolveUser', () => {
  it('Given a state, When an event is folded into it, Then the state given is as it was', () => {
    const { state } = given(humanAdded(), codeAdded);
    const before = structuredClone(state);
    for (const event of [emailVerified(), emailChanged('new@example.com'), otpEmailAdded(), { type: 'user.removed', data: {} } as UserEvent]) {
      evolveUser(state, event);
      expect(state).toEqual(before);
    }
  });

  it('Given a pending code, When the address is verified or changed, Then the code is gone', () => {
    expect(given(humanAdded(), codeAdded).state.emailCode).toMatchObject({ sequence: 2, sendEmail: true });
    expect(given(humanAdded(), codeAdded, emailVerified()).state.emailCode).toBeUndefined();
    expect(given(humanAdded(), codeAdded, emailChanged('new@example.com')).state.emailCode).toBeUndefined();
  });

  it('Given a human user, When the user is removed, Then nothing personal is left in the state', () => {
    const { state } = given(humanAdded(), codeAdded, emailVerified(), otpEmailAdded(), { type: 'user.removed', data: {} });
    for (const key of ['username', 'profile', 'email', 'verifiedEmail', 'emailCode', 'kind'] as const) expect(state[key]).toBeUndefined();
    expect(state).toMatchObject({ exists: false, removed: true, version: 5, emailEverVerified: false, otpEmailAdded: false });
  });

  it('Given a recorded stream, When it is folded, Then the state has the last event’s sequence and time', () => {
    const at = new Date('2026-12-02T09:00:00.000Z');
    const recorded = [humanAdded(), emailVerified()].map((e, i) => ({ ...e, id: `e${i}`, stream: 'user-1', sequence: i + 1, position: `p${i}`, createdAt: at, metadata: {} }));
    const state = foldUser(recorded);
    expect(state).toMatchObject({ version: 2, changedAt: at, emailVerified: true, verifiedEmail: 'ada@example.com' });
  });
});
