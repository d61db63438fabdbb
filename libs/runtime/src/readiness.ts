import { Inject, Injectable } from '@nestjs/common';
import { isMigrated, SQL_DATABASE, type SqlDatabase } from '#database';
import { EVENT_STORE, type EventStore } from '#eventstore';
import { LOGGER, type Logger } from '#logging';
import { CONFIG, type Config } from '#config';
import { sqlSchemas } from './stores.js';

/** Each check's outcome: "ok", or a word saying what is wrong ("unreachable", "pending", …). */
export type CheckOutcome = 'ok' | (string & {});

export interface ReadinessReport {
  ready: boolean;
  checks: Record<string, CheckOutcome>;
}

/**
 * Whether the process can serve requests: the one definition behind GET /readyz and the gRPC
 * health service, so that an orchestrator probing either sees the same answer. Ready exactly
 * when every check answers "ok"; a check that throws counts as failed, never as ready. A new
 * condition is one more entry in `checks()`.
 */
@Injectable()
export class Readiness {
  constructor(
    @Inject(EVENT_STORE) private readonly eventStore: EventStore,
    @Inject(SQL_DATABASE) private readonly database: SqlDatabase,
    @Inject(CONFIG) private readonly config: Config,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {}

  /** By name: how to check, and what a check that throws means (with the log line saying so). */
  private checks(): Record<string, { run(): Promise<CheckOutcome>; whenThrown: CheckOutcome; log: string }> {
    return {
      eventStore: {
        run: async () => {
          await this.eventStore.ping();
          return 'ok';
        },
        whenThrown: 'unreachable',
        log: 'readiness: event store unreachable',
      },
      migrations: {
        run: async () => {
          for (const [history, migrations] of Object.entries(sqlSchemas(this.config))) {
            if (!(await isMigrated(this.database.db, history, migrations))) return 'pending';
          }
          return 'ok';
        },
        whenThrown: 'unreachable',
        log: 'readiness: database unreachable',
      },
    };
  }

  async check(): Promise<ReadinessReport> {
    const checks: Record<string, CheckOutcome> = {};
    for (const [name, check] of Object.entries(this.checks())) {
      try {
        checks[name] = await check.run();
      } catch (err) {
        checks[name] = check.whenThrown;
        this.logger.warn({ err }, check.log);
      }
    }
    return { ready: Object.values(checks).every((outcome) => outcome === 'ok'), checks };
  }
}
