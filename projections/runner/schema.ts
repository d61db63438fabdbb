import { sql, type Kysely, type Migration } from 'kysely';
import { migrate } from '#database';
import type { Projection } from './projection.js';

/** Every read model lives in this PostgreSQL schema, next to `eventstore`. */
export const PROJECTIONS_SCHEMA = 'projections';

/**
 * One row per projection: the position of the last event it reduced, written in the same
 * transaction as the rows that event changed.
 */
export const CHECKPOINTS_TABLE = `${PROJECTIONS_SCHEMA}.projection_checkpoints`;

/**
 * One row per versioned read model: the version the service reads and the server's runner
 * maintains (`active_version`), the one it replaced, and a replay's version being built.
 */
export const VERSIONS_TABLE = `${PROJECTIONS_SCHEMA}.projection_versions`;

/** NOTIFY channel: a replay switched a read model's active version (payload: its name). */
export const VERSION_SWITCHED_CHANNEL = 'projection_version_switched';

/** History table of the runner's own migrations (the checkpoint table). */
export const PROJECTION_RUNNER_HISTORY = 'projection_runner';

export const projectionRunnerMigrations: Record<string, Migration> = {
  '0001_checkpoints': {
    async up(db) {
      await sql`create schema if not exists projections`.execute(db);
      await sql`
        create table projections.projection_checkpoints (
          name text primary key,
          position text not null,
          updated_at timestamptz not null default now()
        )`.execute(db);
    },
    async down(db) {
      await sql`drop table projections.projection_checkpoints`.execute(db);
    },
  },
  // What another process (the CLI) needs to see: the state of whoever keeps the checkpoint
  // (running / stopped / failed with the failure / replaying / idle), a heartbeat, and the
  // active version of each versioned read model.
  '0002_state_and_versions': {
    async up(db) {
      await sql`
        alter table projections.projection_checkpoints
          add column state text not null default 'idle',
          add column failure jsonb,
          add column heartbeat_at timestamptz`.execute(db);
      await sql`
        create table projections.projection_versions (
          name text primary key,
          active_version integer not null default 1,
          previous_version integer,
          switched_at timestamptz,
          building_version integer,
          building_started_at timestamptz
        )`.execute(db);
    },
    async down(db) {
      await sql`drop table projections.projection_versions`.execute(db);
      await sql`
        alter table projections.projection_checkpoints
          drop column state, drop column failure, drop column heartbeat_at`.execute(db);
    },
  },
};

/** The schemas a projection needs, by history table: the runner's, then its own. */
export function projectionSchemas(...projections: Array<Pick<Projection, 'historyTable' | 'migrations'>>): Record<string, Record<string, Migration>> {
  const schemas: Record<string, Record<string, Migration>> = { [PROJECTION_RUNNER_HISTORY]: projectionRunnerMigrations };
  for (const p of projections) schemas[p.historyTable] = p.migrations;
  return schemas;
}

/** Applies the checkpoint table's and the projections' migrations; returns what was applied. */
export async function migrateProjections(db: Kysely<any>, ...projections: Array<Pick<Projection, 'historyTable' | 'migrations'>>): Promise<string[]> {
  const applied: string[] = [];
  for (const [history, migrations] of Object.entries(projectionSchemas(...projections))) {
    applied.push(...(await migrate(db, history, migrations)).map((name) => `${history}/${name}`));
  }
  return applied;
}
