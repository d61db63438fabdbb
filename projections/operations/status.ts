import { START, type Position } from '#eventstore';
import {
  CHECKPOINTS_TABLE,
  measureLag,
  readVersionsRow,
  versionCheckpointName,
  type PersistedFailure,
  type PersistedState,
} from '#projections/runner';
import { projectionNamed, requireMigrated, VERSIONED_PROJECTIONS } from './registry.js';
import type { OperationDeps } from './replay.js';
import { replayRunning } from './replay-lock.js';

/** A running state without a sign of life for this long is reported as doubtful (is the server up?). */
const STALE_AFTER_MS = 60_000;

export interface CheckpointInfo {
  name: string;
  position: Position;
  /** What the process keeping it stored: running / stopped / failed / replaying / idle (none yet: never run). */
  state: PersistedState | 'none';
  failure?: PersistedFailure;
  /** Last batch or heartbeat. */
  lastSeenAt?: string;
}

export interface ProjectionStatusReport {
  projection: string;
  /**
   * running · failed (stopped on an event, see failure) · replaying (a replay builds a new
   * version while this one serves) · stopped · idle (built, not picked up by a server yet) ·
   * not started (no checkpoint yet).
   */
  state: 'running' | 'failed' | 'replaying' | 'stopped' | 'idle' | 'not started';
  /** True when the state says running but there has been no batch or heartbeat for a minute. */
  stale: boolean;
  activeVersion: number;
  tables: string[];
  checkpoint: CheckpointInfo;
  head: Position;
  lag: { events: number; atLeast: boolean; seconds: number; oldestUnprocessedAt?: string };
  failure?: PersistedFailure;
  previousVersion?: number;
  switchedAt?: string;
  replay?: {
    version: number;
    /** building: a replay holds the lock; failed: its build stopped on an event; interrupted: nobody builds it (the next replay drops it). */
    state: 'building' | 'failed' | 'interrupted';
    checkpoint: Position;
    remaining: number;
    startedAt?: string;
    failure?: PersistedFailure;
  };
}

async function checkpointInfo(deps: OperationDeps, name: string): Promise<CheckpointInfo> {
  const row = (await deps.database.db
    .selectFrom(CHECKPOINTS_TABLE)
    .select(['position', 'state', 'failure', 'updated_at', 'heartbeat_at'])
    .where('name', '=', name)
    .executeTakeFirst()) as { position: string; state: PersistedState; failure: PersistedFailure | null; updated_at: Date; heartbeat_at: Date | null } | undefined;
  if (!row) return { name, position: START, state: 'none' };
  const seen = [row.updated_at, row.heartbeat_at].filter((d): d is Date => d instanceof Date).sort((a, b) => b.getTime() - a.getTime())[0];
  return {
    name,
    position: row.position,
    state: row.state,
    ...(row.failure ? { failure: row.failure } : {}),
    ...(seen ? { lastSeenAt: seen.toISOString() } : {}),
  };
}

/**
 * Each read model's state as another process sees it (the CLI, the admin routes): the active
 * version and its tables, its checkpoint and the state stored with it, the store's head, the
 * lag in events (counted) and in seconds (now − createdAt of the oldest unprocessed event),
 * and a replay in progress, if any.
 */
export async function projectionStatus(deps: OperationDeps, names: string[] = Object.keys(VERSIONED_PROJECTIONS)): Promise<ProjectionStatusReport[]> {
  const reports: ProjectionStatusReport[] = [];
  for (const name of names) {
    const projection = projectionNamed(name);
    await requireMigrated(deps.database.db, projection);
    const versions = await readVersionsRow(deps.database.db, name);
    const activeVersion = versions?.active_version ?? 1;
    const checkpoint = await checkpointInfo(deps, versionCheckpointName(name, activeVersion));
    const lag = await measureLag(deps.store, deps.database.db, checkpoint.position);
    let replay: ProjectionStatusReport['replay'];
    if (versions?.building_version) {
      const building = await checkpointInfo(deps, versionCheckpointName(name, versions.building_version));
      const running = await replayRunning(deps.database, name);
      replay = {
        version: versions.building_version,
        state: building.state === 'failed' ? 'failed' : running ? 'building' : 'interrupted',
        checkpoint: building.position,
        remaining: (await measureLag(deps.store, deps.database.db, building.position)).events,
        ...(versions.building_started_at ? { startedAt: versions.building_started_at.toISOString() } : {}),
        ...(building.failure ? { failure: building.failure } : {}),
      };
    }
    const stale = checkpoint.state === 'running' && (!checkpoint.lastSeenAt || Date.now() - Date.parse(checkpoint.lastSeenAt) > STALE_AFTER_MS);
    const state: ProjectionStatusReport['state'] =
      checkpoint.state === 'failed'
        ? 'failed'
        : replay?.state === 'building'
          ? 'replaying'
          : checkpoint.state === 'none'
            ? 'not started'
            : checkpoint.state === 'replaying'
              ? 'idle'
              : checkpoint.state;
    reports.push({
      projection: name,
      state,
      stale,
      activeVersion,
      tables: projection.tables(activeVersion).map((t) => t.name),
      checkpoint,
      head: lag.head,
      lag: {
        events: lag.events,
        atLeast: lag.atLeast,
        seconds: Math.round(lag.seconds * 10) / 10,
        ...(lag.oldestUnprocessedAt ? { oldestUnprocessedAt: lag.oldestUnprocessedAt.toISOString() } : {}),
      },
      ...(checkpoint.failure ? { failure: checkpoint.failure } : {}),
      ...(versions?.previous_version ? { previousVersion: versions.previous_version } : {}),
      ...(versions?.switched_at ? { switchedAt: versions.switched_at.toISOString() } : {}),
      ...(replay ? { replay } : {}),
    });
  }
  return reports;
}

const ago = (iso: string) => `${Math.max(0, Math.round((Date.now() - Date.parse(iso)) / 1000))} s ago`;

function describeFailure(f: PersistedFailure): string {
  return `the reducer for ${f.event.type} failed on event ${f.event.id} (stream ${f.event.stream}, sequence ${f.event.sequence}, position ${f.event.position}) at ${f.at}: ${f.reason}`;
}

/** The reports as lines for an operator. */
export function formatStatus(reports: ProjectionStatusReport[]): string[] {
  const lines: string[] = [];
  for (const r of reports) {
    lines.push(`${r.projection}: ${r.state}${r.stale ? ` (no batch or heartbeat since ${r.checkpoint.lastSeenAt ? ago(r.checkpoint.lastSeenAt) : 'ever'}: is the server running?)` : ''}`);
    lines.push(`  version     ${r.activeVersion} (${r.tables.join(', ')})${r.previousVersion ? `, replaced version ${r.previousVersion}${r.switchedAt ? ` at ${r.switchedAt}` : ''}` : ''}`);
    lines.push(`  checkpoint  ${r.checkpoint.position || '(start)'} (${r.checkpoint.name})${r.checkpoint.lastSeenAt ? `, last batch or heartbeat ${ago(r.checkpoint.lastSeenAt)}` : ''}`);
    lines.push(`  head        ${r.head || '(empty store)'}`);
    lines.push(`  lag         ${r.lag.atLeast ? 'at least ' : ''}${r.lag.events} event${r.lag.events === 1 ? '' : 's'}, ${r.lag.seconds} s`);
    if (r.failure) lines.push(`  failure     ${describeFailure(r.failure)}`);
    if (r.replay) {
      const what = { building: 'replay running', failed: 'replay FAILED', interrupted: 'replay interrupted (the next replay drops it)' }[r.replay.state];
      lines.push(
        `  replay      version ${r.replay.version}: ${what}, checkpoint ${r.replay.checkpoint || '(start)'}, ${r.replay.remaining} events to go` +
          (r.replay.startedAt ? `, started ${ago(r.replay.startedAt)}` : ''),
      );
      if (r.replay.failure) lines.push(`              ${describeFailure(r.replay.failure)}`);
    }
  }
  return lines;
}
