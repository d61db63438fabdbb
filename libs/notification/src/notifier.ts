import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Kysely } from 'kysely';
import { CheckpointedConsumer, type Batch } from '#consumer';
import type { CodeCipher } from '#crypto';
import type { EventStore, JsonObject, Position, RecordedEvent } from '#eventstore';
import type { Logger } from '#logging';
import { isDomainError } from '#errors';
import { SessionEventType, sessionIdOfStream, type SessionOtpEmailChallenged } from '#session';
import { recordOtpEmailSent } from '#session';
import { foldSession, sessionExpired } from '#session';
import { decideOnStream, type EventMetadata } from '#kernel';
import { UserEventType, userStream, type EmailCodeAdded } from '#user';
import { foldUser, type UserState } from '#user';
import { emailVerificationLink, LinkTemplateError, otpEmailLink } from './links.js';
import { describeSendError, isPermanentForMessage, type Mailer, type OutgoingEmail } from './mailer.js';
import { notifierMetrics, type NotifierMetrics, type SkipReason } from './metrics.js';
import { NOTIFIER_CHECKPOINTS_TABLE } from './schema.js';
import { renderMessage, type MessageKind } from './templates.js';

export const DEFAULT_NOTIFIER_NAME = 'notifier';

export interface NotifierOptions {
  store: EventStore;
  /** Where the checkpoint lives (SqlDatabase.db), migrated with notifierMigrations. */
  db: Kysely<any>;
  cipher: Pick<CodeCipher, 'decrypt'>;
  mailer: Mailer;
  logger: Logger;
  /** PUBLIC_URL: origin of the default links. */
  publicUrl: string;
  /** The checkpoint's name (one row per name). */
  name?: string;
  batchSize?: number;
  /** How long one wait for new events lasts before the notifier looks again. */
  idleTimeoutMs?: number;
  /** First pause after a failed send (or a failed store/database call); doubles up to maxRetryDelayMs. */
  retryDelayMs?: number;
  maxRetryDelayMs?: number;
  /** How long the lease on the checkpoint lasts without renewal (renewed every leaseMs / 3). */
  leaseMs?: number;
  /** How often a notifier without the lease (another process has it) tries to take it. */
  standbyPollMs?: number;
  /** The clock that decides expiry and the validity shown in the email. */
  now?: () => Date;
  metrics?: NotifierMetrics;
}

export type NotifierState = 'idle' | 'standby' | 'running' | 'stopping' | 'stopped';

export interface NotifierStatus {
  state: NotifierState;
  /** The last handled position this process knows of (undefined before it holds the lease). */
  checkpoint: Position | undefined;
}

type Outcome = 'done' | 'interrupted';
type LogLevel = 'debug' | 'info' | 'warn' | 'error';

type Prepared =
  | { skip: SkipReason; level: LogLevel; message: string }
  | { expired: true }
  | { email: OutgoingEmail };

/** One code to deliver: read again before every attempt, so a retry sees a newer code or a sent-record. */
interface Job {
  kind: MessageKind;
  expiresAt: Date;
  /** What the log lines say about it: ids only, never the code, the address or a token. */
  fields: Record<string, string | number>;
  prepare(): Promise<Prepared>;
  /** Appends the sent-record (idempotent). */
  record(): Promise<void>;
}

/**
 * Sends the emails of one-time codes: `session.otp.email.challenged` (unless `returnCode`) to the
 * user's last verified address, and `user.email.code.added` with `sendEmail` to the new
 * (current, unverified) address. It follows the store on a CheckpointedConsumer from its own
 * checkpoint (notification.notifier_checkpoints), one event after the other:
 *
 * - before every attempt it reads the code's stream again and skips a code whose email is
 *   already recorded as sent (`session.otp.email.sent {challengeSequence}` /
 *   `user.email.code.sent {codeSequence}`), a code a newer one replaced (only the latest code of
 *   a session or an address can be used), or one that was used or whose session ended;
 * - a code that expired before it could be sent is dropped (warn log line,
 *   notification_dropped_expired_total);
 * - a failed send is retried with exponential backoff (retryDelayMs doubling up to
 *   maxRetryDelayMs, never waiting past the code's expiry); an SMTP 5xx to RCPT TO or DATA is
 *   final for that message (error log line, notification_skipped_total{reason="rejected"});
 * - after the SMTP server accepted it (or the outbox file is written) it appends the
 *   sent-record, then moves the checkpoint. Only a crash between the two can send a code twice.
 *
 * Only the process holding the lease on the checkpoint row sends (the consumer's lease). `stop()` aborts
 * waits (for events, between retries), lets a message being handed to SMTP finish and record,
 * and releases the lease.
 */
export class Notifier {
  private readonly store: EventStore;
  private readonly logger: Logger;
  private readonly mailer: Mailer;
  private readonly consumer: CheckpointedConsumer;
  private readonly metrics: NotifierMetrics;
  private readonly now: () => Date;
  private readonly retryDelayMs: number;
  private readonly maxRetryDelayMs: number;

  constructor(private readonly options: NotifierOptions) {
    this.store = options.store;
    this.mailer = options.mailer;
    this.logger = options.logger.child({ component: 'notifier' });
    this.metrics = options.metrics ?? notifierMetrics();
    this.now = options.now ?? (() => new Date());
    this.retryDelayMs = options.retryDelayMs ?? 1_000;
    this.maxRetryDelayMs = options.maxRetryDelayMs ?? 30_000;
    this.consumer = new CheckpointedConsumer({
      store: options.store,
      db: options.db,
      logger: this.logger,
      label: 'notifier',
      table: { table: NOTIFIER_CHECKPOINTS_TABLE },
      checkpointName: options.name ?? DEFAULT_NOTIFIER_NAME,
      handler: (batch) => this.handle(batch),
      batchSize: options.batchSize ?? 100,
      idleTimeoutMs: options.idleTimeoutMs ?? 5_000,
      retryDelayMs: this.retryDelayMs,
      maxRetryDelayMs: this.maxRetryDelayMs,
      lease: { leaseMs: options.leaseMs ?? 30_000, standbyPollMs: options.standbyPollMs ?? 5_000 },
    });
  }

  status(): NotifierStatus {
    const state = this.consumer.state;
    return { state: state === 'failed' ? 'stopped' : state, checkpoint: this.consumer.checkpoint };
  }

  /** Follows the store in the background until stop(). */
  start(): void {
    this.consumer.start();
  }

  /** Ends following: waits for the message in hand (sent and recorded, or its retry abandoned), then releases the lease. */
  async stop(): Promise<void> {
    if (!this.consumer.running) return;
    await this.consumer.stop();
    this.logger.info({ checkpoint: this.consumer.checkpoint }, 'notifier stopped');
  }

  /**
   * Resolves true once the checkpoint is at or after `position` (every event up to there is
   * handled: sent and recorded, skipped or dropped), false after `timeoutMs`.
   */
  waitForCheckpoint(position: Position, timeoutMs: number): Promise<boolean> {
    return this.consumer.waitForCheckpoint(position, timeoutMs);
  }

  /**
   * One event after the other: a code is delivered, then the checkpoint moves past it (its own
   * commit, so a restart does not go over it again); events without a code only move the
   * checkpoint, once at the end of the batch, as a pass (saved a little later: a restart reads
   * them again and finds nothing to do in them). Stopped or without the lease, it ends the batch
   * where it is.
   */
  private async handle(batch: Batch): Promise<void> {
    let unsaved: Position | undefined;
    for (const event of batch.events) {
      const job = this.jobFor(event);
      if (job && (await this.deliver(job, batch)) === 'interrupted') break;
      unsaved = event.position;
      if (job) {
        await batch.commit(event.position);
        unsaved = undefined;
      }
      if (!batch.active()) break;
    }
    if (unsaved !== undefined) await batch.pass(unsaved);
  }

  // ---- one code ----------------------------------------------------------------------------

  private async deliver(job: Job, batch: Batch): Promise<Outcome> {
    const { signal } = batch;
    let delayMs = this.retryDelayMs;
    for (let attempt = 1; ; attempt++) {
      if (!batch.active()) return 'interrupted';
      const prepared = await job.prepare();
      if ('skip' in prepared) {
        this.logger[prepared.level]({ ...job.fields, reason: prepared.skip }, prepared.message);
        this.metrics.skipped.inc({ kind: job.kind, reason: prepared.skip });
        return 'done';
      }
      if ('expired' in prepared) {
        this.logger.warn(
          { ...job.fields, expiresAt: job.expiresAt.toISOString(), attempts: attempt - 1 },
          'notifier: the code expired before its email could be sent; dropped',
        );
        this.metrics.droppedExpired.inc({ kind: job.kind });
        return 'done';
      }
      if (!batch.active()) return 'interrupted';
      try {
        const delivery = await this.mailer.send(prepared.email);
        this.metrics.sent.inc({ kind: job.kind, transport: this.mailer.kind });
        this.logger.info(
          { ...job.fields, transport: this.mailer.kind, messageId: delivery.messageId, ...(delivery.path ? { path: delivery.path } : {}), attempts: attempt },
          delivery.path ? `notifier: email written to ${delivery.path}` : 'notifier: email sent',
        );
      } catch (err) {
        this.metrics.sendFailures.inc({ kind: job.kind });
        const error = describeSendError(err);
        if (isPermanentForMessage(err)) {
          this.logger.error({ ...job.fields, error, attempts: attempt }, 'notifier: the SMTP server refused this message for good; not retried');
          this.metrics.skipped.inc({ kind: job.kind, reason: 'rejected' });
          return 'done';
        }
        // Never sleep past the expiry: the next round drops the code at once.
        const untilExpiry = Math.max(0, job.expiresAt.getTime() - this.now().getTime()) + 1;
        const waitMs = Math.min(delayMs, untilExpiry);
        this.logger.warn({ ...job.fields, error, attempt, retryInMs: waitMs }, 'notifier: sending failed; retrying');
        if (!(await this.pause(waitMs, signal))) return 'interrupted';
        delayMs = Math.min(delayMs * 2, this.maxRetryDelayMs);
        continue;
      }
      await this.record(job, signal);
      return 'done';
    }
  }

  /** Appends the sent-record; retried while the store fails. Stopping gives up after one more try (the code may then be sent again after a restart). */
  private async record(job: Job, signal: AbortSignal): Promise<void> {
    let delayMs = this.retryDelayMs;
    for (;;) {
      try {
        await job.record();
        return;
      } catch (err) {
        if (signal.aborted) {
          this.logger.error({ ...job.fields, err }, 'notifier: could not record the sent email before stopping; it may be sent again after a restart');
          return;
        }
        this.logger.error({ ...job.fields, err, retryInMs: delayMs }, 'notifier: recording the sent email failed; retrying');
        await this.pause(delayMs, signal);
        delayMs = Math.min(delayMs * 2, this.maxRetryDelayMs);
      }
    }
  }

  /** Waits, unless stopped first: false when aborted. */
  private async pause(ms: number, signal: AbortSignal): Promise<boolean> {
    if (signal.aborted) return false;
    try {
      await sleep(ms, undefined, { signal });
      return true;
    } catch {
      return false;
    }
  }

  private expired(expiresAt: Date): boolean {
    return !(this.now().getTime() < expiresAt.getTime());
  }

  // ---- what to send for which event ---------------------------------------------------------

  private jobFor(event: RecordedEvent): Job | undefined {
    if (event.type === SessionEventType.OtpEmailChallenged) {
      const data = event.data as unknown as SessionOtpEmailChallenged['data'];
      return data.returnCode ? undefined : this.otpEmailJob(event, data);
    }
    if (event.type === UserEventType.EmailCodeAdded) {
      const data = event.data as unknown as EmailCodeAdded['data'];
      return data.sendEmail ? this.emailVerificationJob(event, data) : undefined;
    }
    return undefined;
  }

  private skip(skip: SkipReason, level: LogLevel, message: string): Prepared {
    return { skip, level, message };
  }

  private otpEmailJob(event: RecordedEvent, data: SessionOtpEmailChallenged['data']): Job {
    const sessionId = sessionIdOfStream(event.stream) ?? event.stream;
    const challengeSequence = event.sequence;
    const expiresAt = new Date(data.expiresAt);
    return {
      kind: 'otp_email',
      expiresAt,
      fields: { kind: 'otp_email', eventId: event.id, sessionId, userId: data.userId, challengeSequence },
      prepare: async () => {
        const session = foldSession(await this.store.readStream(event.stream));
        if (session.otpEmailSent.includes(challengeSequence)) return this.skip('already_sent', 'debug', 'notifier: already sent');
        if (session.otpEmailChallenge?.sequence !== challengeSequence) {
          return this.skip('superseded', 'info', 'notifier: a newer challenge replaced this one, or it was used; not sent');
        }
        if (session.terminated || sessionExpired(session, this.now())) return this.skip('session_ended', 'info', 'notifier: the session ended; not sent');
        if (Number.isNaN(expiresAt.getTime()) || this.expired(expiresAt)) return { expired: true };
        const user = foldUser(await this.store.readStream(userStream(data.userId)));
        if (user.removed) return this.skip('user_removed', 'info', 'notifier: the user was deleted; not sent');
        if (!user.verifiedEmail) return this.skip('no_recipient', 'warn', 'notifier: the user has no verified email address; not sent');
        const code = this.decrypt(data.code, event);
        if (code === undefined) return this.skip('undecryptable', 'error', 'notifier: the code cannot be decrypted with the configured keys; not sent');
        const displayName = displayNameOf(user);
        const linkData = {
          Code: code,
          UserID: data.userId,
          LoginName: session.user?.loginName ?? user.username ?? '',
          DisplayName: displayName,
          PreferredLanguage: user.profile?.preferredLanguage ?? '',
          SessionID: sessionId,
        };
        const link = this.link(event, () => otpEmailLink(data.urlTemplate, this.options.publicUrl, linkData), () =>
          otpEmailLink(undefined, this.options.publicUrl, linkData),
        );
        const message = renderMessage('otp_email', user.profile?.preferredLanguage, { displayName, code, link, expiresAt, now: this.now() });
        return { email: { to: user.verifiedEmail, subject: message.subject, text: message.text, html: message.html, reference: event.id } };
      },
      record: async () => {
        await recordOtpEmailSent(this.store, sessionId, challengeSequence, sentMetadata(event));
      },
    };
  }

  private emailVerificationJob(event: RecordedEvent, data: EmailCodeAdded['data']): Job {
    const userId = event.stream.startsWith('user-') ? event.stream.slice('user-'.length) : event.stream;
    const codeSequence = event.sequence;
    const expiresAt = new Date(data.expiresAt);
    return {
      kind: 'email_verification',
      expiresAt,
      fields: { kind: 'email_verification', eventId: event.id, userId, codeSequence },
      prepare: async () => {
        const events = await this.store.readStream(event.stream);
        if (emailCodeSent(events, codeSequence)) return this.skip('already_sent', 'debug', 'notifier: already sent');
        const user = foldUser(events);
        if (user.removed) return this.skip('user_removed', 'info', 'notifier: the user was deleted; not sent');
        if (user.emailCode?.sequence !== codeSequence) {
          return this.skip('superseded', 'info', 'notifier: a newer code, another address or a verification replaced this code; not sent');
        }
        if (Number.isNaN(expiresAt.getTime()) || this.expired(expiresAt)) return { expired: true };
        if (!user.email) return this.skip('no_recipient', 'warn', 'notifier: the user has no email address; not sent');
        const code = this.decrypt(data.code, event);
        if (code === undefined) return this.skip('undecryptable', 'error', 'notifier: the code cannot be decrypted with the configured keys; not sent');
        const displayName = displayNameOf(user);
        const linkData = { UserID: userId, OrgID: user.orgId ?? '', Code: code };
        const link = this.link(event, () => emailVerificationLink(data.urlTemplate, this.options.publicUrl, linkData), () =>
          emailVerificationLink(undefined, this.options.publicUrl, linkData),
        );
        const message = renderMessage('email_verification', user.profile?.preferredLanguage, { displayName, code, link, expiresAt, now: this.now() });
        return { email: { to: user.email, subject: message.subject, text: message.text, html: message.html, reference: event.id } };
      },
      record: async () => {
        await decideOnStream(
          this.store,
          event.stream,
          (events) => ({ events, version: events.at(-1)?.sequence ?? 0 }),
          (state) => ({
            events: emailCodeSent(state.events, codeSequence)
              ? []
              : [{ type: UserEventType.EmailCodeSent, data: { codeSequence }, metadata: sentMetadata(event) as JsonObject }],
            result: undefined,
          }),
        );
      },
    };
  }

  private decrypt(code: SessionOtpEmailChallenged['data']['code'], event: RecordedEvent): string | undefined {
    try {
      return this.options.cipher.decrypt(code);
    } catch (err) {
      // The error names key ids, never the code.
      this.logger.error(
        { eventId: event.id, keyId: code?.keyId, ...(isDomainError(err) ? { errorId: err.id } : {}), error: (err as Error).message },
        'notifier: decrypting a code failed',
      );
      return undefined;
    }
  }

  /** The template's link; a template outside the safe subset gets the default link (and a warning) rather than no email. */
  private link(event: RecordedEvent, render: () => string, fallback: () => string): string {
    try {
      return render();
    } catch (err) {
      if (!(err instanceof LinkTemplateError)) throw err;
      this.logger.warn({ eventId: event.id, error: err.message }, 'notifier: the URL template cannot be rendered; the default link is used');
      return fallback();
    }
  }
}

function displayNameOf(user: UserState): string {
  const profile = user.profile;
  return profile?.displayName?.trim() || [profile?.givenName, profile?.familyName].filter(Boolean).join(' ').trim() || user.username || '';
}

/** The sent-record's metadata: the code event's instance, owner and correlation; the editor is the system. */
function sentMetadata(event: RecordedEvent): EventMetadata {
  const text = (value: unknown) => (typeof value === 'string' ? value : '');
  return {
    instanceId: text(event.metadata.instanceId),
    resourceOwner: text(event.metadata.resourceOwner),
    editor: 'system',
    correlationId: text(event.metadata.correlationId) || randomUUID(),
  };
}

/**
 * Whether the email of the code at `codeSequence` is recorded as sent on the user stream:
 * a `user.email.code.sent {codeSequence}` naming it, or (a record without codeSequence, as the
 * user lib's type still declares it) a `user.email.code.sent` after it and before the next code.
 */
export function emailCodeSent(events: readonly RecordedEvent[], codeSequence: number): boolean {
  let nextCodeSeen = false;
  for (const e of events) {
    if (e.type === UserEventType.EmailCodeSent) {
      const named = (e.data as { codeSequence?: unknown }).codeSequence;
      if (typeof named === 'number') {
        if (named === codeSequence) return true;
      } else if (e.sequence > codeSequence && !nextCodeSeen) {
        return true;
      }
    } else if (e.type === UserEventType.EmailCodeAdded && e.sequence > codeSequence) {
      nextCodeSeen = true;
    }
  }
  return false;
}
