import { sql, type Kysely, type Transaction } from 'kysely';
import { START, type Position } from '#eventstore';

/**
 * Where a consumer keeps its checkpoints: a table with one row per checkpoint name and at least
 * the columns `name text primary key`, `position text`, `updated_at timestamptz`. With a lease,
 * also `owner text` and `lease_until timestamptz`.
 */
export interface CheckpointTable {
  /** Schema-qualified, e.g. projections.projection_checkpoints. */
  table: string;
  /** More timestamptz columns set to now() with every checkpoint write (a heartbeat). */
  touch?: readonly string[];
}

/** Another process, or an operator's rewind, changed the checkpoint since the batch was read: read again. */
export class CheckpointMovedError extends Error {
  override readonly name: string = 'CheckpointMovedError';
}

/** The lease on the checkpoint is no longer this process's: nothing was written. */
export class LeaseLostError extends Error {
  override readonly name = 'LeaseLostError';
}

/** The stored checkpoint; the row is created at START if there is none. */
export async function loadCheckpoint(db: Kysely<any>, table: CheckpointTable, name: string): Promise<Position> {
  const select = () => sql<{ position: string }>`select position from ${sql.table(table.table)} where name = ${name}`.execute(db);
  let { rows } = await select();
  if (rows.length === 0) {
    await sql`insert into ${sql.table(table.table)} (name, position) values (${name}, ${START}) on conflict (name) do nothing`.execute(db);
    ({ rows } = await select());
  }
  return rows[0]?.position ?? START;
}

/** The stored checkpoint without creating a row (START when there is none). */
export async function readCheckpoint(db: Kysely<any>, table: string, name: string): Promise<Position> {
  const { rows } = await sql<{ position: string }>`select position from ${sql.table(table)} where name = ${name}`.execute(db);
  return rows[0]?.position ?? START;
}

export interface CompareAndSet {
  table: CheckpointTable;
  name: string;
  from: Position;
  to: Position;
  /** With a lease: the row must be this owner's, and the write extends the lease by `leaseMs`. */
  lease?: { owner: string; ms: number };
}

/**
 * In the batch's transaction: locks the checkpoint row, checks it is still `from` (and, with a
 * lease, still ours), and returns the write that moves it to `to` (run it after the handler's
 * own writes, in the same transaction). Two processes, or a rewind, therefore never apply a
 * batch twice: the second one finds the row moved and throws CheckpointMovedError.
 *
 * The usual case is one statement: an UPDATE that matches only the row as expected (`from`,
 * our lease) locks it and moves it at once, so the returned write has nothing left to do. It
 * is the same transaction, so the move still commits with the handler's writes or not at all;
 * a concurrent batch waits on the row lock before it writes anything, then finds the row
 * moved. Only when that UPDATE matches nothing does a SELECT … FOR UPDATE find out why (moved,
 * lease lost, or no row yet).
 */
export async function lockCheckpoint(trx: Transaction<any>, cas: CompareAndSet): Promise<() => Promise<void>> {
  const { table, name, from, to, lease } = cas;
  if (await moveCheckpoint(trx, cas)) return async () => undefined;

  const touched = (table.touch ?? []).map((column) => sql`, ${sql.ref(column)} = now()`);
  const leaseUntil = lease ? sql`, lease_until = ${leaseEnd(lease.ms)}` : sql``;
  const { rows } = lease
    ? await sql<{ position: string; owner: string | null }>`
        select position, owner from ${sql.table(table.table)} where name = ${name} for update`.execute(trx)
    : await sql<{ position: string; owner: string | null }>`
        select position from ${sql.table(table.table)} where name = ${name} for update`.execute(trx);
  const row = rows[0];
  if (lease && row?.owner !== lease.owner) throw new LeaseLostError(`the lease on checkpoint ${name} is no longer ours`);
  if ((row?.position ?? START) !== from) throw new CheckpointMovedError(`checkpoint ${name} moved from ${from || '(start)'} to ${row?.position || '(start)'}`);
  return async () => {
    if (row) {
      await sql`
        update ${sql.table(table.table)} set position = ${to}, updated_at = now()${sql.join(touched, sql``)}${leaseUntil}
         where name = ${name}`.execute(trx);
    } else {
      const columns = (table.touch ?? []).map((column) => sql`, ${sql.ref(column)}`);
      const nows = (table.touch ?? []).map(() => sql`, now()`);
      await sql`
        insert into ${sql.table(table.table)} (name, position, updated_at${sql.join(columns, sql``)})
        values (${name}, ${to}, now()${sql.join(nows, sql``)})`.execute(trx);
    }
  };
}

/**
 * The compare-and-set as one UPDATE: moves the row from `from` to `to` (and, with a lease,
 * extends it) only if it is still `from` and ours. False when it matched nothing: moved, lease
 * lost, or no row yet (lockCheckpoint tells which). Outside a transaction it is a commit of
 * its own, for a batch with nothing else to write.
 */
export async function moveCheckpoint(db: Kysely<any> | Transaction<any>, cas: CompareAndSet): Promise<boolean> {
  const { table, name, from, to, lease } = cas;
  const touched = (table.touch ?? []).map((column) => sql`, ${sql.ref(column)} = now()`);
  const leaseUntil = lease ? sql`, lease_until = ${leaseEnd(lease.ms)}` : sql``;
  const ours = lease ? sql` and owner = ${lease.owner}` : sql``;
  const { rows } = await sql`
    update ${sql.table(table.table)} set position = ${to}, updated_at = now()${sql.join(touched, sql``)}${leaseUntil}
     where name = ${name} and position = ${from}${ours}
     returning 1 as ok`.execute(db);
  return rows.length > 0;
}

/** The database's clock: the processes' clocks do not matter. */
export function leaseEnd(ms: number) {
  return sql`now() + make_interval(secs => ${ms / 1000}::double precision)`;
}
