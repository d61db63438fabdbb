import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import type { INestApplication } from '@nestjs/common';
import type { AddressInfo } from 'node:net';
import { createLogger, PinoNestLogger, type Logger } from '../../../libs/logging/src/pino-logger.js';
import { AppModule } from './app.module.js';
import type { Config } from './config.js';
import { migrateAll, openEventStore, openSqlDatabase, sqlSchemas } from './stores.js';

export interface RunningServer {
  app: INestApplication;
  url: string;
  logger: Logger;
  close(): Promise<void>;
}

/**
 * Opens the stores, migrates, and listens. Used by main.ts and by end-to-end tests, so both
 * run exactly the same start-up.
 */
export async function startServer(config: Config, logger: Logger = createLogger(config.LOG_LEVEL)): Promise<RunningServer> {
  const database = await openSqlDatabase(config);
  let app: INestApplication | undefined;
  try {
    const applied = await migrateAll(database, sqlSchemas(config));
    if (applied.length > 0) logger.info({ applied }, 'migrations applied');
    const eventStore = openEventStore(config, database);
    app = await NestFactory.create(AppModule.forRoot({ config, logger, database, eventStore }), {
      logger: new PinoNestLogger(logger),
      abortOnError: false,
    });
    await app.listen(config.PORT, '0.0.0.0');
  } catch (err) {
    if (app) await app.close().catch(() => undefined);
    else await database.close().catch(() => undefined);
    throw err;
  }
  const { port } = app.getHttpServer().address() as AddressInfo;
  const url = `http://127.0.0.1:${port}`;
  logger.info({ port, store: config.EVENTSTORE, database: database.kind }, `listening on ${url}`);
  const running = app;
  return { app: running, url, logger, close: () => running.close() };
}
