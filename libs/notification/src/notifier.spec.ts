import { mkdtemp, readdir, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, expect, it } from '@jest/globals';
import { sql } from 'kysely';
import type { Registry } from 'prom-client';
import { describeWhen } from '#test-kit';
import type { CodeCipher } from '#crypto';
import type { Position } from '#eventstore';
import { SessionEventType, sessionStream } from '#session';
import { UserEventType, userStream } from '#user';
import { NotifierCheckpoint } from './checkpoint.js';
import { outboxMailer, smtpMailer, type Mailer } from './mailer.js';
import { notifierMetrics } from './metrics.js';
import { Notifier, type NotifierOptions } from './notifier.js';
import { parseMail, type ParsedMail } from '#notification/testing';
import { startSmtpSink, type SmtpSink } from '#notification/testing';
import {
  addEmailCode,
  backends,
  capturingLogger,
  challenge,
  changeEmail,
  checkpointPassed,
  eventually,
  freshRegistry,
  newCipher,
  newCode,
  seedSession,
  seedUser,
  type TestStores,
} from '#notification/testing';
import { FailingAppendStore } from '#eventstore/testing';

const PUBLIC_URL = 'https://id.example.com';


for (const backend of backends) {
  describeWhen(backend.available, backend.reason, `Notifier (${backend.label})`, () => {
    let stores: TestStores;
    let sink: SmtpSink;
    let cipher: CodeCipher;
    let log: ReturnType<typeof capturingLogger>;
    let registry: Registry;
    let notifiers: Notifier[];
    let codes: string[];

    beforeEach(async () => {
      stores = await backend.open();
      sink = await startSmtpSink();
      cipher = newCipher();
      log = capturingLogger();
      registry = freshRegistry();
      notifiers = [];
      codes = [];
    });

    afterEach(async () => {
      for (const notifier of notifiers) await notifier.stop();
      // Whatever a test did, no log line ever holds a code.
      for (const code of codes) for (const line of log.raw) expect(line).not.toContain(code);
      await sink.down();
      await stores.cleanup();
    });

    const code = () => {
      const value = newCode();
      codes.push(value);
      return value;
    };

    function notifier(overrides: Partial<NotifierOptions> = {}): Notifier {
      const created = new Notifier({
        store: stores.store,
        db: stores.database.db,
        cipher,
        mailer: smtpMailer({ url: sink.url, from: 'Identity <no-reply@id.example.com>' }),
        logger: log.logger,
        publicUrl: PUBLIC_URL,
        retryDelayMs: 20,
        maxRetryDelayMs: 200,
        idleTimeoutMs: 500,
        standbyPollMs: 50,
        metrics: notifierMetrics(registry),
        ...overrides,
      });
      notifiers.push(created);
      return created;
    }

    async function metric(name: string, labels: Record<string, string> = {}): Promise<number> {
      const found = registry.getSingleMetric(name);
      if (!found) return 0;
      const { values } = await found.get();
      return values
        .filter((v) => Object.entries(labels).every(([k, want]) => (v.labels as Record<string, unknown>)[k] === want))
        .reduce((sum, v) => sum + v.value, 0);
    }

    /** Until the notifier's checkpoint has passed `position` (it handled everything up to there: a duplicate would have been sent by then). */
    const passed = (n: Notifier, position: Position) => checkpointPassed(n, position);

    const mails = (): ParsedMail[] => sink.messages.map((m) => parseMail(m.raw));

    async function sentRecords(sessionId: string) {
      return (await stores.store.readStream(sessionStream(sessionId))).filter((e) => e.type === SessionEventType.OtpEmailSent);
    }

    it('sends the OTP code to the last verified address, never the newer unverified one, with the link from the URL template', async () => {
      const user = await seedUser(stores.store, { email: 'ada@verified.example' });
      await changeEmail(stores.store, user, 'ada@unverified.example');
      const sessionId = await seedSession(stores.store, user);
      const otp = code();
      const challenged = await challenge(stores.store, cipher, user, sessionId, otp, {
        urlTemplate: 'https://app.example/otp?c={{.Code}}&s={{.SessionID}}&u={{.UserID}}&n={{ .LoginName }}',
      });
      notifier().start();

      const [received] = await sink.waitForMessages(1);
      expect(received!.to).toEqual(['ada@verified.example']);
      expect(received!.from).toBe('no-reply@id.example.com');
      const mail = parseMail(received!.raw);
      expect(mail.subject).toBe('Verify One-Time Password');
      expect(mail.to).toBe('ada@verified.example');
      const link = `https://app.example/otp?c=${otp}&s=${sessionId}&u=${user.userId}&n=${encodeURIComponent(user.username)}`;
      expect(mail.text).toContain(`one-time password ${otp}`);
      expect(mail.text).toContain(link);
      expect(mail.text).toContain('Hello Ada Lovelace,');
      expect(mail.text).toMatch(/within the next 5 minutes \(until .+ UTC\)/);
      expect(mail.html).toContain(`href="${link.replace(/&/g, '&amp;')}"`);
      expect(mail.html).toContain(otp);

      // Recorded once, by the challenge's sequence; counted.
      await eventually(async () => expect((await sentRecords(sessionId)).map((e) => e.data)).toEqual([{ challengeSequence: challenged.sequence }]));
      const record = (await sentRecords(sessionId))[0]!;
      expect(record.metadata).toMatchObject({ instanceId: 'instance-1', resourceOwner: user.orgId, editor: 'system' });
      expect(await metric('notification_sent_total', { kind: 'otp_email', transport: 'smtp' })).toBe(1);
      const sentLine = log.lines.find((l) => l.msg === 'notifier: email sent');
      expect(sentLine).toMatchObject({ sessionId, userId: user.userId, eventId: expect.any(String), messageId: expect.any(String) });
    });

    it('uses the default link without a template, and German for preferredLanguage "de"', async () => {
      const user = await seedUser(stores.store, { preferredLanguage: 'de', displayName: 'Käthe Müller' });
      const sessionId = await seedSession(stores.store, user);
      const otp = code();
      await challenge(stores.store, cipher, user, sessionId, otp);
      notifier().start();

      await sink.waitForMessages(1);
      const [mail] = mails();
      expect(mail!.subject).toBe('Einmalpasswort bestätigen');
      expect(mail!.text).toContain('Hallo Käthe Müller,');
      expect(mail!.text).toContain(`Einmalpasswort ${otp}`);
      expect(mail!.text).toMatch(/innerhalb der nächsten 5 Minuten \(bis .+ UTC\)/);
      expect(mail!.text).toContain(`${PUBLIC_URL}/otp/verify?loginName=${encodeURIComponent(user.username)}&code=${otp}`);
      expect(mail!.html).toContain('<html lang="de">');
    });

    it('sends the email verification code to the new (unverified) address, with the default link, and records it', async () => {
      const user = await seedUser(stores.store, { email: 'old@verified.example' });
      await changeEmail(stores.store, user, 'new@unverified.example');
      const verification = code();
      const added = await addEmailCode(stores.store, cipher, user, verification);
      notifier().start();

      const [received] = await sink.waitForMessages(1);
      expect(received!.to).toEqual(['new@unverified.example']);
      const mail = parseMail(received!.raw);
      expect(mail.subject).toBe('Verify email');
      expect(mail.text).toContain(`${PUBLIC_URL}/verify-email?userId=${user.userId}&code=${verification}`);
      expect(mail.text).toContain(`the code ${verification}`);
      expect(mail.text).toMatch(/within the next 1 hour|within the next 60 minutes/);
      await eventually(async () => {
        const sent = (await stores.store.readStream(userStream(user.userId))).filter((e) => e.type === UserEventType.EmailCodeSent);
        expect(sent.map((e) => e.data)).toEqual([{ codeSequence: added.sequence }]);
      });
      expect(await metric('notification_sent_total', { kind: 'email_verification' })).toBe(1);
    });

    it('renders an email verification URL template with UserID, OrgID and Code, in German', async () => {
      const user = await seedUser(stores.store, { preferredLanguage: 'de-CH' });
      await changeEmail(stores.store, user, 'neu@unverified.example');
      const verification = code();
      await addEmailCode(stores.store, cipher, user, verification, { urlTemplate: 'https://app.example/verify/{{.UserID}}?org={{.OrgID}}&code={{.Code}}' });
      notifier().start();

      await sink.waitForMessages(1);
      const [mail] = mails();
      expect(mail!.subject).toBe('E-Mail-Adresse verifizieren');
      expect(mail!.text).toContain(`https://app.example/verify/${user.userId}?org=${user.orgId}&code=${verification}`);
    });

    it('sends nothing for returnCode challenges or codes without sendEmail', async () => {
      const user = await seedUser(stores.store);
      const sessionId = await seedSession(stores.store, user);
      await challenge(stores.store, cipher, user, sessionId, code(), { returnCode: true });
      await changeEmail(stores.store, user, 'other@unverified.example');
      await addEmailCode(stores.store, cipher, user, code(), { sendEmail: false });
      const n = notifier();
      n.start();
      const other = await seedUser(stores.store);
      const marker = await challenge(stores.store, cipher, other, await seedSession(stores.store, other), code());
      await passed(n, marker.position);

      await sink.waitForMessages(1);
      expect(sink.messages.map((m) => m.to)).toEqual([[other.email]]);
      expect(await sentRecords(sessionId)).toEqual([]);
      expect(await metric('notification_sent_total')).toBe(1);
    });

    it('retries while the SMTP server refuses (4xx), and the email arrives exactly once when it accepts again', async () => {
      sink.refuseData = { responseCode: 451, message: 'Local error in processing, try again later' };
      const user = await seedUser(stores.store);
      const sessionId = await seedSession(stores.store, user);
      const otp = code();
      const challenged = await challenge(stores.store, cipher, user, sessionId, otp);
      const n = notifier();
      n.start();

      await eventually(() => expect(sink.dataAttempts).toBeGreaterThanOrEqual(3));
      expect(sink.messages).toEqual([]);
      sink.refuseData = undefined;

      await passed(n, challenged.position);
      expect(sink.messages).toHaveLength(1);
      expect(parseMail(sink.messages[0]!.raw).text).toContain(otp);
      expect(await sentRecords(sessionId)).toHaveLength(1);
      expect(await metric('notification_send_failures_total', { kind: 'otp_email' })).toBeGreaterThanOrEqual(3);
      const retries = log.lines.filter((l) => l.msg === 'notifier: sending failed; retrying');
      expect(retries[0]).toMatchObject({ error: { responseCode: 451, command: 'DATA' }, attempt: 1, retryInMs: 20 });
      expect(retries[1]).toMatchObject({ attempt: 2, retryInMs: 40 });
    });

    it('survives an SMTP server that is down (connection refused) and sends once it listens again', async () => {
      await sink.down();
      const user = await seedUser(stores.store);
      const sessionId = await seedSession(stores.store, user);
      await challenge(stores.store, cipher, user, sessionId, code());
      notifier().start();

      await eventually(() => expect(log.lines.filter((l) => l.msg === 'notifier: sending failed; retrying').length).toBeGreaterThanOrEqual(2));
      expect(log.lines.find((l) => l.msg === 'notifier: sending failed; retrying')?.error.errorCode).toBe('ESOCKET');
      await sink.up();
      await sink.waitForMessages(1);
      await eventually(async () => expect(await sentRecords(sessionId)).toHaveLength(1));
      expect(sink.messages).toHaveLength(1);
    });

    it('restart between challenge and send: stop() aborts the backoff at once, the next notifier sends it once', async () => {
      sink.refuseData = { responseCode: 421, message: 'Service not available' };
      const user = await seedUser(stores.store);
      const sessionId = await seedSession(stores.store, user);
      const otp = code();
      const challenged = await challenge(stores.store, cipher, user, sessionId, otp);
      const first = notifier({ retryDelayMs: 5_000, maxRetryDelayMs: 30_000 });
      first.start();
      await eventually(() => expect(sink.dataAttempts).toBe(1));

      const stopping = Date.now();
      await first.stop();
      expect(Date.now() - stopping).toBeLessThan(4_000);
      expect(first.status().state).toBe('stopped');
      expect(sink.messages).toEqual([]);
      expect(await sentRecords(sessionId)).toEqual([]);

      sink.refuseData = undefined;
      const second = notifier();
      second.start();
      await passed(second, challenged.position);
      expect(sink.messages).toHaveLength(1);
      expect(parseMail(sink.messages[0]!.raw).text).toContain(otp);
      expect(await sentRecords(sessionId)).toHaveLength(1);
    });

    it('restart after send: not sent again, neither from the checkpoint nor when the checkpoint is lost', async () => {
      const user = await seedUser(stores.store);
      const sessionId = await seedSession(stores.store, user);
      const otp = code();
      await challenge(stores.store, cipher, user, sessionId, otp);
      await changeEmail(stores.store, user, 'new@unverified.example');
      const added = await addEmailCode(stores.store, cipher, user, code());
      const first = notifier();
      first.start();
      await sink.waitForMessages(2);
      await passed(first, added.position);
      await first.stop();
      expect(await NotifierCheckpoint.read(stores.database.db, 'notifier')).toBe(first.status().checkpoint);

      const second = notifier();
      second.start();
      await seedUser(stores.store); // something after the checkpoint to follow
      const head = await stores.store.headPosition();
      await passed(second, head);
      await second.stop();
      expect(sink.messages).toHaveLength(2);

      // The checkpoint row is gone (a crash after sending and recording, before the checkpoint):
      // the sent-records stop a third notifier reading from the start.
      await sql`delete from notification.notifier_checkpoints`.execute(stores.database.db);
      const third = notifier();
      third.start();
      await passed(third, head);
      expect(sink.messages).toHaveLength(2);
      expect(await metric('notification_skipped_total', { reason: 'already_sent' })).toBe(2);
    });

    it('drops a code that expired before the notifier got to it: counted, logged, no email', async () => {
      const user = await seedUser(stores.store);
      const sessionId = await seedSession(stores.store, user);
      const stale = await challenge(stores.store, cipher, user, sessionId, code(), { expiresAt: new Date(Date.now() - 1_000) });
      const n = notifier();
      n.start();
      await passed(n, stale.position);

      expect(sink.messages).toEqual([]);
      expect(await metric('notification_dropped_expired_total', { kind: 'otp_email' })).toBe(1);
      expect(await sentRecords(sessionId)).toEqual([]);
      const line = log.lines.find((l) => l.msg === 'notifier: the code expired before its email could be sent; dropped');
      expect(line).toMatchObject({ level: 'warn', sessionId, userId: user.userId, eventId: expect.any(String), expiresAt: expect.any(String) });
    });

    it('drops a code that expires during an SMTP outage, without waiting out the backoff', async () => {
      sink.refuseData = { responseCode: 451, message: 'try again later' };
      const user = await seedUser(stores.store);
      const sessionId = await seedSession(stores.store, user);
      await challenge(stores.store, cipher, user, sessionId, code(), { expiresAt: new Date(Date.now() + 400) });
      const n = notifier({ retryDelayMs: 100, maxRetryDelayMs: 60_000 });
      n.start();

      await eventually(async () => expect(await metric('notification_dropped_expired_total')).toBe(1), { timeoutMs: 3_000 });
      sink.refuseData = undefined;
      const other = await seedUser(stores.store);
      await challenge(stores.store, cipher, other, await seedSession(stores.store, other), code());
      await sink.waitForMessages(1);
      expect(sink.messages.map((m) => m.to)).toEqual([[other.email]]);
    });

    it('a newer challenge supersedes an unsent older one: only the latest code goes out', async () => {
      const user = await seedUser(stores.store);
      const sessionId = await seedSession(stores.store, user);
      const older = code();
      const newer = code();
      await challenge(stores.store, cipher, user, sessionId, older);
      const latest = await challenge(stores.store, cipher, user, sessionId, newer);
      const n = notifier();
      n.start();
      await passed(n, latest.position);

      await sink.waitForMessages(1);
      expect(sink.messages).toHaveLength(1);
      expect(parseMail(sink.messages[0]!.raw).text).toContain(newer);
      expect(parseMail(sink.messages[0]!.raw).text).not.toContain(older);
      expect((await sentRecords(sessionId)).map((e) => e.data)).toEqual([{ challengeSequence: latest.sequence }]);
      expect(await metric('notification_skipped_total', { kind: 'otp_email', reason: 'superseded' })).toBe(1);
    });

    it('a newer challenge during an outage replaces the one being retried', async () => {
      sink.refuseData = { responseCode: 451, message: 'try again later' };
      const user = await seedUser(stores.store);
      const sessionId = await seedSession(stores.store, user);
      const older = code();
      await challenge(stores.store, cipher, user, sessionId, older);
      const n = notifier();
      n.start();
      await eventually(() => expect(sink.dataAttempts).toBeGreaterThanOrEqual(2));
      const newer = code();
      const latest = await challenge(stores.store, cipher, user, sessionId, newer);
      // The outage lasts until the older code is judged replaced: an attempt prepared before the
      // newer challenge was appended would otherwise still send the older code.
      await eventually(async () => expect(await metric('notification_skipped_total', { reason: 'superseded' })).toBe(1));
      sink.refuseData = undefined;

      await passed(n, latest.position);
      expect(sink.messages).toHaveLength(1);
      expect(await sentRecords(sessionId)).toHaveLength(1);
      expect(parseMail(sink.messages[0]!.raw).text).toContain(newer);
    });

    it('a recipient the SMTP server refuses for good (550) is not retried, and does not hold up the next email', async () => {
      sink.refuseRecipients = { responseCode: 550, message: 'No such user here' };
      const user = await seedUser(stores.store);
      const sessionId = await seedSession(stores.store, user);
      await challenge(stores.store, cipher, user, sessionId, code());
      const n = notifier();
      n.start();
      await eventually(async () => expect(await metric('notification_skipped_total', { reason: 'rejected' })).toBe(1));
      expect(await metric('notification_send_failures_total')).toBe(1);
      sink.refuseRecipients = undefined;
      const other = await seedUser(stores.store);
      await challenge(stores.store, cipher, other, await seedSession(stores.store, other), code());
      await sink.waitForMessages(1);
      expect(sink.messages.map((m) => m.to)).toEqual([[other.email]]);
    });

    it('a user without a verified address gets no OTP email', async () => {
      const user = await seedUser(stores.store, { verified: false });
      const sessionId = await seedSession(stores.store, user);
      const skipped = await challenge(stores.store, cipher, user, sessionId, code());
      const n = notifier();
      n.start();
      await passed(n, skipped.position);
      expect(sink.messages).toEqual([]);
      expect(await metric('notification_skipped_total', { reason: 'no_recipient' })).toBe(1);
    });

    it('a user deleted after the challenge gets no OTP email', async () => {
      const user = await seedUser(stores.store);
      const sessionId = await seedSession(stores.store, user);
      const skipped = await challenge(stores.store, cipher, user, sessionId, code());
      await stores.store.append(userStream(user.userId), [{ type: UserEventType.Removed, data: {} }], 'any');
      const n = notifier();
      n.start();
      await passed(n, skipped.position);
      expect(sink.messages).toEqual([]);
      expect(await metric('notification_skipped_total', { reason: 'user_removed' })).toBe(1);
    });

    it('retries recording the sent email when the store fails, without sending again', async () => {
      const flaky = new FailingAppendStore(stores.store);
      flaky.failNextAppend((stream) => stream.startsWith('session-'));
      const user = await seedUser(stores.store);
      const sessionId = await seedSession(stores.store, user);
      const challenged = await challenge(stores.store, cipher, user, sessionId, code());
      const n = notifier({ store: flaky });
      n.start();

      await passed(n, challenged.position);
      expect(sink.messages).toHaveLength(1);
      expect(await sentRecords(sessionId)).toHaveLength(1);
      expect(log.lines.some((l) => l.msg === 'notifier: recording the sent email failed; retrying')).toBe(true);
    });

    it('two notifiers on one database: only the lease holder sends; the other takes over when it stops', async () => {
      const a = notifier();
      const b = notifier();
      a.start();
      await eventually(() => expect(a.status().checkpoint).toBeDefined());
      b.start();
      await eventually(() => expect(b.status().state).toBe('standby'));
      const user = await seedUser(stores.store);
      const sessionId = await seedSession(stores.store, user);
      await challenge(stores.store, cipher, user, sessionId, code());
      await sink.waitForMessages(1);
      await a.stop();

      const second = await challenge(stores.store, cipher, user, await seedSession(stores.store, user), code());
      await eventually(() => expect(b.status().state).toBe('running'));
      await passed(b, second.position);
      expect(sink.messages).toHaveLength(2);
      expect(await sentRecords(sessionId)).toHaveLength(1);
    });

    it('takes over when the lease of a process that died (never released) runs out', async () => {
      // A lease long enough that the standby is seen on a loaded machine too.
      const dead = new NotifierCheckpoint(stores.database.db, 'notifier', 'a-process-that-died', 2_000);
      const leased = Date.now();
      expect(await dead.acquire()).toBe('');
      const user = await seedUser(stores.store);
      const sessionId = await seedSession(stores.store, user);
      await challenge(stores.store, cipher, user, sessionId, code());
      const n = notifier();
      n.start();
      await eventually(() => expect(n.status().state).toBe('standby'));
      await sink.waitForMessages(1, 15_000);
      // Not before the dead process's lease ran out (it was taken no earlier than `leased`).
      expect(Date.now() - leased).toBeGreaterThanOrEqual(1_900);
      expect(n.status().state).toBe('running');
      expect(await dead.renew()).toBe(false);
    });

    it('follows the store live and stops promptly while idle', async () => {
      const n = notifier({ idleTimeoutMs: 60_000 });
      n.start();
      await eventually(() => expect(n.status().checkpoint).toBeDefined());
      const user = await seedUser(stores.store);
      const sessionId = await seedSession(stores.store, user);
      // The idle time-out is 60 s: a delivery or a stop well before it proves the wake-up and the abort.
      await challenge(stores.store, cipher, user, sessionId, code());
      await sink.waitForMessages(1, 30_000);
      const stopping = Date.now();
      await n.stop();
      expect(Date.now() - stopping).toBeLessThan(30_000);
      // The lease is released: a new notifier takes over at once.
      const next = notifier();
      next.start();
      await eventually(() => expect(next.status().state).toBe('running'), { timeoutMs: 1_000 });
    });

    it('outbox mode: writes an .eml file with the code under DATA_DIR/outbox and logs its path, not the code', async () => {
      const dataDir = await mkdtemp(join(tmpdir(), 'notifier-'));
      try {
        const mailer: Mailer = outboxMailer({ dir: join(dataDir, 'outbox') });
        const user = await seedUser(stores.store, { email: 'ada@verified.example' });
        const sessionId = await seedSession(stores.store, user);
        const otp = code();
        await challenge(stores.store, cipher, user, sessionId, otp);
        const n = notifier({ mailer });
        n.start();

        const files = await eventually(async () => {
          const names = (await readdir(join(dataDir, 'outbox'))).filter((name) => name.endsWith('.eml'));
          expect(names).toHaveLength(1);
          return names;
        });
        const path = join(dataDir, 'outbox', files[0]!);
        expect((await stat(path)).mode & 0o777).toBe(0o600);
        const mail = parseMail(await readFile(path, 'utf8'));
        expect(mail.to).toBe('ada@verified.example');
        expect(mail.from).toBe('no-reply@localhost');
        expect(mail.text).toContain(otp);
        await eventually(async () => expect(await sentRecords(sessionId)).toHaveLength(1));
        const line = log.lines.find((l) => l.path === path);
        expect(line).toMatchObject({ level: 'info', transport: 'outbox', sessionId });
        expect(line!.msg).toContain(path);
        expect(await metric('notification_sent_total', { transport: 'outbox' })).toBe(1);
        expect(sink.messages).toEqual([]);
      } finally {
        await rm(dataDir, { recursive: true, force: true });
      }
    });
  });
}
