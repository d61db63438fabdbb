import { randomBytes, randomUUID } from 'node:crypto';
import { Registry } from 'prom-client';
import { CodeCipher } from '#crypto';
import type { AppendedEvent, EventStore, JsonObject } from '#eventstore';
import { SessionEventType, sessionStream } from '#session';
import { decideOtpEmailChallenge } from '#session';
import { foldSession } from '#session';
import { UserEventType, userStream } from '#user';
import { verificationEvents } from '#user';
import { foldUser } from '#user';
import { notificationSchemas } from '#notification';
import { testBackends, type Backend } from '#eventstore/testing';

export { capturingLogger } from '#logging/testing';
export { checkpointPassed, eventually } from '#test-kit';
export type { Backend, TestStores } from '#eventstore/testing';

/** Events and the checkpoint in one database, as the server runs them. */
export const backends: Backend[] = testBackends('notifier').map((backend) => ({ ...backend, open: () => backend.open(notificationSchemas) }));

export const newCipher = () => new CodeCipher(randomBytes(32));
export const freshRegistry = () => new Registry();

/** An 8-digit code, as the session flow generates them. */
export const newCode = () => String(Math.floor(10_000_000 + Math.random() * 89_999_999));

const metadataFor = (orgId: string, correlationId = randomUUID()): JsonObject => ({
  instanceId: 'instance-1',
  resourceOwner: orgId,
  editor: 'user-admin',
  correlationId,
});

async function appendOne(store: EventStore, stream: string, type: string, data: object, orgId: string): Promise<AppendedEvent> {
  const { events } = await store.append(stream, [{ type, data: data as JsonObject, metadata: metadataFor(orgId) }], 'any');
  return events[0]!;
}

export interface SeededUser {
  userId: string;
  orgId: string;
  username: string;
  email: string;
}

/** A human user with a verified address (unless `verified: false`) and the OTP Email factor (AddHumanUser, VerifyEmail, AddOTPEmail). */
export async function seedUser(
  store: EventStore,
  options: { username?: string; email?: string; displayName?: string; preferredLanguage?: string; verified?: boolean; otp?: boolean } = {},
): Promise<SeededUser> {
  const userId = `u${randomBytes(6).toString('hex')}`;
  const orgId = 'org-1';
  const username = options.username ?? `ada.${userId}`;
  const email = options.email ?? `${userId}@verified.example`;
  const stream = userStream(userId);
  await appendOne(
    store,
    stream,
    UserEventType.HumanAdded,
    {
      username,
      orgId,
      email,
      profile: {
        givenName: 'Ada',
        familyName: 'Lovelace',
        displayName: options.displayName ?? 'Ada Lovelace',
        ...(options.preferredLanguage ? { preferredLanguage: options.preferredLanguage } : {}),
      },
    },
    orgId,
  );
  if (options.verified ?? true) await appendOne(store, stream, UserEventType.EmailVerified, { email }, orgId);
  if (options.otp ?? true) await appendOne(store, stream, UserEventType.OtpEmailAdded, {}, orgId);
  return { userId, orgId, username, email };
}

/** SetEmail to a new address that stays unverified (no code yet). */
export async function changeEmail(store: EventStore, user: SeededUser, email: string): Promise<void> {
  await appendOne(store, userStream(user.userId), UserEventType.EmailChanged, { email }, user.orgId);
}

/**
 * A `user.email.code.added` for the current address, the code encrypted with the cipher, built
 * by the user lib's own decision (SetEmail's verificationEvents).
 */
export async function addEmailCode(
  store: EventStore,
  cipher: CodeCipher,
  user: SeededUser,
  code: string,
  options: { expiresAt?: Date; sendEmail?: boolean; urlTemplate?: string } = {},
): Promise<AppendedEvent> {
  const state = foldUser(await store.readStream(userStream(user.userId)));
  const ttlMs = 60 * 60_000;
  const now = new Date((options.expiresAt?.getTime() ?? Date.now() + ttlMs) - ttlMs);
  const verification =
    options.sendEmail === false ? ({ kind: 'return' } as const) : ({ kind: 'send', ...(options.urlTemplate ? { urlTemplate: options.urlTemplate } : {}) } as const);
  const [event] = verificationEvents(state.email!, verification, { plain: code, encrypted: cipher.encrypt(code) }, now, metadataFor(user.orgId));
  const { events } = await store.append(userStream(user.userId), [event!], state.version);
  return events[0]!;
}

/** CreateSession with a user check. */
export async function seedSession(store: EventStore, user: SeededUser): Promise<string> {
  const sessionId = `s${randomBytes(6).toString('hex')}`;
  await appendOne(store, sessionStream(sessionId), SessionEventType.Added, { userAgent: 'jest' }, user.orgId);
  await appendOne(
    store,
    sessionStream(sessionId),
    SessionEventType.UserChecked,
    { userId: user.userId, orgId: user.orgId, loginName: user.username, checkedAt: new Date().toISOString() },
    user.orgId,
  );
  return sessionId;
}

/**
 * An OTP Email challenge as SetSession writes it: `user.otp.email.challenge.sent` on the user
 * (emailing challenges only) and `session.otp.email.challenged` with the encrypted code, built
 * by the session lib's own decision (decideOtpEmailChallenge). SetSession writes the two in one
 * multi-stream append where the store can; here they are two appends, which the notifier
 * cannot tell apart.
 */
export async function challenge(
  store: EventStore,
  cipher: CodeCipher,
  user: SeededUser,
  sessionId: string,
  code: string,
  options: { expiresAt?: Date; returnCode?: boolean; urlTemplate?: string } = {},
): Promise<AppendedEvent> {
  const returnCode = options.returnCode ?? false;
  if (!returnCode) {
    await appendOne(store, userStream(user.userId), UserEventType.OtpEmailChallengeSent, { sessionId, at: new Date().toISOString() }, user.orgId);
  }
  const session = foldSession(await store.readStream(sessionStream(sessionId)));
  const ttlMs = 5 * 60_000;
  const now = new Date((options.expiresAt?.getTime() ?? Date.now() + ttlMs) - ttlMs);
  const event = decideOtpEmailChallenge(session, {
    code: cipher.encrypt(code),
    delivery: returnCode ? { kind: 'return' } : { kind: 'send', ...(options.urlTemplate ? { urlTemplate: options.urlTemplate } : {}) },
    now,
    ttlMs,
  });
  const { events } = await store.append(
    sessionStream(sessionId),
    [{ type: event.type, data: event.data as unknown as JsonObject, metadata: metadataFor(user.orgId) }],
    session.version,
  );
  return events[0]!;
}
