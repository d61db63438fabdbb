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
import { GetUserByIdHandler } from './queries/get-user-by-id.handler.js';
import { ListAuthMethodTypesHandler } from './queries/list-auth-method-types.handler.js';
import { ListUsersHandler } from './queries/list-users.handler.js';
import { USER_READ_YOUR_WRITES } from './queries/read-your-writes.js';
import { USER_PROJECTION_NAME, userProjection, userProjections } from './user-projection.js';

/** The running user projection (status, waitUntil for read-your-writes, wake on a switch). */
export const USER_PROJECTION_RUNNER = Symbol('UserProjectionRunner');
/** The active version of the user read model, as the queries read it (ActiveVersions). */
export const USER_ACTIVE_VERSIONS = Symbol('UserActiveVersions');
export { USER_READ_YOUR_WRITES } from './queries/read-your-writes.js';

/**
 * Every schema the user read model needs, by history table (the checkpoint table's and its
 * own), in the shape of apps/server's sqlSchemas, so readiness can check them with isMigrated.
 */
export const userProjectionSchemas: Record<string, Record<string, Migration>> = projectionSchemas(userProjection);
export { USER_PROJECTION_HISTORY, userProjectionMigrations } from './schema.js';
export { PROJECTION_RUNNER_HISTORY, projectionRunnerMigrations } from '#projections/runner';

/**
 * The user read model: GetUserByIdQuery and ListAuthMethodTypesQuery on the QueryBus, and the
 * projector that keeps the ACTIVE version's tables up to date. Needs the global EVENT_STORE,
 * SQL_DATABASE and LOGGER providers, and CqrsModule.forRoot() in the application's root module
 * (its explorer finds the query handlers of every module; importing CqrsModule here as well
 * would make a second set of buses).
 *
 * At init it applies its migrations, listens for version switches (NOTIFY
 * projection_version_switched from `projections replay`, in this process or another one: it
 * drops the cached active version and wakes the runner, or restarts it if it had stopped on a
 * failing event), registers its lag with the metrics,
 * and starts the runner (without waiting for it to catch up); at shutdown it stops the runner
 * before the stores close (onModuleDestroy runs before onApplicationShutdown).
 */
@Module({
  providers: [
    GetUserByIdHandler,
    ListAuthMethodTypesHandler,
    ListUsersHandler,
    clockProvider,
    {
      provide: USER_ACTIVE_VERSIONS,
      inject: [SQL_DATABASE],
      useFactory: (database: SqlDatabase) => new ActiveVersions(database.db),
    },
    {
      provide: USER_PROJECTION_RUNNER,
      inject: [EVENT_STORE, SQL_DATABASE, LOGGER, USER_ACTIVE_VERSIONS],
      useFactory: (store: EventStore, database: SqlDatabase, logger: Logger, versions: ActiveVersions) => {
        const metrics = projectionMetrics();
        return new ProjectionRunner(userProjections, {
          store,
          db: database.db,
          logger,
          onCommit: (events) => metrics.eventsApplied(USER_PROJECTION_NAME, events),
          onVersion: (version) => versions.observe(USER_PROJECTION_NAME, version),
        });
      },
    },
    {
      provide: USER_READ_YOUR_WRITES,
      inject: [EVENT_STORE, USER_PROJECTION_RUNNER, USER_ACTIVE_VERSIONS, LOGGER],
      useFactory: (store: EventStore, runner: ProjectionRunner, versions: ActiveVersions, logger: Logger) =>
        new ReadYourWrites({ store, runner, versions, logger, metrics: projectionMetrics() }),
    },
  ],
  exports: [USER_PROJECTION_RUNNER, USER_ACTIVE_VERSIONS, USER_READ_YOUR_WRITES],
})
export class UserProjectionModule implements OnModuleInit, OnModuleDestroy {
  private unlisten: Unlisten | undefined;
  private untrack: (() => void) | undefined;

  constructor(
    @Inject(USER_PROJECTION_RUNNER) private readonly runner: ProjectionRunner,
    @Inject(USER_ACTIVE_VERSIONS) private readonly versions: ActiveVersions,
    @Inject(SQL_DATABASE) private readonly database: SqlDatabase,
    @Inject(EVENT_STORE) private readonly store: EventStore,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {}

  async onModuleInit(): Promise<void> {
    const applied = await migrateProjections(this.database.db, userProjections);
    if (applied.length > 0) this.logger.info({ applied }, 'user projection migrations applied');
    this.unlisten = await this.database.listen(VERSION_SWITCHED_CHANNEL, () => {
      this.versions.invalidate(USER_PROJECTION_NAME);
      if (this.runner.status().state === 'failed') {
        // A replay built a new version past the event this version stopped on: maintain that one.
        this.logger.info({ projection: USER_PROJECTION_NAME }, 'user projection: a replay switched the active version; restarting the stopped runner on it');
        this.runner.start();
      } else {
        this.runner.wake();
      }
    });
    this.untrack = projectionMetrics().track({
      projection: USER_PROJECTION_NAME,
      lag: async () => {
        const checkpoint = this.runner.status().checkpoint;
        // At most 100,000 counted through readAll (EventStoreDB); PostgresEventStore counts in SQL.
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
