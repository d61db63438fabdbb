import { randomBytes, randomUUID } from 'node:crypto';
import { Writable } from 'node:stream';
import { Registry } from 'prom-client';
import { CodeCipher } from '../../../crypto/src/code-cipher.js';
import { migrate, openInMemoryDatabase, openServerDatabase, type SqlDatabase } from '../../../database/src/index.js';
import { createScratchDatabase, NO_SERVER_REASON, serverDatabaseUrl } from '../../../database/src/testing/scratch-database.js';
import {
  EVENT_STORE_HISTORY,
  eventStoreMigrations,
  PostgresEventStore,
  type AppendedEvent,
  type EventStore,
  type JsonObject,
} from '../../../eventstore/src/index.js';
import { createLogger, type Logger } from '../../../logging/src/pino-logger.js';
import { SessionEventType, sessionStream } from '../../../session/src/events.js';
import { decideOtpEmailChallenge } from '../../../session/src/otp-email-challenge/otp-email-challenge.js';
import { foldSession } from '../../../session/src/session-state.js';
import { UserEventType, userStream } from '../../../user/src/events.js';
import { verificationEvents } from '../../../user/src/set-email/set-email.js';
import { foldUser } from '../../../user/src/user-state.js';
import { NOTIFIER_HISTORY, notifierMigrations } from '../schema.js';

export interface TestStores {
  database: SqlDatabase;
  store: PostgresEventStore;
  cleanup(): Promise<void>;
}

export interface Backend {
  label: string;
  available: boolean;
  reason: string;
  open(): Promise<TestStores>;
}

/** Events and the checkpoint in one database, as the server runs them: PGlite in memory, and server PostgreSQL when DATABASE_URL is set. */
export const backends: Backend[] = [
  {
    label: 'embedded PGlite',
    available: true,
    reason: '',
    async open() {
      const database = await openInMemoryDatabase();
      return migrated(database, async () => undefined);
    },
  },
  {
    label: 'server PostgreSQL',
    available: Boolean(serverDatabaseUrl),
    reason: NO_SERVER_REASON,
    async open() {
      const scratch = await createScratchDatabase('notifier');
      const database = openServerDatabase({ connectionString: scratch.url, maxConnections: 6 });
      return migrated(database, () => scratch.drop());
    },
  },
];

async function migrated(database: SqlDatabase, drop: () => Promise<void>): Promise<TestStores> {
  await migrate(database.db, EVENT_STORE_HISTORY, eventStoreMigrations);
  await migrate(database.db, NOTIFIER_HISTORY, notifierMigrations);
  const store = new PostgresEventStore(database);
  return {
    database,
    store,
    async cleanup() {
      await store.close();
      await database.close();
      await drop();
    },
  };
}

/** A pino logger whose raw output the test can read (every line, as written). */
export function capturingLogger(): { logger: Logger; raw: string[]; lines: () => Array<Record<string, any>> } {
  const raw: string[] = [];
  const destination = new Writable({
    write(chunk, _encoding, done) {
      for (const line of String(chunk).split('\n')) if (line) raw.push(line);
      done();
    },
  });
  return { logger: createLogger('debug', destination), raw, lines: () => raw.map((line) => JSON.parse(line)) };
}

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
 * (emailing challenges only), then `session.otp.email.challenged` with the encrypted code, built
 * by the session lib's own decision (decideOtpEmailChallenge).
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

/** Polls until the check passes (rejects with its last error after timeoutMs). */
export async function eventually<T>(check: () => T | Promise<T>, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await check();
    } catch (err) {
      if (Date.now() > deadline) throw err;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }
}
