import { Global, Inject, Module, type DynamicModule, type OnApplicationShutdown } from '@nestjs/common';
import type { SqlDatabase } from '#database';
import { SQL_DATABASE } from '#database';
import { EVENT_STORE, type EventStore } from '#eventstore';
import { LOGGER, type Logger } from '#logging';
import { CONFIG, type Config } from '#config';
import { PERSONAL_DATA_KEYS, type PersonalDataKeys } from '#crypto';

export interface Infrastructure {
  config: Config;
  logger: Logger;
  database: SqlDatabase;
  eventStore: EventStore;
  /** The store's data keys (openEventStore), for DeleteUser to destroy; left out, DeleteUser destroys none. */
  personalDataKeys?: PersonalDataKeys;
}

/**
 * Hands the already-opened stores to the Nest container. They are opened before the
 * container (in main.ts), so a store that cannot open stops the process with a clear
 * message before anything listens.
 */
@Global()
@Module({})
export class InfrastructureModule implements OnApplicationShutdown {
  constructor(
    @Inject(SQL_DATABASE) private readonly database: SqlDatabase,
    @Inject(EVENT_STORE) private readonly eventStore: EventStore,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {}

  static forRoot(infrastructure: Infrastructure): DynamicModule {
    return {
      module: InfrastructureModule,
      providers: [
        { provide: CONFIG, useValue: infrastructure.config },
        { provide: LOGGER, useValue: infrastructure.logger },
        { provide: SQL_DATABASE, useValue: infrastructure.database },
        { provide: EVENT_STORE, useValue: infrastructure.eventStore },
        ...(infrastructure.personalDataKeys ? [{ provide: PERSONAL_DATA_KEYS, useValue: infrastructure.personalDataKeys }] : []),
      ],
      exports: [CONFIG, LOGGER, SQL_DATABASE, EVENT_STORE, ...(infrastructure.personalDataKeys ? [PERSONAL_DATA_KEYS] : [])],
    };
  }

  async onApplicationShutdown(): Promise<void> {
    await this.eventStore.close().catch((err) => this.logger.error({ err }, 'closing the event store failed'));
    await this.database.close().catch((err) => this.logger.error({ err }, 'closing the database failed'));
    this.logger.info('stores closed');
  }
}
