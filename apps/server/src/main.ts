import { createLogger } from '#logging';
import { ConfigError, loadConfig } from '#config';
import { collectOnceAfterStart, limitHeapGrowth } from './heap-growth.js';
import { startServer } from './server.js';

async function main(): Promise<void> {
  limitHeapGrowth();
  let config;
  try {
    config = loadConfig();
  } catch (err) {
    if (err instanceof ConfigError) {
      // For people: one readable line per problem on stderr; for log pipelines: one JSON line.
      process.stderr.write(`${err.message}\n`);
      createLogger('info').fatal({ problems: err.problems }, 'invalid configuration');
      process.exitCode = 78; // EX_CONFIG
      return;
    }
    throw err;
  }
  const logger = createLogger(config.LOG_LEVEL);
  let server;
  try {
    server = await startServer(config, logger);
  } catch (err) {
    // The reason once, in the message; the stack only for those who ask for debug lines.
    const { name, code } = err as Error & { code?: unknown };
    logger.debug({ err }, 'start-up failure in detail');
    logger.fatal({ errorType: name, ...(code !== undefined ? { code } : {}) }, `could not start: ${(err as Error).message}`);
    process.exitCode = 1;
    return;
  }
  collectOnceAfterStart();
  // Graceful stop: no new connections, in-flight requests finish, stores close, exit 0.
  const stop = (signal: NodeJS.Signals) => {
    logger.info({ signal }, 'shutting down');
    server.close().then(
      () => process.exit(0),
      (err: unknown) => {
        logger.error({ err }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
}

await main();
