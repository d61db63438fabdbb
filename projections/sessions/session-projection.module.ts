import { Inject, Module, type OnModuleDestroy, type OnModuleInit } from '@nestjs/common';
import type { Migration } from 'kysely';
import { SQL_DATABASE, type SqlDatabase, type Unlisten } from '#database';
import { clockProvider } from '#kernel';
import { EVENT_STORE, START, type EventStore } from '#eventstore';
import { LOGGER, type Logger } from '#logging';
import {
  ActiveVersions,
  measureLag,
  migrateProjections,
  projectionMetrics,
  projectionSchemas,
  ProjectionRunner,
  ReadYourWrites,
  VERSION_SWITCHED_CHANNEL,
} from '#projections/runner';
import { UserProjectionModule } from '#projections/users';
import { ListSessionsHandler } from './queries/list-sessions.handler.js';
import { SESSION_READ_YOUR_WRITES } from './queries/read-your-writes.js';
import { SESSION_PROJECTION_NAME, sessionProjection, sessionProjections } from './session-projection.js';

/** The running sessions projection (status, waitUntil for read-your-writes, wake on a switch). */
export const SESSION_PROJECTION_RUNNER = Symbol('SessionProjectionRunner');
/** The active version of the sessions read model, as the queries read it. */
export const SESSION_ACTIVE_VERSIONS = Symbol('SessionActiveVersions');
export { SESSION_READ_YOUR_WRITES } from './queries/read-your-writes.js';

/** Every schema the sessions read model needs, by history table (sqlSchemas' shape: migrateAll, /readyz). */
export const sessionProjectionSchemas: Record<string, Record<string, Migration>> = projectionSchemas(sessionProjection);

/**
 * The sessions read model: ListSessionsQuery on the QueryBus, and the projector that keeps the
 * ACTIVE version's table up to date, run as the users projection is (UserProjectionModule):
 * migrations at init, restart or wake on a version switch, lag metrics, stop before the stores
 * close. Imports UserProjectionModule for the users' names the list shows.
 */
@Module({
  imports: [UserProjectionModule],
  providers: [
    ListSessionsHandler,
    clockProvider,
    {
      provide: SESSION_ACTIVE_VERSIONS,
      inject: [SQL_DATABASE],
      useFactory: (database: SqlDatabase) => new ActiveVersions(database.db),
    },
    {
      provide: SESSION_PROJECTION_RUNNER,
      inject: [EVENT_STORE, SQL_DATABASE, LOGGER, SESSION_ACTIVE_VERSIONS],
      useFactory: (store: EventStore, database: SqlDatabase, logger: Logger, versions: ActiveVersions) => {
        const metrics = projectionMetrics();
        return new ProjectionRunner(sessionProjections, {
          store,
          db: database.db,
          logger,
          onCommit: (events) => metrics.eventsApplied(SESSION_PROJECTION_NAME, events),
          onVersion: (version) => versions.observe(SESSION_PROJECTION_NAME, version),
        });
      },
    },
    {
      provide: SESSION_READ_YOUR_WRITES,
      inject: [EVENT_STORE, SESSION_PROJECTION_RUNNER, SESSION_ACTIVE_VERSIONS, LOGGER],
      useFactory: (store: EventStore, runner: ProjectionRunner, versions: ActiveVersions, logger: Logger) =>
        new ReadYourWrites({ store, runner, versions, logger, metrics: projectionMetrics() }),
    },
  ],
  exports: [SESSION_PROJECTION_RUNNER, SESSION_ACTIVE_VERSIONS, SESSION_READ_YOUR_WRITES],
})
export class SessionProjectionModule implements OnModuleInit, OnModuleDestroy {
  private unlisten: Unlisten | undefined;
  private untrack: (() => void) | undefined;

  constructor(
    @Inject(SESSION_PROJECTION_RUNNER) private readonly runner: ProjectionRunner,
    @Inject(SESSION_ACTIVE_VERSIONS) private readonly versions: ActiveVersions,
    @Inject(SQL_DATABASE) private readonly database: SqlDatabase,
    @Inject(EVENT_STORE) private readonly store: EventStore,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {}

  async onModuleInit(): Promise<void> {
    const applied = await migrateProjections(this.database.db, sessionProjections);
    if (applied.length > 0) this.logger.info({ applied }, 'session projection migrations applied');
    this.unlisten = await this.database.listen(VERSION_SWITCHED_CHANNEL, () => {
      this.versions.invalidate(SESSION_PROJECTION_NAME);
      if (this.runner.status().state === 'failed') {
        this.logger.info({ projection: SESSION_PROJECTION_NAME }, 'session projection: a replay switched the active version; restarting the stopped runner on it');
        this.runner.start();
      } else {
        this.runner.wake();
      }
    });
    this.untrack = projectionMetrics().track({
      projection: SESSION_PROJECTION_NAME,
      lag: async () => {
        const checkpoint = this.runner.status().checkpoint;
        return checkpoint === undefined ? undefined : measureLag(this.store, this.database.db, checkpoint ?? START, { maxCount: 100_000 });
      },
      failed: () => this.runner.status().state === 'failed',
    });
    this.runner.start();
  }

  async onModuleDestroy(): Promise<void> {
    await this.runner.stop();
    this.untrack?.();
    await this.unlisten?.().catch(() => undefined);
  }
}
