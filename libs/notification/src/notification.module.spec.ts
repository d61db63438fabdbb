import 'reflect-metadata';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { Global, Module, type DynamicModule } from '@nestjs/common';
import { Test, type TestingModule } from '@nestjs/testing';
import { CONFIG, loadConfig } from '#config';
import { CODE_CIPHER, type CodeCipher } from '#crypto';
import { isMigrated, migrate, openInMemoryDatabase, SQL_DATABASE, type SqlDatabase } from '#database';
import { EVENT_STORE, EVENT_STORE_HISTORY, eventStoreMigrations, PostgresEventStore } from '#eventstore';
import { LOGGER } from '#logging';
import { metricsRegistry } from '#metrics';
import { NOTIFIER, NotificationModule } from './notification.module.js';
import type { Notifier } from './notifier.js';
import { NOTIFIER_HISTORY, notifierMigrations } from './schema.js';
import { parseMail } from '#notification/testing';
import { startSmtpSink, type SmtpSink } from '#notification/testing';
import { capturingLogger, challenge, checkpointPassed, newCipher, newCode, seedSession, seedUser } from '#notification/testing';

/** What apps/server's InfrastructureModule and CryptoModule provide globally. */
@Global()
@Module({})
class GlobalsStandIn {
  static of(providers: Record<'store' | 'database' | 'config' | 'cipher' | 'logger', unknown>): DynamicModule {
    return {
      module: GlobalsStandIn,
      providers: [
        { provide: EVENT_STORE, useValue: providers.store },
        { provide: SQL_DATABASE, useValue: providers.database },
        { provide: CONFIG, useValue: providers.config },
        { provide: CODE_CIPHER, useValue: providers.cipher },
        { provide: LOGGER, useValue: providers.logger },
      ],
      exports: [EVENT_STORE, SQL_DATABASE, CONFIG, CODE_CIPHER, LOGGER],
    };
  }
}

describe('NotificationModule', () => {
  let database: SqlDatabase;
  let store: PostgresEventStore;
  let cipher: CodeCipher;
  let sink: SmtpSink;
  let dataDir: string;
  let log: ReturnType<typeof capturingLogger>;
  let moduleRef: TestingModule | undefined;

  beforeEach(async () => {
    database = await openInMemoryDatabase();
    await migrate(database.db, EVENT_STORE_HISTORY, eventStoreMigrations);
    store = new PostgresEventStore(database);
    cipher = newCipher();
    sink = await startSmtpSink();
    dataDir = await mkdtemp(join(tmpdir(), 'notification-module-'));
    log = capturingLogger();
  });

  afterEach(async () => {
    await moduleRef?.close();
    moduleRef = undefined;
    await sink.down();
    await store.close();
    await database.close();
    await rm(dataDir, { recursive: true, force: true });
  });

  async function boot(env: Record<string, string>): Promise<Notifier> {
    const config = loadConfig({ DATA_DIR: dataDir, PUBLIC_URL: 'https://id.example.com', ...env });
    moduleRef = await Test.createTestingModule({
      imports: [GlobalsStandIn.of({ store, database, config, cipher, logger: log.logger }), NotificationModule],
    }).compile();
    await moduleRef.init();
    return moduleRef.get<Notifier>(NOTIFIER);
  }

  it('migrates its table at init, starts at bootstrap, sends through SMTP_URL from SMTP_FROM, stops on shutdown', async () => {
    expect(await isMigrated(database.db, NOTIFIER_HISTORY, notifierMigrations)).toBe(false);
    const notifier = await boot({ SMTP_URL: sink.url, SMTP_FROM: 'Identity <no-reply@id.example.com>' });
    expect(await isMigrated(database.db, NOTIFIER_HISTORY, notifierMigrations)).toBe(true);
    expect(notifier.status().state).toBe('running');

    const user = await seedUser(store);
    const otp = newCode();
    const challenged = await challenge(store, cipher, user, await seedSession(store, user), otp);
    const [received] = await sink.waitForMessages(1);
    // The sink has the message before the client has the server's reply; the counter moves after
    // that reply, and the checkpoint after the counter.
    await checkpointPassed(notifier, challenged.position);
    expect(received!.from).toBe('no-reply@id.example.com');
    expect(parseMail(received!.raw).text).toContain(otp);
    expect(await metricsRegistry.getSingleMetric('notification_sent_total')?.get()).toMatchObject({
      values: expect.arrayContaining([expect.objectContaining({ labels: { kind: 'otp_email', transport: 'smtp' } })]),
    });

    await moduleRef!.close();
    moduleRef = undefined;
    expect(notifier.status().state).toBe('stopped');
    for (const line of log.raw) expect(line).not.toContain(otp);
  });

  it('without SMTP_URL writes .eml files to DATA_DIR/outbox', async () => {
    const notifier = await boot({});
    const user = await seedUser(store);
    const otp = newCode();
    const challenged = await challenge(store, cipher, user, await seedSession(store, user), otp);
    // Past the challenge, the file is written and renamed (no temporary file left).
    await checkpointPassed(notifier, challenged.position);
    const names = await readdir(join(dataDir, 'outbox'));
    expect(names).toHaveLength(1);
    expect(names[0]).toMatch(/\.eml$/);
    expect(log.lines.some((l) => l.path === join(dataDir, 'outbox', names[0]!))).toBe(true);
    expect(sink.messages).toEqual([]);
    for (const line of log.raw) expect(line).not.toContain(otp);
  });
});
