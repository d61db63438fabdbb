import type { EventStore } from '#eventstore';
import type { SqlDatabase } from '#database';
import type { Logger } from '#logging';
import {
  NotMigratedError,
  projectionStatus,
  replayProjection,
  ReplayBusyError,
  ReplayFailedError,
  ReplayInterruptedError,
  UnknownProjectionError,
  verifyProjection,
  type ProjectionStatusReport,
  type ReplayJob,
  type ReplayProgress,
  type ReplayResult,
  type VerifyReport,
} from '#projections/operations';
import type { Config } from '#config';
import { openEventStore, openSqlDatabase } from '#runtime';
import { CliError } from './backend.js';
import { callAdmin, ServerRefusal } from './http-backend.js';

export interface ReplayCallbacks {
  /** Aborted (Ctrl-C): the replay stops at the end of the batch in hand; nothing is switched. */
  signal: AbortSignal;
  onProgress(progress: ReplayProgress): void;
  /** Something the operator should know that is not progress (e.g. following a replay already running). */
  onNote(line: string): void;
}

/** The projection commands, wherever the work is done. */
export interface ProjectionsBackend {
  status(): Promise<ProjectionStatusReport[]>;
  replay(name: string, options: { batchSize?: number }, callbacks: ReplayCallbacks): Promise<ReplayResult>;
  verify(name: string): Promise<VerifyReport>;
  close(): Promise<void>;
}

/** Turns the operations' own errors into lines for the operator. */
function operatorError(err: unknown): unknown {
  if (err instanceof UnknownProjectionError || err instanceof NotMigratedError || err instanceof ReplayBusyError || err instanceof ReplayFailedError) {
    return new CliError(err.message);
  }
  return err;
}

/**
 * On the database of DATABASE_URL (server PostgreSQL, shared with the running servers): the
 * CLI process does the work itself. A replay's switch reaches the servers through NOTIFY.
 */
export class DirectProjectionsBackend implements ProjectionsBackend {
  private opened?: Promise<{ database: SqlDatabase; store: EventStore }>;

  constructor(
    private readonly config: Config,
    private readonly logger: Logger,
  ) {}

  async status(): Promise<ProjectionStatusReport[]> {
    return projectionStatus(await this.deps()).catch((err: unknown) => {
      throw operatorError(err);
    });
  }

  async replay(name: string, options: { batchSize?: number }, callbacks: ReplayCallbacks): Promise<ReplayResult> {
    const deps = await this.deps();
    return replayProjection(deps, name, { ...options, signal: callbacks.signal, onProgress: callbacks.onProgress }).catch((err: unknown) => {
      throw operatorError(err);
    });
  }

  async verify(name: string): Promise<VerifyReport> {
    return verifyProjection(await this.deps(), name).catch((err: unknown) => {
      throw operatorError(err);
    });
  }

  async close(): Promise<void> {
    const opened = await this.opened?.catch(() => undefined);
    this.opened = undefined;
    await opened?.store.close().catch(() => undefined);
    await opened?.database.close().catch(() => undefined);
  }

  private async deps() {
    this.opened ??= (async () => {
      const database = await openSqlDatabase(this.config).catch((err: unknown) => {
        throw new CliError(`cannot open the database of DATABASE_URL: ${(err as Error).message}`);
      });
      return { database, store: await openEventStore(this.config, database) };
    })();
    const { database, store } = await this.opened;
    return { database, store, logger: this.logger };
  }
}

const POLL_MS = 500;

/**
 * Through the running server's admin routes (embedded mode: the server owns the data). A
 * replay runs in the server; the CLI polls its progress, and on Ctrl-C asks the server to
 * cancel it (DELETE) and waits until it has stopped.
 */
export class HttpProjectionsBackend implements ProjectionsBackend {
  constructor(
    private readonly server: string,
    private readonly token: () => Promise<string>,
  ) {}

  async status(): Promise<ProjectionStatusReport[]> {
    const { projections } = await callAdmin<{ projections: ProjectionStatusReport[] }>(this.server, this.token, 'GET', '/admin/v1/projections');
    return projections;
  }

  async replay(name: string, options: { batchSize?: number }, callbacks: ReplayCallbacks): Promise<ReplayResult> {
    const path = `/admin/v1/projections/${encodeURIComponent(name)}/replay`;
    let job: ReplayJob;
    try {
      ({ job } = await callAdmin<{ job: ReplayJob }>(this.server, this.token, 'POST', path, options.batchSize ? { batchSize: options.batchSize } : {}));
    } catch (err) {
      if (!(err instanceof ServerRefusal) || err.status !== 409) throw err;
      ({ job } = await callAdmin<{ job: ReplayJob }>(this.server, this.token, 'GET', path));
      callbacks.onNote(`a replay of ${name} is already running in the server (started ${job.startedAt}); following it`);
    }
    let cancelling: Promise<unknown> | undefined;
    const cancel = () => {
      cancelling ??= callAdmin(this.server, this.token, 'DELETE', path, undefined, { timeoutMs: 120_000 }).catch(() => undefined);
    };
    if (callbacks.signal.aborted) cancel();
    callbacks.signal.addEventListener('abort', cancel, { once: true });
    try {
      for (;;) {
        if (job.progress) callbacks.onProgress(job.progress);
        if (job.state === 'done') return job.result!;
        if (job.state === 'cancelled') throw new ReplayInterruptedError(job.error ?? `replay of ${name} cancelled`);
        if (job.state === 'failed') throw new CliError(job.error ?? `replay of ${name} failed`);
        await new Promise((resolve) => setTimeout(resolve, POLL_MS));
        ({ job } = await callAdmin<{ job: ReplayJob }>(this.server, this.token, 'GET', path));
      }
    } finally {
      callbacks.signal.removeEventListener('abort', cancel);
      await cancelling;
    }
  }

  async verify(name: string): Promise<VerifyReport> {
    const { report } = await callAdmin<{ report: VerifyReport }>(
      this.server,
      this.token,
      'POST',
      `/admin/v1/projections/${encodeURIComponent(name)}/verify`,
      {},
      { timeoutMs: 30 * 60_000 },
    );
    return report;
  }

  async close(): Promise<void> {}
}
