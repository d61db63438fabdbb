import { createLogger, type Logger } from '#logging';
import type { Config } from '#config';
import { describeFailure, type AdminBackend, type CliOutput, type ConnectionOptions } from './backend.js';
import { DirectBackend } from './direct-backend.js';
import { HttpBackend, resolveToken } from './http-backend.js';
import { DirectProjectionsBackend, HttpProjectionsBackend, type ProjectionsBackend } from './projections-backend.js';

export const CLI_CONTEXT = Symbol('CliContext');

/**
 * Where a command does its work:
 *   - DATABASE_URL set (and no --server): on that database directly, as the system caller;
 *   - otherwise through the running server's admin routes, at --server (default
 *     http://localhost:$PORT) with --token or the token in DATA_DIR/admin.pat: with the
 *     embedded store, the server process owns the data and the CLI may not open it.
 */
export function openBackend(config: Config, options: ConnectionOptions, logger: Logger): AdminBackend {
  if (config.DATABASE_URL && !options.server) return new DirectBackend(config, logger);
  const server = options.server ?? `http://localhost:${config.PORT}`;
  return new HttpBackend(server, () => resolveToken(options.token, config.DATA_DIR));
}

/** The projection commands' backend, chosen as openBackend chooses. */
export function openProjectionsBackend(config: Config, options: ConnectionOptions, logger: Logger): ProjectionsBackend {
  if (config.DATABASE_URL && !options.server) return new DirectProjectionsBackend(config, logger);
  const server = options.server ?? `http://localhost:${config.PORT}`;
  return new HttpProjectionsBackend(server, () => resolveToken(options.token, config.DATA_DIR));
}

/** What the commands share: the output, the exit code, and how to reach the data. */
export class CliContext {
  exitCode = 0;
  /** Logs go to stderr, warnings and worse only: stdout carries the results. */
  readonly logger: Logger;

  constructor(
    readonly config: Config,
    readonly output: CliOutput,
    private readonly open: (config: Config, options: ConnectionOptions, logger: Logger) => AdminBackend = openBackend,
    private readonly openProjections: (config: Config, options: ConnectionOptions, logger: Logger) => ProjectionsBackend = openProjectionsBackend,
  ) {
    this.logger = createLogger(config.LOG_LEVEL === 'silent' ? 'silent' : 'warn', {
      write: (line: string) => output.err(line.trimEnd()),
    });
  }

  async withBackend(options: ConnectionOptions, work: (backend: AdminBackend) => Promise<void>): Promise<void> {
    let backend: AdminBackend | undefined;
    try {
      backend = this.open(this.config, options, this.logger);
      await work(backend);
    } catch (err) {
      this.output.err(`error: ${describeFailure(err)}`);
      this.exitCode = 1;
    } finally {
      await backend?.close().catch(() => undefined);
    }
  }

  /** As withBackend, for the projection commands; `work` may set exitCode itself (verify: 3 on a difference). */
  async withProjections(options: ConnectionOptions, work: (backend: ProjectionsBackend) => Promise<void>): Promise<void> {
    let backend: ProjectionsBackend | undefined;
    try {
      backend = this.openProjections(this.config, options, this.logger);
      await work(backend);
    } catch (err) {
      this.output.err(`error: ${describeFailure(err)}`);
      if (this.exitCode === 0) this.exitCode = 1;
    } finally {
      await backend?.close().catch(() => undefined);
    }
  }
}
