import { sql, type Kysely } from 'kysely';
import type { ProjectionFailure } from './projection.js';
import { CHECKPOINTS_TABLE } from './schema.js';

/**
 * The state stored with a checkpoint, for other processes (the CLI's `projections status`):
 * what the process keeping that checkpoint is doing.
 *   running · stopped · failed (with `failure`) · replaying (a replay builds this version) ·
 *   idle (built by a replay, not yet picked up by a server's runner)
 */
export type PersistedState = 'running' | 'stopped' | 'failed' | 'replaying' | 'idle';

/** The failure as stored (the event and the reason, not the cause object). */
export interface PersistedFailure {
  event: ProjectionFailure['event'];
  reason: string;
  at: string;
}

export function toPersistedFailure(failure: ProjectionFailure): PersistedFailure {
  return { event: failure.event, reason: failure.reason, at: failure.at.toISOString() };
}

/** Sets the state (and the failure, cleared unless given) of a checkpoint row, creating the row at START if needed. */
export async function persistState(db: Kysely<any>, checkpointName: string, state: PersistedState, failure?: ProjectionFailure): Promise<void> {
  const failureJson = failure ? JSON.stringify(toPersistedFailure(failure)) : null;
  await sql`
    insert into ${sql.table(CHECKPOINTS_TABLE)} (name, position, state, failure, heartbeat_at)
    values (${checkpointName}, '', ${state}, ${failureJson}::jsonb, now())
    on conflict (name) do update set state = excluded.state, failure = excluded.failure, heartbeat_at = now()`.execute(db);
}

/** A sign of life from a running runner that has nothing to do. */
export async function persistHeartbeat(db: Kysely<any>, checkpointName: string): Promise<void> {
  await sql`update ${sql.table(CHECKPOINTS_TABLE)} set heartbeat_at = now() where name = ${checkpointName}`.execute(db);
}
