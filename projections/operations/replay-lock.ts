import { sql } from 'kysely';
import type { SqlDatabase } from '#database';

/** Another replay of the same read model holds the lock. */
export class ReplayBusyError extends Error {
  override readonly name = 'ReplayBusyError';
}

export interface ReplayLock {
  release(): Promise<void>;
}

/** Class id of the advisory locks ("prj"), so they do not collide with other users of advisory locks. */
const LOCK_CLASS = 0x70726a;
const inProcess = new WeakMap<SqlDatabase, Set<string>>();

/**
 * One replay per read model at a time. On server PostgreSQL (the CLI in one process, servers in
 * others): a session-level advisory lock on a connection held for the whole replay, so a
 * replay killed with its process releases it at once. Embedded (PGlite: one process, one
 * connection that must not be held): a set in this process.
 */
export async function acquireReplayLock(database: SqlDatabase, name: string): Promise<ReplayLock> {
  const busy = () => new ReplayBusyError(`a replay of ${name} is already running (in this or another process); wait for it to end, or stop it`);
  if (database.kind === 'embedded') {
    let names = inProcess.get(database);
    if (!names) inProcess.set(database, (names = new Set()));
    if (names.has(name)) throw busy();
    names.add(name);
    return { release: async () => void names.delete(name) };
  }
  let settle!: (acquired: boolean) => void;
  let fail!: (err: unknown) => void;
  const acquired = new Promise<boolean>((resolve, reject) => {
    settle = resolve;
    fail = reject;
  });
  let release!: () => void;
  const released = new Promise<void>((resolve) => (release = resolve));
  const held = database.db
    .connection()
    .execute(async (conn) => {
      const { rows } = await sql<{ ok: boolean }>`select pg_try_advisory_lock(${LOCK_CLASS}, hashtext(${name})) as ok`.execute(conn);
      const ok = rows[0]?.ok === true;
      settle(ok);
      if (!ok) return;
      await released;
      await sql`select pg_advisory_unlock(${LOCK_CLASS}, hashtext(${name}))`.execute(conn);
    })
    .catch((err: unknown) => fail(err));
  if (!(await acquired)) {
    await held;
    throw busy();
  }
  return {
    async release() {
      release();
      await held;
    },
  };
}

/** Whether a replay of `name` holds the lock right now (status: a half-built version with nobody building it was interrupted). */
export async function replayRunning(database: SqlDatabase, name: string): Promise<boolean> {
  if (database.kind === 'embedded') return inProcess.get(database)?.has(name) ?? false;
  return database.db.connection().execute(async (conn) => {
    const { rows } = await sql<{ ok: boolean }>`select pg_try_advisory_lock(${LOCK_CLASS}, hashtext(${name})) as ok`.execute(conn);
    if (rows[0]?.ok !== true) return true;
    await sql`select pg_advisory_unlock(${LOCK_CLASS}, hashtext(${name}))`.execute(conn);
    return false;
  });
}
