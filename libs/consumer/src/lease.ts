import { sql, type Kysely } from 'kysely';
import type { Position } from '#eventstore';
import { leaseEnd } from './checkpoint-row.js';

/**
 * The lease on one checkpoint row (columns `owner`, `lease_until`): only the process holding it
 * acts, so two processes on one database never both do what the consumer does (send an email).
 * It lasts `leaseMs` after each renewal or checkpoint write; a process that stops releases it,
 * one that dies loses it when it runs out. All times are the database's clock.
 */
export class CheckpointLease {
  constructor(
    private readonly db: Kysely<any>,
    private readonly table: string,
    private readonly name: string,
    readonly owner: string,
    readonly leaseMs: number,
  ) {}

  /** Takes the lease if it is free, ours, or ran out; returns the checkpoint, or undefined when another process holds it. */
  async acquire(): Promise<Position | undefined> {
    await sql`insert into ${sql.table(this.table)} (name, position) values (${this.name}, '') on conflict (name) do nothing`.execute(this.db);
    const { rows } = await sql<{ position: string }>`
      update ${sql.table(this.table)}
         set owner = ${this.owner}, lease_until = ${leaseEnd(this.leaseMs)}, updated_at = now()
       where name = ${this.name} and (owner is null or owner = ${this.owner} or lease_until < now())
       returning position`.execute(this.db);
    return rows[0]?.position;
  }

  /** Extends the lease; false when it is no longer ours (it ran out and another process took it). */
  async renew(): Promise<boolean> {
    const { rows } = await sql`
      update ${sql.table(this.table)} set lease_until = ${leaseEnd(this.leaseMs)}, updated_at = now()
       where name = ${this.name} and owner = ${this.owner}
       returning 1 as ok`.execute(this.db);
    return rows.length > 0;
  }

  /** Gives the lease up, so a restarted or another process takes over at once. */
  async release(): Promise<void> {
    await sql`
      update ${sql.table(this.table)} set owner = null, lease_until = null, updated_at = now()
       where name = ${this.name} and owner = ${this.owner}`.execute(this.db);
  }
}
