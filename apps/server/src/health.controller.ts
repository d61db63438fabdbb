import { Controller, Get, HttpCode, HttpStatus, Inject, Res } from '@nestjs/common';
import { isMigrated, SQL_DATABASE, type SqlDatabase } from '#database';
import { EVENT_STORE, type EventStore } from '#eventstore';
import { LOGGER, type Logger } from '#logging';
import { CONFIG, type Config } from '#config';
import { sqlSchemas } from '#runtime';

/** The part of Express's response /readyz sets. */
interface StatusResponse {
  status(code: number): unknown;
}

/**
 * Liveness and readiness, unauthenticated so that orchestrators can probe them. "Not ready" is
 * a report (503 with the checks), not an error: only a failure of the route itself reaches
 * the ApiExceptionFilter.
 */
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
  async ready(@Res({ passthrough: true }) res: StatusResponse) {
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
      res.status(HttpStatus.SERVICE_UNAVAILABLE);
      return { status: 'not ready', checks };
    }
    return { status: 'ready', checks };
  }
}
