import { sql, type Kysely } from 'kysely';
import type { SqlDatabase } from '#database';
import { START, type EventStore, type Position } from '#eventstore';
import type { Logger } from '#logging';
import {
  CatchUpAbortedError,
  CHECKPOINTS_TABLE,
  ensureVersionsRow,
  measureLag,
  persistState,
  ProjectionFailedError,
  ProjectionRunner,
  readVersionsRow,
  VERSION_SWITCHED_CHANNEL,
  VERSIONS_TABLE,
  versionCheckpointName,
  versionOfCheckpointName,
  type VersionedProjection,
  type VersionsRow,
} from '#projections/runner';
import { projectionNamed, requireMigrated } from './registry.js';
import { acquireReplayLock } from './replay-lock.js';

export interface OperationDeps {
  /** The read models' database (also the events', with PostgresEventStore). */
  database: SqlDatabase;
  store: EventStore;
  logger: Logger;
}

export interface ReplayProgress {
  projection: string;
  version: number;
  phase: 'building' | 'switching' | 'done';
  /** Events applied to the new version so far. */
  done: number;
  /** Events to apply (those in the store when the replay began, plus those appended since). */
  total: number;
  /** Events per second since the build began. */
  rate: number;
  checkpoint: Position;
  startedAt: string;
}

export interface ReplayOptions {
  /** Events per transaction while building (default 5,000 on server PostgreSQL, 1,000 embedded). */
  batchSize?: number;
  /** Interrupts between two batches: the half-built version stays until the next replay drops it; the live version is untouched. */
  signal?: AbortSignal;
  onProgress?: (progress: ReplayProgress) => void;
}

export interface ReplayResult {
  projection: string;
  version: number;
  previousVersion: number;
  events: number;
  seconds: number;
  /** Events per second of the build (from zero to the live head). */
  rate: number;
  tables: string[];
}

/** The replay ended by its signal; nothing was switched. */
export class ReplayInterruptedError extends Error {
  override readonly name = 'ReplayInterruptedError';
}

/** The replay could not finish (the version being built was changed by someone else, or a reducer failed). */
export class ReplayFailedError extends Error {
  override readonly name = 'ReplayFailedError';
}

/** Server PostgreSQL: 5,000 events per transaction. Embedded: 1,000, as PGlite's one connection serves the queries between two batches. */
const defaultBatchSize = (database: SqlDatabase) => (database.kind === 'server' ? 5_000 : 1_000);

/**
 * Rebuilds a read model from position zero into a new version while the service keeps serving
 * (and its runner keeps maintaining) the active one, then switches in one transaction:
 *
 *  1. one replay per read model (replay-lock.ts); versions left over (the one the last switch
 *     replaced, a half-built one from an interrupted replay) are dropped;
 *  2. version N = highest known + 1 is recorded as `building_version`; its empty tables
 *     (`users_vN`, ...) and its checkpoint (`users@N`, state `replaying`) are created;
 *  3. a ProjectionRunner of version N catches up from zero to the store's head (batches of
 *     5,000 through the projection's batch fold), then again until a catch-up finds less than
 *     a batch of new events;
 *  4. the switch: one transaction that locks the `projection_versions` row (FOR UPDATE: it
 *     waits for a live batch holding it FOR SHARE) and sets `active_version = N`, then
 *     NOTIFY projection_version_switched. Queries read version N from then on (their cache
 *     is dropped by the NOTIFY, or expires within 1 s), and the server's runner continues on
 *     N's tables from `users@N` at its next batch (it checks the active version in every
 *     batch's transaction, and the NOTIFY wakes it). The replaced version's tables stay until
 *     the next replay.
 *
 * Interrupted (signal, Ctrl-C, a killed process), nothing is switched: the live version is
 * untouched, and the next replay drops the half-built one and starts again.
 */
export async function replayProjection(deps: OperationDeps, name: string, options: ReplayOptions = {}): Promise<ReplayResult> {
  const projection = projectionNamed(name);
  const { database, store } = deps;
  const db = database.db;
  const logger = deps.logger.child({ projection: name, operation: 'replay' });
  await requireMigrated(db, projection);
  const lock = await acquireReplayLock(database, name);
  try {
    await ensureVersionsRow(db, name);
    const before = (await readVersionsRow(db, name))!;
    const active = before.active_version;
    const leftovers = (await knownVersions(db, projection, before)).filter((v) => v !== active);
    for (const version of leftovers) {
      const why = version === before.building_version ? 'half-built by an interrupted replay' : 'replaced by an earlier replay';
      logger.info({ version }, `replay ${name}: dropping version ${version} (${why})`);
      await dropVersion(db, projection, version);
    }
    const version = Math.max(active, before.previous_version ?? 0, before.building_version ?? 0, ...leftovers) + 1;
    await db.updateTable(VERSIONS_TABLE).set({ building_version: version, building_started_at: sql`now()` }).where('name', '=', name).execute();
    await projection.createTables(db, { version });
    const checkpointName = versionCheckpointName(name, version);
    await persistState(db, checkpointName, 'replaying');
    logger.info({ version, activeVersion: active }, `replay ${name}: building version ${version} (checkpoint ${checkpointName}) while version ${active} serves`);

    const startedAt = new Date();
    const started = performance.now();
    let done = 0;
    let total = (await measureLag(store, db, START)).events;
    let checkpoint: Position = START;
    const progress = (phase: ReplayProgress['phase']): ReplayProgress => {
      const seconds = (performance.now() - started) / 1000;
      return { projection: name, version, phase, done, total: Math.max(total, done), rate: seconds > 0 ? done / seconds : 0, checkpoint, startedAt: startedAt.toISOString() };
    };
    const runner = new ProjectionRunner(projection.forVersion(version), {
      store,
      db,
      logger,
      batchSize: options.batchSize ?? defaultBatchSize(database),
      onCommit: (events, position) => {
        done += events;
        checkpoint = position;
        options.onProgress?.(progress('building'));
      },
    });
    options.onProgress?.(progress('building'));
    try {
      await runner.catchUp({ signal: options.signal, prefetch: true });
      const buildSeconds = (performance.now() - started) / 1000;
      const built = done;
      // Events appended during the build: catch up again until little is left for the live runner.
      for (let round = 0; round < 10; round++) {
        const lag = await measureLag(store, db, checkpoint);
        total = done + lag.events;
        const from = done;
        await runner.catchUp({ signal: options.signal, prefetch: true });
        if (done - from < (options.batchSize ?? defaultBatchSize(database))) break;
      }
      options.onProgress?.(progress('switching'));
      await switchVersion(db, name, version);
      await database.notify(VERSION_SWITCHED_CHANNEL).catch((err: unknown) =>
        logger.warn({ err }, `replay ${name}: the switch is made, but the NOTIFY failed; servers see it within their idle time-out`),
      );
      const seconds = (performance.now() - started) / 1000;
      const result: ReplayResult = {
        projection: name,
        version,
        previousVersion: active,
        events: done,
        seconds,
        rate: buildSeconds > 0 ? built / buildSeconds : built,
        tables: projection.tables(version).map((t) => t.name),
      };
      options.onProgress?.(progress('done'));
      logger.info(result, `replay ${name}: version ${version} is active (${done} events in ${seconds.toFixed(1)} s); version ${active} stays until the next replay`);
      return result;
    } catch (err) {
      if (err instanceof CatchUpAbortedError) {
        logger.warn({ version, checkpoint }, `replay ${name}: interrupted; version ${version} is left half-built (the next replay drops it); version ${active} still serves, untouched`);
        throw new ReplayInterruptedError(`replay of ${name} interrupted after ${done} events; nothing was switched: version ${active} still serves. Run it again to start over.`);
      }
      if (err instanceof ProjectionFailedError) {
        throw new ReplayFailedError(`replay of ${name} stopped: ${err.message}. Nothing was switched: version ${active} still serves.`, { cause: err });
      }
      throw err;
    }
  } finally {
    await lock.release();
  }
}

/** Every version with tables or a checkpoint: the active one, the previous one, a half-built one. */
async function knownVersions(db: Kysely<any>, projection: VersionedProjection, row: VersionsRow): Promise<number[]> {
  const names = await db
    .selectFrom(CHECKPOINTS_TABLE)
    .select('name')
    .where((eb) => eb.or([eb('name', '=', projection.name), eb('name', 'like', `${projection.name}@%`)]))
    .execute();
  const versions = new Set<number>([row.active_version]);
  for (const { name } of names) {
    const version = versionOfCheckpointName(projection.name, name as string);
    if (version !== undefined) versions.add(version);
  }
  if (row.building_version) versions.add(row.building_version);
  if (row.previous_version) versions.add(row.previous_version);
  return [...versions].sort((a, b) => a - b);
}

async function dropVersion(db: Kysely<any>, projection: VersionedProjection, version: number): Promise<void> {
  await db.transaction().execute(async (trx) => {
    await projection.dropTables(trx, { version });
    await trx.deleteFrom(CHECKPOINTS_TABLE).where('name', '=', versionCheckpointName(projection.name, version)).execute();
    await trx
      .updateTable(VERSIONS_TABLE)
      .set({ previous_version: null })
      .where('name', '=', projection.name)
      .where('previous_version', '=', version)
      .execute();
    await trx
      .updateTable(VERSIONS_TABLE)
      .set({ building_version: null, building_started_at: null })
      .where('name', '=', projection.name)
      .where('building_version', '=', version)
      .execute();
  });
}

/** The switch: one transaction, behind the live runner's batch in hand. */
async function switchVersion(db: Kysely<any>, name: string, version: number): Promise<void> {
  await db.transaction().execute(async (trx) => {
    const { rows } = await sql<{ active_version: number; building_version: number | null }>`
      select active_version, building_version from ${sql.table(VERSIONS_TABLE)} where name = ${name} for update`.execute(trx);
    const row = rows[0];
    if (!row || row.building_version !== version) {
      throw new ReplayFailedError(`replay of ${name}: version ${version} is no longer the one being built (another replay dropped it?); nothing was switched`);
    }
    await trx
      .updateTable(VERSIONS_TABLE)
      .set({ active_version: version, previous_version: row.active_version, switched_at: sql`now()`, building_version: null, building_started_at: null })
      .where('name', '=', name)
      .execute();
    // Built, not yet picked up by a server's runner (which marks it running).
    await trx.updateTable(CHECKPOINTS_TABLE).set({ state: 'idle' }).where('name', '=', versionCheckpointName(name, version)).execute();
  });
}
