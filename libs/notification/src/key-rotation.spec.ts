import { randomBytes } from 'node:crypto';
import { afterEach, beforeEach, expect, it } from '@jest/globals';
import type { Registry } from 'prom-client';
import { describeWhen } from '#test-kit';
import { CodeCipher } from '#crypto';
import { smtpMailer } from './mailer.js';
import { notifierMetrics } from './metrics.js';
import { Notifier } from './notifier.js';
import {
  addEmailCode,
  backends,
  capturingLogger,
  challenge,
  checkpointPassed,
  freshRegistry,
  newCode,
  parseMail,
  seedSession,
  seedUser,
  startSmtpSink,
  type SmtpSink,
  type TestStores,
} from '#notification/testing';

// Rotation of the encryption key, seen by the notifier: codes sealed under a key it still has
// are sent; a code under a key it no longer has is dropped and counted once, never retried.
const backend = backends[0]!;
describeWhen(backend.available, backend.reason, `Notifier and the encryption keys (${backend.label})`, () => {
  const oldKey = { id: 'old', key: randomBytes(32) };
  const newKey = { id: 'new', key: randomBytes(32) };
  let stores: TestStores;
  let sink: SmtpSink;
  let registry: Registry;
  let log: ReturnType<typeof capturingLogger>;
  let running: Notifier | undefined;

  beforeEach(async () => {
    stores = await backend.open();
    sink = await startSmtpSink();
    registry = freshRegistry();
    log = capturingLogger();
  });
  afterEach(async () => {
    await running?.stop();
    running = undefined;
    await sink.down();
    await stores.cleanup();
  });

  const start = (cipher: CodeCipher) => {
    running = new Notifier({
      store: stores.store,
      db: stores.database.db,
      cipher,
      mailer: smtpMailer({ url: sink.url, from: 'Identity <no-reply@id.example.com>' }),
      logger: log.logger,
      publicUrl: 'https://id.example.com',
      retryDelayMs: 20,
      maxRetryDelayMs: 200,
      idleTimeoutMs: 500,
      standbyPollMs: 50,
      metrics: notifierMetrics(registry),
    });
    running.start();
    return running;
  };
  const skipped = async () => {
    const { values } = await registry.getSingleMetric('notification_skipped_total')!.get();
    return values.filter((v) => v.labels.reason === 'undecryptable').reduce((sum, v) => sum + v.value, 0);
  };

  it('after the switch, sends codes sealed under the old key and under the new one', async () => {
    const user = await seedUser(stores.store);
    const before = newCode();
    await challenge(stores.store, new CodeCipher([oldKey], 'old'), user, await seedSession(stores.store, user), before);
    const after = newCode();
    const last = await challenge(stores.store, new CodeCipher([oldKey, newKey], 'new'), user, await seedSession(stores.store, user), after);
    const n = start(new CodeCipher([oldKey, newKey], 'new'));
    await checkpointPassed(n, last.position);
    const texts = (await sink.waitForMessages(2)).map((m) => parseMail(m.raw).text);
    expect(texts.some((t) => t.includes(before))).toBe(true);
    expect(texts.some((t) => t.includes(after))).toBe(true);
  });

  it('drops and counts a code under a key no longer configured, logs the key id but not the code, and goes on', async () => {
    const user = await seedUser(stores.store);
    const lost = newCode();
    await challenge(stores.store, new CodeCipher([oldKey], 'old'), user, await seedSession(stores.store, user), lost);
    const lostEmailCode = newCode();
    await addEmailCode(stores.store, new CodeCipher([oldKey], 'old'), user, lostEmailCode);
    const fresh = newCode();
    const last = await challenge(stores.store, new CodeCipher([newKey], 'new'), user, await seedSession(stores.store, user), fresh);
    const n = start(new CodeCipher([newKey], 'new'));
    await checkpointPassed(n, last.position);

    const [mail] = await sink.waitForMessages(1);
    expect(parseMail(mail!.raw).text).toContain(fresh);
    expect(sink.messages).toHaveLength(1);
    expect(await skipped()).toBe(2);
    const failures = log.lines.filter((l) => l.msg === 'notifier: decrypting a code failed');
    expect(failures).toHaveLength(2);
    for (const failure of failures) expect(failure).toMatchObject({ keyId: 'old', errorId: 'CRYPTO-K3yUn' });
    for (const line of log.raw) {
      expect(line).not.toContain(lost);
      expect(line).not.toContain(lostEmailCode);
    }
  });
});
