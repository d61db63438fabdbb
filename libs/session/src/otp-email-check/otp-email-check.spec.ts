import { describe, expect, it } from '@jest/globals';
import type { UserEvent } from '#user';
import { caller, emailVerified, given, humanAdded, otpEmailAdded, otpEmailRemoved } from '#user/testing';
import type { OtpEmailChallenge } from '../session-state.js';
import { cipher, givenSession, otpEmailChallenged, otpEmailChecked, SESSION, sessionAdded, userChecked } from '#session/testing';
import { decideOtpEmailChecked, decideOtpEmailCheckOnUser } from './otp-email-check.js';

const now = new Date('2026-01-01T00:01:00.000Z');
const who = caller({ roles: [{ role: 'IAM_LOGIN_CLIENT' }] });
const challenge = givenSession(sessionAdded(), userChecked(), otpEmailChallenged('12345678', '2026-01-01T00:05:00.000Z')).state.otpEmailChallenge;
const failed: UserEvent = { type: 'user.otp.email.check.failed', data: { sessionId: SESSION } };
const succeeded: UserEvent = { type: 'user.otp.email.check.succeeded', data: { sessionId: SESSION } };
const locked: UserEvent = { type: 'user.locked', data: { reason: 'otp.email.max.attempts' } };
const unlocked: UserEvent = { type: 'user.unlocked', data: {} };
const ready = [humanAdded(), emailVerified(), otpEmailAdded()];

/** The decision as events, the error it carries (to be thrown after the append) thrown here. */
const check = (code: string, options: { challenge?: OtpEmailChallenge | undefined; at?: Date; maxAttempts?: number } = {}) =>
  (state: Parameters<typeof decideOtpEmailCheckOnUser>[0]) => {
    const decision = decideOtpEmailCheckOnUser(state, {
      caller: who,
      sessionId: SESSION,
      challenge: 'challenge' in options ? options.challenge : challenge,
      code,
      now: options.at ?? now,
      maxAttempts: options.maxAttempts ?? 5,
      decrypt: (value) => cipher.decrypt(value),
    });
    return decision.events;
  };
const decisionOf = (events: UserEvent[], code: string, maxAttempts = 5) =>
  decideOtpEmailCheckOnUser(given(...events).state, { caller: who, sessionId: SESSION, challenge, code, now, maxAttempts, decrypt: (v) => cipher.decrypt(v) });

describe('decideOtpEmailCheckOnUser', () => {
  it('records a success for the right code', () => {
    given(...ready).when(check('12345678')).then([succeeded]);
    expect(decisionOf(ready, '12345678').result).toBeUndefined();
  });

  it('records a failure for a wrong code and hands back InvalidArgument CODE-woT0xc', () => {
    given(...ready).when(check('87654321')).then([failed]);
    expect(decisionOf(ready, '87654321').result).toMatchObject({ kind: 'InvalidArgument', id: 'CODE-woT0xc' });
    expect(decisionOf(ready, '1234567').result).toMatchObject({ kind: 'InvalidArgument', id: 'CODE-woT0xc' });
  });

  it('records an expired code as a failure too (FailedPrecondition CODE-QvUQ4P), even the right one', () => {
    const late = new Date('2026-01-01T00:05:00.000Z');
    given(...ready).when(check('12345678', { at: late })).then([failed]);
    const decision = decideOtpEmailCheckOnUser(given(...ready).state, {
      caller: who, sessionId: SESSION, challenge, code: '12345678', now: late, maxAttempts: 5, decrypt: (v) => cipher.decrypt(v),
    });
    expect(decision.result).toMatchObject({ kind: 'FailedPrecondition', id: 'CODE-QvUQ4P' });
  });

  it('locks the user with the failure that reaches the maximum', () => {
    given(...ready, failed, failed, failed).when(check('0')).then([failed]);
    given(...ready, failed, failed, failed, failed).when(check('0')).then([failed, locked]);
    given(...ready).when(check('0', { maxAttempts: 1 })).then([failed, locked]);
  });

  it('never locks with lockout off (0)', () => {
    given(...ready, ...Array.from({ length: 20 }, () => failed)).when(check('0', { maxAttempts: 0 })).then([failed]);
  });

  it('starts counting again after a success or an unlock', () => {
    given(...ready, failed, failed, failed, failed, succeeded).when(check('0')).then([failed]);
    given(...ready, failed, failed, failed, failed, locked, unlocked).when(check('0')).then([failed]);
  });

  it('refuses a locked user FIRST, writing nothing, even for the right code', () => {
    given(...ready, locked).when(check('12345678')).thenFails('FailedPrecondition', 'COMMAND-S6h4R');
    given(...ready, otpEmailRemoved(), locked).when(check('12345678', { challenge: undefined })).thenFails('FailedPrecondition', 'COMMAND-S6h4R');
  });

  it('then needs the factor (COMMAND-d2r52), then a challenge (COMMAND-S34gh), writing nothing', () => {
    given(...ready, otpEmailRemoved()).when(check('12345678')).thenFails('FailedPrecondition', 'COMMAND-d2r52');
    given(...ready, otpEmailRemoved()).when(check('12345678', { challenge: undefined })).thenFails('FailedPrecondition', 'COMMAND-d2r52');
    given(...ready).when(check('12345678', { challenge: undefined })).thenFails('FailedPrecondition', 'COMMAND-S34gh');
  });

  it('refuses an empty code before anything (COMMAND-SJl2g)', () => {
    given(...ready, locked).when(check('')).thenFails('InvalidArgument', 'COMMAND-SJl2g');
  });
});

describe('decideOtpEmailChecked (the session half)', () => {
  it('verifies the factor and uses the challenge up', () => {
    givenSession(sessionAdded(), userChecked(), otpEmailChallenged())
      .when((session) => decideOtpEmailChecked(session, { now }))
      .then({ type: 'session.otp.email.checked', data: { checkedAt: now.toISOString() } });
    const { state } = givenSession(sessionAdded(), userChecked(), otpEmailChallenged(), otpEmailChecked(now.toISOString()));
    expect(state.otpEmailChallenge).toBeUndefined();
    expect(state.otpEmailCheckedAt).toBe(now.toISOString());
  });

  it('needs a user (COMMAND-S453v)', () => {
    givenSession(sessionAdded()).when((session) => decideOtpEmailChecked(session, { now })).thenFails('InvalidArgument', 'COMMAND-S453v');
  });
});
