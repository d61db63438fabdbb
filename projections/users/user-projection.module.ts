import { Inject, Module, type OnModuleDestroy, type OnModuleInit } from '@nestjs/common';
import type { Migration } from 'kysely';
import { SQL_DATABASE, type SqlDatabase } from '../../libs/database/src/index.js';
import { EVENT_STORE, type EventStore } from '../../libs/eventstore/src/index.js';
import { LOGGER, type Logger } from '../../libs/logging/src/pino-logger.js';
import { migrateProjections, projectionSchemas, ProjectionRunner } from '../runner/index.js';
import { GetUserByIdHandler } from './queries/get-user-by-id.handler.js';
import { ListAuthMethodTypesHandler } from './queries/list-auth-method-types.handler.js';
import { userProjection } from './user-projection.js';

/** The running user projection (status, waitUntil for read-your-writes). */
export const USER_PROJECTION_RUNNER = Symbol('UserProjectionRunner');

/**
 * Every schema the user read model needs, by history table (the checkpoint table's and its
 * own), in the shape of apps/server's sqlSchemas, so readiness can check them with isMigrated.
 */
export const userProjectionSchemas: Record<string, Record<string, Migration>> = projectionSchemas(userProjection);
export { USER_PROJECTION_HISTORY, userProjectionMigrations } from './schema.js';
export { PROJECTION_RUNNER_HISTORY, projectionRunnerMigrations } from '../runner/index.js';

/**
 * The user read model: GetUserByIdQuery and ListAuthMethodTypesQuery on the QueryBus, and the
 * projector that keeps the tables up to date. Needs the global EVENT_STORE, SQL_DATABASE and
 * LOGGER providers, and CqrsModule.forRoot() in the application's root module (its explorer
 * finds the query handlers of every module; importing CqrsModule here as well would make a
 * second set of buses).
 *
 * At init it applies its migrations and starts the runner (without waiting for it to catch
 * up); at shutdown it stops the runner before the stores close (onModuleDestroy runs before
 * onApplicationShutdown).
 */
@Module({
  providers: [
    GetUserByIdHandler,
    ListAuthMethodTypesHandler,
    {
      provide: USER_PROJECTION_RUNNER,
      inject: [EVENT_STORE, SQL_DATABASE, LOGGER],
      useFactory: (store: EventStore, database: SqlDatabase, logger: Logger) => new ProjectionRunner(userProjection, { store, db: database.db, logger }),
    },
  ],
  exports: [USER_PROJECTION_RUNNER],
})
export class UserProjectionModule implements OnModuleInit, OnModuleDestroy {
  constructor(
    @Inject(USER_PROJECTION_RUNNER) private readonly runner: ProjectionRunner,
    @Inject(SQL_DATABASE) private readonly database: SqlDatabase,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {}

  async onModuleInit(): Promise<void> {
    const applied = await migrateProjections(this.database.db, userProjection);
    if (applied.length > 0) this.logger.info({ applied }, 'user projection migrations applied');
    this.runner.start();
  }

  async onModuleDestroy(): Promise<void> {
    await this.runner.stop();
  }
}
