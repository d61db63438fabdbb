import { constantTimeEqual, type EncryptedValue } from '#crypto';
import { failedPrecondition, invalidArgument, type DomainError } from '#errors';
import type { NewEvent } from '#eventstore';
import { eventMetadata, type CommandContext } from '#kernel';
import type { Decision } from '#kernel';
import { UserEventType, type UserEvent } from '#user';
import type { UserState } from '#user';
import { SessionEventType, type SessionOtpEmailChecked } from '../events.js';
import type { OtpEmailChallenge, SessionState } from '../session-state.js';

export interface OtpEmailCheckInput extends CommandContext {
  sessionId: string;
  /** The session's current challenge, as loaded with the session. */
  challenge: OtpEmailChallenge | undefined;
  code: string;
  now: Date;
  /** LOCKOUT_MAX_OTP_ATTEMPTS; 0 = lockout off. */
  maxAttempts: number;
  decrypt: (value: EncryptedValue) => string;
}

/** The session must have a user before its OTP can be checked (ZITADEL's checkOTP, step 1). */
export function assertCheckHasUser(session: SessionState): string {
  if (!session.user) throw invalidArgument('COMMAND-S453v', 'Errors.User.UserIDMissing');
  return session.user.id;
}

/**
 * `checks.otpEmail.code`, the user-stream half, decided on the user's LATEST state (so the
 * failure count is exact under concurrency), in this order:
 * 1. empty code → InvalidArgument `COMMAND-SJl2g` (proto validation usually catches it first);
 * 2. user locked → FailedPrecondition `COMMAND-S6h4R`, checked FIRST and writing nothing, so a
 *    locked user cannot keep guessing (ZITADEL checks it after the comparison);
 * 3. factor removed → FailedPrecondition `COMMAND-d2r52`;
 * 4. no challenge on the session → FailedPrecondition `COMMAND-S34gh`;
 * 5. expired (now ≥ expiresAt) → FailedPrecondition `CODE-QvUQ4P`;
 * 6. not equal (constant time) → InvalidArgument `CODE-woT0xc`.
 * Steps 1-4 write nothing. 5 and 6 are failed checks, as in ZITADEL (its verify returns both):
 * `user.otp.email.check.failed`, plus `user.locked` when lockout is on and this failure reaches
 * `maxAttempts`; these ARE written, and the error is the decision's result for the caller to
 * throw afterwards. Success writes `user.otp.email.check.succeeded`, which resets the count.
 */
export function decideOtpEmailCheckOnUser(user: UserState, input: OtpEmailCheckInput): Decision<DomainError | undefined, UserEvent> {
  if (!input.code) throw invalidArgument('COMMAND-SJl2g', 'Errors.User.Code.Empty');
  if (user.locked) throw failedPrecondition('COMMAND-S6h4R', 'Errors.User.Locked');
  if (!user.otpEmailAdded) throw failedPrecondition('COMMAND-d2r52', 'Errors.User.MFA.OTP.NotReady');
  const challenge = input.challenge;
  if (!challenge) throw failedPrecondition('COMMAND-S34gh', 'Errors.User.Code.NotFound');
  const metadata = eventMetadata(input, user.orgId!);
  let error: DomainError | undefined;
  if (input.now.getTime() >= Date.parse(challenge.expiresAt)) error = failedPrecondition('CODE-QvUQ4P', 'Errors.User.Code.Expired');
  else if (!constantTimeEqual(input.decrypt(challenge.code), input.code)) error = invalidArgument('CODE-woT0xc', 'Errors.User.Code.Invalid');
  if (!error) {
    return { events: [{ type: UserEventType.OtpEmailCheckSucceeded, data: { sessionId: input.sessionId }, metadata }], result: undefined };
  }
  const events: NewEvent<UserEvent>[] = [{ type: UserEventType.OtpEmailCheckFailed, data: { sessionId: input.sessionId }, metadata }];
  if (input.maxAttempts > 0 && user.otpEmailFailedChecks + 1 >= input.maxAttempts) {
    events.push({ type: UserEventType.Locked, data: { reason: 'otp.email.max.attempts' }, metadata });
  }
  return { events, result: error };
}

/** The session half, after the user stream recorded the success: the factor is verified, the challenge used up. */
export function decideOtpEmailChecked(session: SessionState, input: { now: Date }): SessionOtpEmailChecked {
  assertCheckHasUser(session);
  return { type: SessionEventType.OtpEmailChecked, data: { checkedAt: input.now.toISOString() } };
}
