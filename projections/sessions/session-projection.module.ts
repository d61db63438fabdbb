import { Inject, Module, type OnModuleDestroy, type OnModuleInit } from '@nestjs/common';
import type { Migration } from 'kysely';
import { SQL_DATABASE, type SqlDatabase } from '#database';
import { clockProvider } from '#kernel';
import { EVENT_STORE, type EventStore } from '#eventstore';
import { LOGGER, type Logger } from '#logging';
import { ActiveVersions, HostedReadModel, projectionSchemas, ProjectionRunner, readModelProviders } from '#projections/runner';
import { UserProjectionModule } from '#projections/users';
import { ListSessionsHandler } from './queries/list-sessions.handler.js';
import { SESSION_READ_YOUR_WRITES } from './queries/read-your-writes.js';
import { sessionProjection, sessionProjections } from './session-projection.js';

/** The running sessions projection (status, waitUntil for read-your-writes, wake on a switch). */
export const SESSION_PROJECTION_RUNNER = Symbol('SessionProjectionRunner');
/** The active version of the sessions read model, as the queries read it. */
export const SESSION_ACTIVE_VERSIONS = Symbol('SessionActiveVersions');
export { SESSION_READ_YOUR_WRITES } from './queries/read-your-writes.js';

/** Every schema the sessions read model needs, by history table (sqlSchemas' shape: migrateAll, /readyz). */
export const sessionProjectionSchemas: Record<string, Record<string, Migration>> = projectionSchemas(sessionProjection);

/**
 * The sessions read model: ListSessionsQuery on the QueryBus, and the projector that keeps the
 * ACTIVE version's table up to date, run as every read model's is (HostedReadModel: migrations
 * at init, restart or wake on a version switch, lag metrics, stopped before the stores close).
 * Imports UserProjectionModule for the users' names the list shows.
 */
@Module({
  imports: [UserProjectionModule],
  providers: [
    ListSessionsHandler,
    clockProvider,
    ...readModelProviders(sessionProjections, { runner: SESSION_PROJECTION_RUNNER, versions: SESSION_ACTIVE_VERSIONS, readYourWrites: SESSION_READ_YOUR_WRITES }),
  ],
  exports: [SESSION_PROJECTION_RUNNER, SESSION_ACTIVE_VERSIONS, SESSION_READ_YOUR_WRITES],
})
export class SessionProjectionModule implements OnModuleInit, OnModuleDestroy {
  private readonly hosted: HostedReadModel;

  constructor(
    @Inject(SESSION_PROJECTION_RUNNER) runner: ProjectionRunner,
    @Inject(SESSION_ACTIVE_VERSIONS) versions: ActiveVersions,
    @Inject(SQL_DATABASE) database: SqlDatabase,
    @Inject(EVENT_STORE) store: EventStore,
    @Inject(LOGGER) logger: Logger,
  ) {
    this.hosted = new HostedReadModel(sessionProjections, { runner, versions, database, store, logger });
  }

  onModuleInit(): Promise<void> {
    return this.hosted.start();
  }

  onModuleDestroy(): Promise<void> {
    return this.hosted.stop();
  }
}
