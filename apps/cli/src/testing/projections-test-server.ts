import 'reflect-metadata';
import { Module, type DynamicModule, type INestApplication } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { CqrsModule } from '@nestjs/cqrs';
import type { AddressInfo } from 'node:net';
import { CryptoModule } from '#crypto';
import { migrate, openInMemoryDatabase, openServerDatabase, type SqlDatabase } from '#database';
import { EVENT_STORE_HISTORY, eventStoreMigrations, PostgresEventStore } from '#eventstore';
import type { Logger } from '#logging';
import { MetricsModule } from '#metrics';
import { UserModule } from '#user';
import { AdminModule } from '#server';
import { ProjectionsAdminModule } from '#server';
import { loadConfig } from '#config';
import { InfrastructureModule } from '#runtime';
import { SessionProjectionModule } from '#projections/sessions';
import { UserProjectionModule } from '#projections/users';

export interface ProjectionsTestServer {
  url: string;
  app: INestApplication;
  database: SqlDatabase;
  store: PostgresEventStore;
  close(): Promise<void>;
}

/**
 * What the server runs for the read models once AppModule imports them: the users read model
 * (runner, queries), the projection admin routes, /metrics, the admin routes (first-start
 * bootstrap: DATA_DIR/admin.pat), on a fresh in-memory PGlite, or on `databaseUrl` (server
 * PostgreSQL), listening on a free port.
 */
export async function startProjectionsTestServer(dataDir: string, logger: Logger, databaseUrl?: string): Promise<ProjectionsTestServer> {
  const config = loadConfig({
    DATA_DIR: dataDir,
    PORT: '0',
    ...(databaseUrl ? { DATABASE_URL: databaseUrl, ENCRYPTION_KEY: Buffer.alloc(32, 9).toString('base64') } : {}),
  });
  const database: SqlDatabase = databaseUrl ? openServerDatabase({ connectionString: databaseUrl, maxConnections: 8 }) : await openInMemoryDatabase();
  await migrate(database.db, EVENT_STORE_HISTORY, eventStoreMigrations);
  const eventStore = new PostgresEventStore(database);

  @Module({})
  class ProjectionsTestApp {
    static forRoot(): DynamicModule {
      return {
        module: ProjectionsTestApp,
        imports: [
          InfrastructureModule.forRoot({ config, logger, database, eventStore }),
          CqrsModule.forRoot(),
          CryptoModule.forRoot({ key: Buffer.alloc(32, 9), dataDir }),
          AdminModule,
          UserModule,
          UserProjectionModule,
          SessionProjectionModule,
          ProjectionsAdminModule,
          MetricsModule,
        ],
      };
    }
  }
  const app = await NestFactory.create(ProjectionsTestApp.forRoot(), { logger: false });
  await app.listen(0, '127.0.0.1');
  const { port } = app.getHttpServer().address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}`, app, database, store: eventStore, close: () => app.close() };
}
