import type { Provider } from '@nestjs/common';
import { SQL_DATABASE, type SqlDatabase, type Unlisten } from '#database';
import { EVENT_STORE, START, type EventStore } from '#eventstore';
import { LOGGER, type Logger } from '#logging';
import { measureLag } from './lag.js';
import { projectionMetrics } from './metrics.js';
import type { VersionedProjection } from './projection.js';
import { ProjectionRunner } from './projection-runner.js';
import { ReadYourWrites } from './read-your-writes.js';
import { migrateProjections, VERSION_SWITCHED_CHANNEL } from './schema.js';
import { ActiveVersions } from './versions.js';

/** The injection tokens under which a read model's module provides its runner, active versions and read-your-writes. */
export interface ReadModelTokens {
  runner: symbol;
  versions: symbol;
  readYourWrites: symbol;
}

/**
 * The providers every read model's Nest module needs, the same for each: its active versions
 * (as the queries read them), the runner of the ACTIVE version (counting applied events,
 * observing version switches) and read-your-writes on that runner. Needs the global
 * EVENT_STORE, SQL_DATABASE and LOGGER providers.
 */
export function readModelProviders(projections: VersionedProjection, tokens: ReadModelTokens): Provider[] {
  return [
    {
      provide: tokens.versions,
      inject: [SQL_DATABASE],
      useFactory: (database: SqlDatabase) => new ActiveVersions(database.db),
    },
    {
      provide: tokens.runner,
      inject: [EVENT_STORE, SQL_DATABASE, LOGGER, tokens.versions],
      useFactory: (store: EventStore, database: SqlDatabase, logger: Logger, versions: ActiveVersions) => {
        const metrics = projectionMetrics();
        return new ProjectionRunner(projections, {
          store,
          db: database.db,
          logger,
          onCommit: (events) => metrics.eventsApplied(projections.name, events),
          onVersion: (version) => versions.observe(projections.name, version),
        });
      },
    },
    {
      provide: tokens.readYourWrites,
      inject: [EVENT_STORE, tokens.runner, tokens.versions, LOGGER],
      useFactory: (store: EventStore, runner: ProjectionRunner, versions: ActiveVersions, logger: Logger) =>
        new ReadYourWrites({ store, runner, versions, logger, metrics: projectionMetrics() }),
    },
  ];
}

export interface HostedReadModelParts {
  runner: ProjectionRunner;
  versions: ActiveVersions;
  database: SqlDatabase;
  store: EventStore;
  logger: Logger;
}

/**
 * A read model's life in a process, the same for each: at start it applies its migrations,
 * listens for version switches (NOTIFY projection_version_switched from `projections replay`,
 * in this process or another one: it drops the cached active version and wakes the runner, or
 * restarts it if it had stopped on a failing event), registers its lag with the metrics and
 * starts the runner (without waiting for it to catch up); at stop it stops the runner first, so
 * a module's onModuleDestroy ends it before the stores close.
 */
export class HostedReadModel {
  private unlisten: Unlisten | undefined;
  private untrack: (() => void) | undefined;

  constructor(
    private readonly projections: VersionedProjection,
    private readonly parts: HostedReadModelParts,
  ) {}

  async start(): Promise<void> {
    const { runner, versions, database, store, logger } = this.parts;
    const name = this.projections.name;
    const applied = await migrateProjections(database.db, this.projections);
    if (applied.length > 0) logger.info({ projection: name, applied }, `${name} projection migrations applied`);
    this.unlisten = await database.listen(VERSION_SWITCHED_CHANNEL, () => {
      versions.invalidate(name);
      if (runner.status().state === 'failed') {
        // A replay built a new version past the event this version stopped on: maintain that one.
        logger.info({ projection: name }, `${name} projection: a replay switched the active version; restarting the stopped runner on it`);
        runner.start();
      } else {
        runner.wake();
      }
    });
    this.untrack = projectionMetrics().track({
      projection: name,
      lag: async () => {
        const checkpoint = runner.status().checkpoint;
        // At most 100,000 counted through readAll (EventStoreDB); PostgresEventStore counts in SQL.
        return checkpoint === undefined ? undefined : measureLag(store, database.db, checkpoint ?? START, { maxCount: 100_000 });
      },
      failed: () => runner.status().state === 'failed',
    });
    runner.start();
  }

  async stop(): Promise<void> {
    await this.parts.runner.stop();
    this.untrack?.();
    await this.unlisten?.().catch(() => undefined);
  }
}
