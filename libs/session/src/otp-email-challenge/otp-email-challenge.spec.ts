import { describe, expect, it } from '@jest/globals';
import type { UserEvent } from '#user';
import { caller, emailVerified, given, humanAdded, ORG, otpEmailAdded, otpEmailRemoved, USER } from '#user/testing';
import { cipher, givenSession, otpEmailChallenged, SESSION, sessionAdded, userChecked } from '#session/testing';
import { decideOtpEmailChallenge, decideOtpEmailChallengeOnUser, type OtpEmailDelivery } from './otp-email-challenge.js';

const now = new Date('2026-01-01T10:00:00.000Z');
const minutes = (n: number) => n * 60_000;
const sent = (at: Date, sessionId = SESSION): UserEvent => ({ type: 'user.otp.email.challenge.sent', data: { sessionId, at: at.toISOString() } });
const ago = (ms: number) => new Date(now.getTime() - ms);
const who = caller({ roles: [{ role: 'IAM_LOGIN_CLIENT' }] });

const onUser = (delivery: OtpEmailDelivery = { kind: 'send' }, at = now) => (state: Parameters<typeof decideOtpEmailChallengeOnUser>[0]) =>
  decideOtpEmailChallengeOnUser(state, { caller: who, correlationId: 'c1', sessionId: SESSION, delivery, now: at, maxSends: 5, windowMs: minutes(10) });
const counted = [{ type: 'user.otp.email.challenge.sent', data: { sessionId: SESSION, at: now.toISOString() } }];

describe('decideOtpEmailChallengeOnUser (the send limit)', () => {
  it('counts a challenge that sends email, with the deciding clock’s time', () => {
    const [event] = given(humanAdded(), emailVerified(), otpEmailAdded()).when(onUser()).then(counted);
    expect(event!.metadata).toMatchObject({ resourceOwner: ORG, editor: who.userId, correlationId: 'c1' });
    given(humanAdded(), emailVerified(), otpEmailAdded()).when(onUser({ kind: 'send', urlTemplate: 'https://a/{{.Code}}' })).then(counted);
  });

  it('neither counts nor writes a returnCode challenge, even beyond the limit', () => {
    const five = [1, 2, 3, 4, 5].map((n) => sent(ago(minutes(n))));
    given(humanAdded(), emailVerified(), otpEmailAdded(), ...five).when(onUser({ kind: 'return' })).then([]);
  });

  it('refuses the sixth email within the window, across sessions, with ResourceExhausted', () => {
    const five = [sent(ago(minutes(9)), 's-a'), sent(ago(minutes(5)), 's-b'), sent(ago(minutes(3)), 's-a'), sent(ago(minutes(1)), 's-b'), sent(now, 's-a')];
    given(humanAdded(), emailVerified(), otpEmailAdded(), ...five).when(onUser()).thenFails('ResourceExhausted', 'SESSION-OtpLim');
  });

  it('allows it again once the oldest send left the window', () => {
    const five = [sent(ago(minutes(10))), sent(ago(minutes(5))), sent(ago(minutes(3))), sent(ago(minutes(1))), sent(now)];
    given(humanAdded(), emailVerified(), otpEmailAdded(), ...five).when(onUser()).then(counted);
  });

  it('needs the factor (COMMAND-JKLJ3) before anything else', () => {
    given(humanAdded(), emailVerified()).when(onUser()).thenFails('FailedPrecondition', 'COMMAND-JKLJ3');
    given(humanAdded(), emailVerified(), otpEmailAdded(), otpEmailRemoved()).when(onUser({ kind: 'return' })).thenFails('FailedPrecondition', 'COMMAND-JKLJ3');
    given().when(onUser()).thenFails('FailedPrecondition', 'COMMAND-JKLJ3');
  });
});

describe('decideOtpEmailChallenge (the session half)', () => {
  const code = cipher.encrypt('12345678');
  const challenge = (delivery: OtpEmailDelivery) => (session: Parameters<typeof decideOtpEmailChallenge>[0]) =>
    decideOtpEmailChallenge(session, { code, delivery, now, ttlMs: minutes(5) });

  it('records the encrypted code, its expiry, the delivery and the template', () => {
    givenSession(sessionAdded(), userChecked())
      .when(challenge({ kind: 'send', urlTemplate: 'https://a/?c={{.Code}}' }))
      .then({
        type: 'session.otp.email.challenged',
        data: { userId: USER, code, expiresAt: '2026-01-01T10:05:00.000Z', returnCode: false, urlTemplate: 'https://a/?c={{.Code}}' },
      });
    givenSession(sessionAdded(), userChecked())
      .when(challenge({ kind: 'return' }))
      .then({ type: 'session.otp.email.challenged', data: { userId: USER, code, expiresAt: '2026-01-01T10:05:00.000Z', returnCode: true } });
  });

  it('replaces an earlier challenge', () => {
    const { state } = givenSession(sessionAdded(), userChecked(), otpEmailChallenged('11111111'), otpEmailChallenged('22222222'));
    expect(cipher.decrypt(state.otpEmailChallenge!.code)).toBe('22222222');
    expect(state.otpEmailChallenge!.sequence).toBe(4);
  });

  it('needs a user on the session (COMMAND-JK3gp)', () => {
    givenSession(sessionAdded()).when(challenge({ kind: 'send' })).thenFails('FailedPrecondition', 'COMMAND-JK3gp');
  });
});
