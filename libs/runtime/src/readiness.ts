import { Inject, Injectable, Optional } from '@nestjs/common';
import { ModuleRef } from '@nestjs/core';
import { isMigrated, SQL_DATABASE, type SqlDatabase } from '#database';
import { EVENT_STORE, type EventStore } from '#eventstore';
import { LOGGER, type Logger } from '#logging';
import { CONFIG, type Config } from '#config';
import type { ProjectionStatus } from '#projections/runner';
import { SESSION_PROJECTION_RUNNER } from '#projections/sessions';
import { USER_PROJECTION_RUNNER } from '#projections/users';
import { sqlSchemas } from './stores.js';

/** Each check's outcome: "ok", or a word saying what is wrong ("unreachable", "pending", …). */
export type CheckOutcome = 'ok' | (string & {});

export interface ReadinessReport {
  ready: boolean;
  checks: Record<string, CheckOutcome>;
  /** Why a check is not ok, where there is more to say than its outcome (a projection's failure). */
  reasons?: Record<string, string>;
}

/** The projection runners of the process, by their provider tokens; each is optional (a module may leave one out). */
const PROJECTION_RUNNERS: readonly symbol[] = [USER_PROJECTION_RUNNER, SESSION_PROJECTION_RUNNER];

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
    @Optional() private readonly moduleRef?: ModuleRef,
  ) {}

  /** The runners' own status (state and failure), as they report it. */
  private projectionStatuses(): ProjectionStatus[] {
    const statuses: ProjectionStatus[] = [];
    for (const token of PROJECTION_RUNNERS) {
      let runner: { status(): ProjectionStatus } | undefined;
      try {
        runner = this.moduleRef?.get(token, { strict: false });
      } catch {
        runner = undefined; // not in this application
      }
      if (runner) statuses.push(runner.status());
    }
    return statuses;
  }

  /** By name: how to check, and what a check that throws means (with the log line saying so). */
  private checks(reasons: Record<string, string>): Record<string, { run(): Promise<CheckOutcome>; whenThrown: CheckOutcome; log: string }> {
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
      // A projection stopped on an event it cannot apply serves reads that will never catch up.
      projections: {
        run: async () => {
          const failed = this.projectionStatuses().filter((status) => status.state === 'failed');
          if (failed.length === 0) return 'ok';
          reasons['projections'] = failed
            .map(({ name, failure }) => `${name} stopped at event ${failure?.event.id ?? '?'} (${failure?.event.type ?? '?'}): ${failure?.reason ?? 'unknown'}`)
            .join('; ');
          return 'failed';
        },
        whenThrown: 'unknown',
        log: 'readiness: projection status unavailable',
      },
    };
  }

  async check(): Promise<ReadinessReport> {
    const checks: Record<string, CheckOutcome> = {};
    const reasons: Record<string, string> = {};
    for (const [name, check] of Object.entries(this.checks(reasons))) {
      try {
        checks[name] = await check.run();
      } catch (err) {
        checks[name] = check.whenThrown;
        this.logger.warn({ err }, check.log);
      }
    }
    const ready = Object.values(checks).every((outcome) => outcome === 'ok');
    return { ready, checks, ...(Object.keys(reasons).length > 0 ? { reasons } : {}) };
  }
}
