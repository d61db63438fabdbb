import { sql, type Kysely } from 'kysely';
import type { Position } from '#eventstore';

/**
 * The notifier's checkpoint row, with a lease: only the process holding the lease follows the
 * store and sends, so two server processes on one PostgreSQL never send the same code twice.
 * The lease is held for `leaseMs` after each renewal (renew at least every leaseMs / 3); a
 * process that stops releases it, one that dies loses it when it runs out. All times are the
 * database's clock (`now()`), so the processes' clocks do not matter.
 */
export class NotifierCheckpoint {
  constructor(
    private readonly db: Kysely<any>,
    private readonly name: string,
    private readonly owner: string,
    private readonly leaseMs: number,
  ) {}

  private get leaseUntil() {
    return sql`now() + make_interval(secs => ${this.leaseMs / 1000}::double precision)`;
  }

  /** Takes the lease if it is free, ours, or ran out; returns the checkpoint, or undefined when another process holds it. */
  async acquire(): Promise<Position | undefined> {
    await sql`
      insert into notification.notifier_checkpoints (name) values (${this.name})
      on conflict (name) do nothing`.execute(this.db);
    const { rows } = await sql<{ position: string }>`
      update notification.notifier_checkpoints
         set owner = ${this.owner}, lease_until = ${this.leaseUntil}, updated_at = now()
       where name = ${this.name} and (owner is null or owner = ${this.owner} or lease_until < now())
       returning position`.execute(this.db);
    return rows[0]?.position;
  }

  /** Extends the lease; false when it is no longer ours (it ran out and another process took it). */
  async renew(): Promise<boolean> {
    const { rows } = await sql`
      update notification.notifier_checkpoints
         set lease_until = ${this.leaseUntil}, updated_at = now()
       where name = ${this.name} and owner = ${this.owner}
       returning 1 as ok`.execute(this.db);
    return rows.length > 0;
  }

  /**
   * Moves the checkpoint forward to `position` (never backwards: compared with `<`, byte order)
   * and extends the lease. False when the lease is no longer ours: nothing is written.
   */
  async save(position: Position): Promise<boolean> {
    const { rows } = await sql`
      update notification.notifier_checkpoints
         set position = case when position < ${position} then ${position} else position end,
             lease_until = ${this.leaseUntil}, updated_at = now()
       where name = ${this.name} and owner = ${this.owner}
       returning 1 as ok`.execute(this.db);
    return rows.length > 0;
  }

  /** Gives the lease up, so a restarted or another process takes over at once. */
  async release(): Promise<void> {
    await sql`
      update notification.notifier_checkpoints set owner = null, lease_until = null, updated_at = now()
       where name = ${this.name} and owner = ${this.owner}`.execute(this.db);
  }

  /** The stored checkpoint (START when there is none), for status and tests. */
  static async read(db: Kysely<any>, name: string): Promise<Position> {
    const { rows } = await sql<{ position: string }>`
      select position from notification.notifier_checkpoints where name = ${name}`.execute(db);
    return rows[0]?.position ?? '';
  }
}
