import { Code, ConnectError, type ServiceImpl } from '@connectrpc/connect';
import type { Logger } from '#logging';
import { Health, HealthCheckResponse_ServingStatus as ServingStatus } from './gen/grpc/health/v1/health_pb.js';

/**
 * Nest token of the process's readiness (the same one GET /readyz answers from). Optional for
 * the transport: without it the health service answers NOT_SERVING, so a wiring mistake shows
 * up as a server that never becomes ready rather than one that is wrongly called ready.
 */
export const READINESS = Symbol('Readiness');

/** What the health service needs of readiness; libs/runtime's Readiness is one. */
export interface ReadinessProbe {
  check(): Promise<{ ready: boolean }>;
}

export interface HealthOptions {
  readiness: ReadinessProbe | undefined;
  /** The services reported on, by full name; "" (the server as a whole) is always one. */
  services: readonly string[];
  logger: Logger;
  /** How often readiness is looked at again while someone watches (default 5 s). */
  watchIntervalMs?: number;
  /** Aborted when the server stops: from then on everything is NOT_SERVING and every Watch ends. */
  shutdown?: AbortSignal;
}

/**
 * grpc.health.v1.Health. Every service of this process is as healthy as the process: SERVING
 * exactly when readiness says ready. Check and List answer from one readiness check each;
 * Watch sends the current status, then each change, from one shared poll of readiness
 * however many watch, and ends with NOT_SERVING when the server stops (a watcher is told to
 * go elsewhere before the connection closes, and the protocol tells clients to call again).
 */
export function createHealthService(options: HealthOptions): ServiceImpl<typeof Health> {
  const known = new Set(['', ...options.services]);
  const shutdown = options.shutdown ?? new AbortController().signal;

  const serving = async (): Promise<boolean> => {
    if (shutdown.aborted || !options.readiness) return false;
    try {
      return (await options.readiness.check()).ready;
    } catch (err) {
      options.logger.warn({ err }, 'health: readiness check failed');
      return false;
    }
  };
  const statusOf = (ok: boolean) => (ok ? ServingStatus.SERVING : ServingStatus.NOT_SERVING);
  const feed = new ServingFeed(serving, options.watchIntervalMs ?? 5_000);

  return {
    async check(req) {
      if (!known.has(req.service)) throw new ConnectError('unknown service', Code.NotFound);
      return { status: statusOf(await serving()) };
    },

    async list() {
      const status = statusOf(await serving());
      return { statuses: Object.fromEntries([...known].map((name) => [name, { status }])) };
    },

    async *watch(req, ctx) {
      const stop = AbortSignal.any([ctx.signal, shutdown]);
      if (!known.has(req.service)) {
        // The protocol keeps the call open for a service that may become known later; the
        // services of this process are fixed, so it just waits for the end.
        yield { status: ServingStatus.SERVICE_UNKNOWN };
        await aborted(stop);
        return;
      }
      const mailbox = new Latest<boolean>();
      const unsubscribe = feed.subscribe((ok) => mailbox.put(ok));
      try {
        let last = await serving();
        yield { status: statusOf(last) };
        for (;;) {
          const next = await mailbox.take(stop);
          if (next === undefined) break;
          if (next !== last) {
            last = next;
            yield { status: statusOf(next) };
          }
        }
        if (shutdown.aborted && !ctx.signal.aborted && last) yield { status: ServingStatus.NOT_SERVING };
      } finally {
        unsubscribe();
      }
    },
  };
}

function aborted(signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) resolve();
    else signal.addEventListener('abort', () => resolve(), { once: true });
  });
}

/** One poll of readiness for every watcher: runs while at least one listens. */
class ServingFeed {
  private readonly listeners = new Set<(serving: boolean) => void>();
  private timer: NodeJS.Timeout | undefined;
  private polling = false;

  constructor(
    private readonly current: () => Promise<boolean>,
    private readonly intervalMs: number,
  ) {}

  subscribe(listener: (serving: boolean) => void): () => void {
    this.listeners.add(listener);
    if (!this.timer) {
      this.timer = setInterval(() => void this.poll(), this.intervalMs);
      this.timer.unref();
    }
    return () => {
      this.listeners.delete(listener);
      if (this.listeners.size === 0) {
        clearInterval(this.timer);
        this.timer = undefined;
      }
    };
  }

  private async poll(): Promise<void> {
    // A slow check is not started again on top of itself.
    if (this.polling) return;
    this.polling = true;
    try {
      const serving = await this.current();
      for (const listener of this.listeners) listener(serving);
    } finally {
      this.polling = false;
    }
  }
}

/** Holds the latest value put; `take` waits for one (or for the signal, then undefined). */
class Latest<T> {
  private value: { v: T } | undefined;
  private wake: (() => void) | undefined;

  put(v: T): void {
    this.value = { v };
    this.wake?.();
  }

  async take(signal: AbortSignal): Promise<T | undefined> {
    if (!this.value && !signal.aborted) {
      await new Promise<void>((resolve) => {
        const onAbort = () => resolve();
        signal.addEventListener('abort', onAbort, { once: true });
        this.wake = () => {
          signal.removeEventListener('abort', onAbort);
          resolve();
        };
      });
      this.wake = undefined;
    }
    if (signal.aborted) return undefined;
    const { v } = this.value!;
    this.value = undefined;
    return v;
  }
}
