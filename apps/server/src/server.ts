import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import type { INestApplication } from '@nestjs/common';
import { serveOnOnePort, type ServingApp } from '#api';
import { createLogger, PinoNestLogger, type Logger } from '#logging';
import { AppModule } from './app.module.js';
import type { Config } from '#config';
import { migrateAll, openEventStore, openSqlDatabase, sqlSchemas } from '#runtime';
import { secureDataDir } from '#database';

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
  const database = await openSqlDatabase(config);
  let app: INestApplication | undefined;
  let serving: ServingApp;
  try {
    const applied = await migrateAll(database, sqlSchemas(config));
    if (applied.length > 0) logger.info({ applied }, 'migrations applied');
    const eventStore = openEventStore(config, database);
    app = await NestFactory.create(AppModule.forRoot({ config, logger, database, eventStore }), {
      logger: new PinoNestLogger(logger),
      abortOnError: false,
    });
    serving = await serveOnOnePort(app, {
      port: config.PORT,
      host: '0.0.0.0',
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
  logger.info({ port, store: config.EVENTSTORE, database: database.kind }, `listening on ${url}`);
  return { app, url, logger, close: () => serving.close() };
}
