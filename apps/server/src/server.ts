import 'reflect-metadata';
import { useRolePermissions } from '#access';
import { NestFactory } from '@nestjs/core';
import type { INestApplication } from '@nestjs/common';
import { serveOnOnePort, type ServingApp } from '#api';
import { createLogger, PinoNestLogger, type Logger } from '#logging';
import { AppModule } from './app.module.js';
import type { Config } from '#config';
import { databaseAddress, migrateAll, openEventStore, openPersonalDataKeys, openSqlDatabase, sqlSchemas, waitForDatabase } from '#runtime';
import { secureDataDir } from '#database';
import { recordBuildInfo } from '#metrics';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

export interface RunningServer {
  app: INestApplication;
  url: string;
  logger: Logger;
  close(): Promise<void>;
}

/**
 * Opens the stores, migrates, and listens on one port for REST, gRPC (h2c), Connect, gRPC-Web
 * and the health routes. Used by main.ts and by end-to-end tests, so both run exactly the same
 * start-up. The service implementations and the Authenticator come from the Nest container
 * (USER_SERVICE_IMPL, SESSION_SERVICE_IMPL, AUTHENTICATOR), each optional.
 */
export async function startServer(config: Config, logger: Logger = createLogger(config.LOG_LEVEL)): Promise<RunningServer> {
  // Owner-only DATA_DIR (tokens, keys, mail, the embedded database) before anything writes there.
  secureDataDir(config.DATA_DIR);
  recordBuildInfo({ version: packageVersion(), revision: process.env.BUILD_REVISION });
  // The role table is process-wide: every permission check, in every command, reads it.
  useRolePermissions(config.ROLE_PERMISSIONS);
  const database = await openSqlDatabase(config);
  let app: INestApplication | undefined;
  let serving: ServingApp;
  try {
    if (config.DATABASE_URL) await waitForDatabase(database, { address: databaseAddress(config.DATABASE_URL), waitMs: config.DATABASE_WAIT, logger });
    const applied = await migrateAll(database, sqlSchemas(config));
    if (applied.length > 0) logger.info({ applied }, 'migrations applied');
    const personalDataKeys = openPersonalDataKeys(config, database);
    const eventStore = await openEventStore(config, database, personalDataKeys);
    app = await NestFactory.create(AppModule.forRoot({ config, logger, database, eventStore, personalDataKeys }), {
      logger: new PinoNestLogger(logger),
      abortOnError: false,
    });
    // Which framework answers is nobody's business.
    (app.getHttpAdapter().getInstance() as { disable(setting: string): void }).disable('x-powered-by');
    serving = await serveOnOnePort(app, {
      port: config.PORT,
      host: config.HOST,
      logger,
      limits: {
        headersTimeoutMs: config.HTTP_HEADERS_TIMEOUT_MS,
        requestTimeoutMs: config.HTTP_REQUEST_TIMEOUT_MS,
        maxConnections: config.HTTP_MAX_CONNECTIONS,
      },
    });
  } catch (err) {
    if (app) await app.close().catch(() => undefined);
    else await database.close().catch(() => undefined);
    throw err;
  }
  const { port, url } = serving;
  logger.info({ host: config.HOST, port, url, store: config.EVENTSTORE, database: database.kind }, `listening on ${config.HOST}:${port} (${url})`);
  return { app, url, logger, close: () => serving.close() };
}

/** The version in the project's package.json (the nearest one above this file, in the sources or in dist). */
function packageVersion(): string {
  for (let dir = import.meta.dirname; dir !== dirname(dir); dir = dirname(dir)) {
    const file = join(dir, 'package.json');
    if (existsSync(file)) return String((JSON.parse(readFileSync(file, 'utf8')) as { version?: string }).version ?? 'unknown');
  }
  return 'unknown';
}
