import { Inject, Module, type OnModuleDestroy, type OnModuleInit } from '@nestjs/common';
import type { Migration } from 'kysely';
import { SQL_DATABASE, type SqlDatabase } from '#database';
import { clockProvider } from '#kernel';
import { EVENT_STORE, type EventStore } from '#eventstore';
import { LOGGER, type Logger } from '#logging';
import { ActiveVersions, HostedReadModel, projectionSchemas, ProjectionRunner, readModelProviders } from '#projections/runner';
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
 * Its runner lives as every read model's does (HostedReadModel: migrations, version switches,
 * lag metrics at init; stopped at shutdown before the stores close, as onModuleDestroy runs
 * before onApplicationShutdown).
 */
@Module({
  providers: [
    GetUserByIdHandler,
    ListAuthMethodTypesHandler,
    ListUsersHandler,
    clockProvider,
    ...readModelProviders(userProjections, { runner: USER_PROJECTION_RUNNER, versions: USER_ACTIVE_VERSIONS, readYourWrites: USER_READ_YOUR_WRITES }),
  ],
  exports: [USER_PROJECTION_RUNNER, USER_ACTIVE_VERSIONS, USER_READ_YOUR_WRITES],
})
export class UserProjectionModule implements OnModuleInit, OnModuleDestroy {
  private readonly hosted: HostedReadModel;

  constructor(
    @Inject(USER_PROJECTION_RUNNER) runner: ProjectionRunner,
    @Inject(USER_ACTIVE_VERSIONS) versions: ActiveVersions,
    @Inject(SQL_DATABASE) database: SqlDatabase,
    @Inject(EVENT_STORE) store: EventStore,
    @Inject(LOGGER) logger: Logger,
  ) {
    this.hosted = new HostedReadModel(userProjections, { runner, versions, database, store, logger });
  }

  onModuleInit(): Promise<void> {
    return this.hosted.start();
  }

  onModuleDestroy(): Promise<void> {
    return this.hosted.stop();
  }
}
