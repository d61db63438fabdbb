import { Controller, Get, HttpCode, HttpException, HttpStatus, Inject } from '@nestjs/common';
import { isMigrated, SQL_DATABASE, type SqlDatabase } from '#database';
import { EVENT_STORE, type EventStore } from '#eventstore';
import { LOGGER, type Logger } from '#logging';
import { CONFIG, type Config } from '#config';
import { sqlSchemas } from '#runtime';

/** Liveness and readiness, unauthenticated so that orchestrators can probe them. */
@Controller()
export class HealthController {
  constructor(
    @Inject(EVENT_STORE) private readonly eventStore: EventStore,
    @Inject(SQL_DATABASE) private readonly database: SqlDatabase,
    @Inject(CONFIG) private readonly config: Config,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {}

  @Get('healthz')
  @HttpCode(200)
  alive() {
    return { status: 'ok' };
  }

  @Get('readyz')
  async ready() {
    const checks: Record<string, string> = {};
    try {
      await this.eventStore.ping();
      checks.eventStore = 'ok';
    } catch (err) {
      checks.eventStore = 'unreachable';
      this.logger.warn({ err }, 'readiness: event store unreachable');
    }
    try {
      const schemas = sqlSchemas(this.config);
      let migrated = true;
      for (const [history, migrations] of Object.entries(schemas)) {
        migrated &&= await isMigrated(this.database.db, history, migrations);
      }
      checks.migrations = migrated ? 'ok' : 'pending';
    } catch (err) {
      checks.migrations = 'unreachable';
      this.logger.warn({ err }, 'readiness: database unreachable');
    }
    if (!Object.values(checks).every((v) => v === 'ok')) {
      throw new HttpException({ status: 'not ready', checks }, HttpStatus.SERVICE_UNAVAILABLE);
    }
    return { status: 'ready', checks };
  }
}
