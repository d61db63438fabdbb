import { Inject, Module, type OnApplicationBootstrap, type OnModuleDestroy, type OnModuleInit } from '@nestjs/common';
import { CONFIG, type Config } from '#config';
import { CODE_CIPHER, type CodeCipher } from '#crypto';
import { migrate, SQL_DATABASE, type SqlDatabase } from '#database';
import { EVENT_STORE, type EventStore } from '#eventstore';
import { LOGGER, type Logger } from '#logging';
import { mailerFromConfig, type Mailer } from './mailer.js';
import { Notifier } from './notifier.js';
import { NOTIFIER_HISTORY, notifierMigrations } from './schema.js';

/** The running notifier (status()). */
export const NOTIFIER = Symbol('Notifier');
/** Where the emails go: SMTP (SMTP_URL) or DATA_DIR/outbox; a test may override this provider. */
export const MAILER = Symbol('Mailer');

/**
 * The notifier: emails with one-time codes (OTP Email challenges, email verification codes).
 * Needs the global EVENT_STORE, SQL_DATABASE, CONFIG (SMTP_URL, SMTP_FROM, DATA_DIR,
 * PUBLIC_URL), CODE_CIPHER and LOGGER providers.
 *
 * At init it applies its migrations (a no-op when apps/server's migrateAll already did); at
 * application bootstrap (after every module's init, so the stores are ready) it starts the
 * notifier, without waiting for it; on shutdown it stops it (the message in hand is finished)
 * before the stores close (onModuleDestroy runs before onApplicationShutdown).
 */
@Module({
  providers: [
    {
      provide: MAILER,
      inject: [CONFIG],
      useFactory: (config: Config) => mailerFromConfig(config),
    },
    {
      provide: NOTIFIER,
      inject: [EVENT_STORE, SQL_DATABASE, CONFIG, CODE_CIPHER, LOGGER, MAILER],
      useFactory: (store: EventStore, database: SqlDatabase, config: Config, cipher: CodeCipher, logger: Logger, mailer: Mailer) =>
        new Notifier({ store, db: database.db, cipher, mailer, logger, publicUrl: config.PUBLIC_URL }),
    },
  ],
  exports: [NOTIFIER],
})
export class NotificationModule implements OnModuleInit, OnApplicationBootstrap, OnModuleDestroy {
  constructor(
    @Inject(NOTIFIER) private readonly notifier: Notifier,
    @Inject(MAILER) private readonly mailer: Mailer,
    @Inject(SQL_DATABASE) private readonly database: SqlDatabase,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {}

  async onModuleInit(): Promise<void> {
    const applied = await migrate(this.database.db, NOTIFIER_HISTORY, notifierMigrations);
    if (applied.length > 0) this.logger.info({ applied }, 'notifier migrations applied');
  }

  onApplicationBootstrap(): void {
    this.logger.info({ transport: this.mailer.kind }, 'notifier starting');
    this.notifier.start();
  }

  async onModuleDestroy(): Promise<void> {
    await this.notifier.stop();
    this.mailer.close();
  }
}
