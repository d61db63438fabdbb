import 'reflect-metadata';
import { Module, type DynamicModule, type INestApplication } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { AddressInfo } from 'node:net';
import { migrate, openInMemoryDatabase, type SqlDatabase } from '#database';
import { EVENT_STORE_HISTORY, eventStoreMigrations, PostgresEventStore, type EventStore } from '#eventstore';
import { createLogger } from '#logging';
import { loadConfig } from '#config';
import { InfrastructureModule } from '#runtime';
import { AdminModule, ProjectionsAdminModule } from '#server';

export interface AdminTestServer {
  url: string;
  app: INestApplication;
  store: EventStore;
  close(): Promise<void>;
}

/**
 * A Nest HTTP app with the admin routes and AuthModule (bootstrap included), and with
 * `projections` the projection admin routes too, on a fresh in-memory PGlite, listening on a
 * free port: what the server serves of them.
 */
export async function startAdminTestServer(
  dataDir: string,
  env: Record<string, string> = {},
  options: { projections?: boolean } = {},
): Promise<AdminTestServer> {
  const config = loadConfig({ DATA_DIR: dataDir, PORT: '0', ...env });
  const logger = createLogger('silent');
  const database: SqlDatabase = await openInMemoryDatabase();
  await migrate(database.db, EVENT_STORE_HISTORY, eventStoreMigrations);
  const eventStore = new PostgresEventStore(database);

  @Module({})
  class AdminTestApp {
    static forRoot(): DynamicModule {
      return {
        module: AdminTestApp,
        imports: [
          InfrastructureModule.forRoot({ config, logger, database, eventStore }),
          AdminModule,
          ...(options.projections ? [ProjectionsAdminModule] : []),
        ],
      };
    }
  }
  const app = await NestFactory.create(AdminTestApp.forRoot(), { logger: false });
  await app.listen(0, '127.0.0.1');
  const { port } = app.getHttpServer().address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}`, app, store: eventStore, close: () => app.close() };
}
