import { sql, type Kysely, type Transaction } from 'kysely';
import { VERSIONS_TABLE } from './schema.js';

export interface VersionsRow {
  name: string;
  active_version: number;
  previous_version: number | null;
  switched_at: Date | null;
  building_version: number | null;
  building_started_at: Date | null;
}

/** Creates the read model's row (active version 1) if it has none yet. */
export async function ensureVersionsRow(db: Kysely<any> | Transaction<any>, name: string): Promise<void> {
  await db.insertInto(VERSIONS_TABLE).values({ name, active_version: 1 }).onConflict((oc) => oc.column('name').doNothing()).execute();
}

export async function readVersionsRow(db: Kysely<any> | Transaction<any>, name: string): Promise<VersionsRow | undefined> {
  const row = (await db.selectFrom(VERSIONS_TABLE).selectAll().where('name', '=', name).executeTakeFirst()) as VersionsRow | undefined;
  return row && { ...row, active_version: Number(row.active_version) };
}

/** The version the service reads (1 until the first replay switches). */
export async function readActiveVersion(db: Kysely<any> | Transaction<any>, name: string): Promise<number> {
  const row = await db.selectFrom(VERSIONS_TABLE).select('active_version').where('name', '=', name).executeTakeFirst();
  return row ? Number(row.active_version) : 1;
}

/**
 * In the runner's batch transaction: the active version, with a FOR SHARE lock, so a switch
 * (which updates the row) waits for the batch in hand and every later batch sees the switch.
 */
export async function lockActiveVersionForShare(trx: Transaction<any>, name: string): Promise<number> {
  const { rows } = await sql<{ active_version: number }>`
    select active_version from ${sql.table(VERSIONS_TABLE)} where name = ${name} for share`.execute(trx);
  return rows[0] ? Number(rows[0].active_version) : 1;
}

/**
 * The active version of each read model, as the queries read it: from projection_versions,
 * kept for `ttlMs` (1 s) so a query costs no extra round trip; `invalidate()` (on the switch's
 * NOTIFY) and `observe()` (the runner saw a newer version) make a switch visible at once.
 * Versions only grow, so a newer one seen anywhere wins.
 */
export class ActiveVersions {
  private readonly cache = new Map<string, { version: number; at: number }>();

  constructor(
    private readonly db: Kysely<any>,
    private readonly ttlMs = 1_000,
  ) {}

  async get(name: string): Promise<number> {
    const hit = this.cache.get(name);
    if (hit && Date.now() - hit.at < this.ttlMs) return hit.version;
    const version = await readActiveVersion(this.db, name);
    this.observe(name, version);
    return this.cache.get(name)!.version;
  }

  /** A version seen elsewhere (the runner's); the cache never goes back to an older one. */
  observe(name: string, version: number): void {
    const hit = this.cache.get(name);
    if (!hit || version >= hit.version) this.cache.set(name, { version, at: Date.now() });
  }

  invalidate(name?: string): void {
    if (name === undefined) this.cache.clear();
    else this.cache.delete(name);
  }
}
