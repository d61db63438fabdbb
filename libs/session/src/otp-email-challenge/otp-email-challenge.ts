import { failedPrecondition, resourceExhausted } from '#errors';
import type { NewEvent } from '#eventstore';
import { eventMetadata, type CommandContext } from '#kernel';
import { UserEventType, type UserEvent } from '#user';
import type { UserState } from '#user';
import { SessionEventType, type SessionOtpEmailChallenged } from '../events.js';
import { SessionErrorId } from '../errors.js';
import type { SessionState } from '../session-state.js';
import { type EncryptedValue } from '#crypto';

/** How the code reaches the user: by email (optionally with the caller's link template), or back to the caller. */
export type OtpEmailDelivery = { kind: 'send'; urlTemplate?: string } | { kind: 'return' };

/** No user on the session yet (ZITADEL's createOTPEmailChallenge, step 1). */
export function assertSessionHasUser(session: SessionState): string {
  if (!session.user) throw failedPrecondition('COMMAND-JK3gp', 'Errors.User.UserIDMissing');
  return session.user.id;
}

/**
 * The user-stream half of a challenge, decided on the user's latest state (written FIRST, with
 * the user stream's expected revision):
 * 1. the factor must be added (FailedPrecondition `COMMAND-JKLJ3`);
 * 2. a challenge that sends email counts against the send limit: at most `maxSends` per user
 *    in the `windowMs` before `now`, over all of the user's sessions, counted from
 *    `user.otp.email.challenge.sent` events; beyond it ResourceExhausted `SESSION-OtpLim`
 *    and nothing is written (the session's current code stays valid). A returnCode challenge
 *    sends nothing, counts nothing and writes nothing here.
 */
export function decideOtpEmailChallengeOnUser(
  user: UserState,
  input: CommandContext & { sessionId: string; delivery: OtpEmailDelivery; now: Date; maxSends: number; windowMs: number },
): NewEvent<UserEvent>[] {
  if (!user.otpEmailAdded) throw failedPrecondition('COMMAND-JKLJ3', 'Errors.User.MFA.OTP.NotReady');
  if (input.delivery.kind === 'return') return [];
  const since = input.now.getTime() - input.windowMs;
  const recent = user.otpEmailSends.filter((at) => Date.parse(at) > since).length;
  if (recent >= input.maxSends) throw resourceExhausted(SessionErrorId.OtpEmailSendLimit, 'Errors.User.MFA.OTP.SendLimit');
  return [
    {
      type: UserEventType.OtpEmailChallengeSent,
      data: { sessionId: input.sessionId, at: input.now.toISOString() },
      metadata: eventMetadata(input, user.orgId!),
    },
  ];
}

/** The session half: the new challenge replaces any earlier one. */
export function decideOtpEmailChallenge(
  session: SessionState,
  input: { code: EncryptedValue; delivery: OtpEmailDelivery; now: Date; ttlMs: number },
): SessionOtpEmailChallenged {
  const userId = assertSessionHasUser(session);
  return {
    type: SessionEventType.OtpEmailChallenged,
    data: {
      userId,
      code: input.code,
      expiresAt: new Date(input.now.getTime() + input.ttlMs).toISOString(),
      returnCode: input.delivery.kind === 'return',
      ...(input.delivery.kind === 'send' && input.delivery.urlTemplate ? { urlTemplate: input.delivery.urlTemplate } : {}),
    },
  };
}
