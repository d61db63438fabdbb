import { createHash, randomBytes } from 'node:crypto';
import { sql, type Kysely } from 'kysely';
import { START, type Position } from '#eventstore';
import {
  CHECKPOINTS_TABLE,
  ProjectionRunner,
  readActiveVersion,
  versionCheckpointName,
  type ProjectionTable,
} from '#projections/runner';
import { projectionNamed, requireMigrated } from './registry.js';
import type { OperationDeps } from './replay.js';

export interface RowDifference {
  /** The row's key, e.g. {"id":"2000..."}. */
  key: Record<string, string>;
  kind: 'missing' | 'extra' | 'different';
  /** For `different`: the columns whose values differ, live (as read after the comparison) vs rebuilt. */
  columns?: Array<{ column: string; live: unknown; rebuilt: unknown }>;
}

export interface TableComparison {
  /** The live table, e.g. projections.users_v7. */
  table: string;
  liveRows: number;
  rebuiltRows: number;
  liveChecksum: string;
  rebuiltChecksum: string;
  equal: boolean;
  /** missing: rebuilt has it, live does not; extra: live has it, rebuilt does not. */
  missing: number;
  extra: number;
  different: number;
  /** The first differences (up to `maxShown`). */
  examples: RowDifference[];
}

export interface VerifyReport {
  projection: string;
  version: number;
  /** The live checkpoint the scratch build stopped at. */
  checkpoint: Position;
  equal: boolean;
  tables: TableComparison[];
  seconds: number;
}

interface TableHashes {
  count: number;
  checksum: string;
  rows: Map<string, string>;
}

/**
 * Checks a read model against a fresh rebuild: in one REPEATABLE READ transaction (one
 * snapshot) it reads the active version, its checkpoint P and, per table, each row's key and
 * md5 (rows in key order); then it builds scratch tables (`users_verify_<random>`) from zero
 * up to exactly P with the same reducers, hashes them the same way, and compares the row
 * counts and the checksums (md5 of the ordered row md5s), listing the rows that are missing,
 * extra or different. The scratch tables are dropped at the end. Only what the snapshot saw
 * is compared, so a projection that keeps moving (or a failed one, stopped before its bad
 * event) verifies as well as an idle one.
 */
export async function verifyProjection(deps: OperationDeps, name: string, options: { maxShown?: number } = {}): Promise<VerifyReport> {
  const projection = projectionNamed(name);
  const { database, store } = deps;
  const db = database.db;
  const logger = deps.logger.child({ projection: name, operation: 'verify' });
  const started = performance.now();
  await requireMigrated(db, projection);

  const snapshot = await db
    .transaction()
    .setIsolationLevel('repeatable read')
    .execute(async (trx) => {
      const version = await readActiveVersion(trx, name);
      const row = await trx.selectFrom(CHECKPOINTS_TABLE).select('position').where('name', '=', versionCheckpointName(name, version)).executeTakeFirst();
      const tables = projection.tables(version);
      const hashes: TableHashes[] = [];
      for (const table of tables) hashes.push(await hashTable(trx, table));
      return { version, checkpoint: (row?.position as Position | undefined) ?? START, tables, hashes };
    });

  const suffix = `verify_${randomBytes(4).toString('hex')}`;
  const scratch = projection.forScratch(suffix);
  await projection.createTables(db, { scratch: suffix });
  try {
    logger.info({ version: snapshot.version, checkpoint: snapshot.checkpoint }, `verify ${name}: rebuilding version ${snapshot.version} up to ${snapshot.checkpoint || '(start)'} in scratch tables`);
    const runner = new ProjectionRunner(scratch.projection, { store, db, logger, batchSize: database.kind === 'server' ? 5_000 : 1_000 });
    await runner.catchUp({ until: snapshot.checkpoint, prefetch: true });
    const maxShown = options.maxShown ?? 10;
    const tables: TableComparison[] = [];
    for (let i = 0; i < snapshot.tables.length; i++) {
      const live = snapshot.tables[i]!;
      const rebuilt = scratch.tables[i]!;
      tables.push(await compare(db, live, snapshot.hashes[i]!, rebuilt, await hashTable(db, rebuilt), maxShown));
    }
    const report: VerifyReport = {
      projection: name,
      version: snapshot.version,
      checkpoint: snapshot.checkpoint,
      equal: tables.every((t) => t.equal),
      tables,
      seconds: (performance.now() - started) / 1000,
    };
    return report;
  } finally {
    await projection.dropTables(db, { scratch: suffix }).catch((err: unknown) => logger.warn({ err }, `verify ${name}: could not drop the scratch tables of ${suffix}`));
    await db.deleteFrom(CHECKPOINTS_TABLE).where('name', '=', scratch.projection.name).execute().catch(() => undefined);
  }
}

async function hashTable(db: Kysely<any>, table: ProjectionTable): Promise<TableHashes> {
  const key = sql.join(table.key.map((c) => sql.ref(c)));
  const { rows } = await sql<{ k: string; h: string }>`
    select json_build_array(${key})::text as k, md5(row(${sql.join(table.columns.map((c) => sql.ref(c)))})::text) as h
    from ${sql.table(table.name)} order by ${key}`.execute(db);
  const md5 = createHash('md5');
  const map = new Map<string, string>();
  for (const row of rows) {
    md5.update(row.h);
    map.set(row.k, row.h);
  }
  return { count: rows.length, checksum: md5.digest('hex'), rows: map };
}

async function compare(
  db: Kysely<any>,
  liveTable: ProjectionTable,
  live: TableHashes,
  rebuiltTable: ProjectionTable,
  rebuilt: TableHashes,
  maxShown: number,
): Promise<TableComparison> {
  const missing: string[] = [];
  const extra: string[] = [];
  const different: string[] = [];
  for (const [k, h] of rebuilt.rows) {
    const other = live.rows.get(k);
    if (other === undefined) missing.push(k);
    else if (other !== h) different.push(k);
  }
  for (const k of live.rows.keys()) if (!rebuilt.rows.has(k)) extra.push(k);
  const keyOf = (k: string) => Object.fromEntries(liveTable.key.map((c, i) => [c, (JSON.parse(k) as string[])[i]!]));
  const examples: RowDifference[] = [];
  for (const k of different.slice(0, maxShown)) {
    const [liveRow, rebuiltRow] = await Promise.all([readRow(db, liveTable, k), readRow(db, rebuiltTable, k)]);
    const columns = liveTable.columns
      .filter((c) => JSON.stringify(liveRow?.[c]) !== JSON.stringify(rebuiltRow?.[c]))
      .map((c) => ({ column: c, live: liveRow?.[c], rebuilt: rebuiltRow?.[c] }));
    examples.push({ key: keyOf(k), kind: 'different', columns });
  }
  for (const k of missing.slice(0, Math.max(0, maxShown - examples.length))) examples.push({ key: keyOf(k), kind: 'missing' });
  for (const k of extra.slice(0, Math.max(0, maxShown - examples.length))) examples.push({ key: keyOf(k), kind: 'extra' });
  return {
    table: liveTable.name,
    liveRows: live.count,
    rebuiltRows: rebuilt.count,
    liveChecksum: live.checksum,
    rebuiltChecksum: rebuilt.checksum,
    equal: live.count === rebuilt.count && live.checksum === rebuilt.checksum,
    missing: missing.length,
    extra: extra.length,
    different: different.length,
    examples,
  };
}

async function readRow(db: Kysely<any>, table: ProjectionTable, key: string): Promise<Record<string, unknown> | undefined> {
  const values = JSON.parse(key) as string[];
  const where = sql.join(
    table.key.map((c, i) => sql`${sql.ref(c)}::text = ${values[i]}`),
    sql` and `,
  );
  const { rows } = await sql<{ r: Record<string, unknown> }>`select to_jsonb(t) as r from ${sql.table(table.name)} t where ${where}`.execute(db);
  return rows[0]?.r;
}

/** The report as lines for an operator. */
export function formatVerifyReport(report: VerifyReport): string[] {
  const lines: string[] = [];
  const head = `${report.projection} version ${report.version} at checkpoint ${report.checkpoint || '(start)'}`;
  lines.push(report.equal ? `OK: ${head} equals a fresh rebuild` : `DIFFERENT: ${head} does not equal a fresh rebuild`);
  for (const t of report.tables) {
    const counts = `${t.liveRows} rows (rebuilt: ${t.rebuiltRows}), checksum ${t.liveChecksum}${t.equal ? '' : ` (rebuilt: ${t.rebuiltChecksum})`}`;
    lines.push(`  ${t.table}: ${t.equal ? 'equal' : 'DIFFERENT'}, ${counts}`);
    if (!t.equal) lines.push(`    ${t.different} different, ${t.missing} missing from the live table, ${t.extra} extra in the live table`);
    for (const e of t.examples) {
      const key = Object.entries(e.key).map(([c, v]) => `${c}=${v}`).join(' ');
      if (e.kind === 'different') {
        const cols = (e.columns ?? []).map((c) => `${c.column}: live ${JSON.stringify(c.live)}, rebuilt ${JSON.stringify(c.rebuilt)}`).join('; ');
        lines.push(`    different ${key}: ${cols || '(changed since the snapshot)'}`);
      } else {
        lines.push(`    ${e.kind === 'missing' ? 'missing from the live table' : 'extra in the live table'}: ${key}`);
      }
    }
  }
  lines.push(`(${report.seconds.toFixed(1)} s)`);
  return lines;
}
