import type { EventStore } from '#eventstore';
import { decideOnStream, readStreamOf, type EventMetadata } from '#kernel';
import { SessionEventType, sessionStream, type SessionEvent } from './events.js';
import { foldSession } from './session-state.js';

/**
 * For the notifier: records that the email of the challenge at `challengeSequence` went out
 * (`session.otp.email.sent`). Idempotent: a second call for the same challenge writes nothing,
 * so a notifier that crashed after sending but before recording may simply record again.
 * Returns whether it wrote.
 */
export async function recordOtpEmailSent(
  store: EventStore,
  sessionId: string,
  challengeSequence: number,
  metadata: EventMetadata,
): Promise<boolean> {
  const { appended } = await decideOnStream(store, sessionStream(sessionId), foldSession, (session) => ({
    events:
      !session.exists || session.otpEmailSent.includes(challengeSequence)
        ? []
        : [{ type: SessionEventType.OtpEmailSent, data: { challengeSequence }, metadata }],
    result: undefined,
  }));
  return appended.length > 0;
}

/** Whether the challenge's email was already recorded as sent (the notifier's "already handled" check). */
export async function otpEmailAlreadySent(store: EventStore, sessionId: string, challengeSequence: number): Promise<boolean> {
  return foldSession(await readStreamOf<SessionEvent>(store, sessionStream(sessionId))).otpEmailSent.includes(challengeSequence);
}
