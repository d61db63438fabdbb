import { randomUUID } from 'node:crypto';
import { Inject, Injectable, type OnModuleDestroy } from '@nestjs/common';
import { SQL_DATABASE, type SqlDatabase } from '#database';
import { EVENT_STORE, type EventStore } from '#eventstore';
import { LOGGER, type Logger } from '#logging';
import { projectionNamed } from './registry.js';
import { ReplayBusyError } from './replay-lock.js';
import { replayProjection, type OperationDeps, type ReplayProgress, type ReplayResult } from './replay.js';
import { projectionStatus, type ProjectionStatusReport } from './status.js';
import { verifyProjection, type VerifyReport } from './verify.js';

export type ReplayJobState = 'running' | 'cancelling' | 'done' | 'failed' | 'cancelled';

/** A replay the server runs for an operator (embedded mode: the CLI follows it by polling). */
export interface ReplayJob {
  id: string;
  projection: string;
  state: ReplayJobState;
  startedAt: string;
  endedAt?: string;
  progress?: ReplayProgress;
  result?: ReplayResult;
  /** Why it failed or was cancelled. */
  error?: string;
}

/**
 * The operators' projection commands inside the server process: status, replay (as a
 * background job, one per read model, followed by polling), verify. The admin routes
 * (apps/server/src/admin/projections.controller.ts) call these; with the embedded store this is
 * the only process that may open the data. Replays still running at shutdown are cancelled
 * (nothing switched; the next replay starts over).
 */
@Injectable()
export class ProjectionAdmin implements OnModuleDestroy {
  private readonly jobs = new Map<string, { job: ReplayJob; abort: AbortController; done: Promise<void> }>();
  private readonly deps: OperationDeps;

  constructor(
    @Inject(SQL_DATABASE) database: SqlDatabase,
    @Inject(EVENT_STORE) store: EventStore,
    @Inject(LOGGER) logger: Logger,
  ) {
    this.deps = { database, store, logger };
  }

  status(): Promise<ProjectionStatusReport[]> {
    return projectionStatus(this.deps);
  }

  verify(name: string): Promise<VerifyReport> {
    return verifyProjection(this.deps, name);
  }

  /** Starts a replay in the background; ReplayBusyError if one of this read model is running here. */
  startReplay(name: string, options: { batchSize?: number } = {}): ReplayJob {
    projectionNamed(name);
    const running = this.jobs.get(name);
    if (running && (running.job.state === 'running' || running.job.state === 'cancelling')) {
      throw new ReplayBusyError(`a replay of ${name} is already running (started ${running.job.startedAt}); follow it, or cancel it`);
    }
    const abort = new AbortController();
    const job: ReplayJob = { id: randomUUID(), projection: name, state: 'running', startedAt: new Date().toISOString() };
    const done = replayProjection(this.deps, name, {
      ...(options.batchSize ? { batchSize: options.batchSize } : {}),
      signal: abort.signal,
      onProgress: (progress) => (job.progress = progress),
    }).then(
      (result) => {
        job.result = result;
        job.state = 'done';
      },
      (err: unknown) => {
        job.error = err instanceof Error ? err.message : String(err);
        job.state = abort.signal.aborted ? 'cancelled' : 'failed';
        if (job.state === 'failed') this.deps.logger.error({ err, projection: name }, `replay of ${name} failed: ${job.error}`);
      },
    ).finally(() => (job.endedAt = new Date().toISOString()));
    this.jobs.set(name, { job, abort, done });
    return { ...job };
  }

  /** The running or last replay of this read model in this process. */
  replayJob(name: string): ReplayJob | undefined {
    projectionNamed(name);
    const entry = this.jobs.get(name);
    return entry && { ...entry.job };
  }

  /** Asks the running replay to stop at its next batch; resolves once it has. */
  async cancelReplay(name: string): Promise<ReplayJob | undefined> {
    const entry = this.jobs.get(name);
    if (!entry) return undefined;
    if (entry.job.state === 'running') {
      entry.job.state = 'cancelling';
      entry.abort.abort();
    }
    await entry.done;
    return { ...entry.job };
  }

  async onModuleDestroy(): Promise<void> {
    for (const entry of this.jobs.values()) entry.abort.abort();
    await Promise.all([...this.jobs.values()].map((e) => e.done));
  }
}
