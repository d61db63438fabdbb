import { sql, type Kysely } from 'kysely';
import { comparePositions, PostgresEventStore, type EventStore, type Position } from '#eventstore';
import { decodePostgresPosition } from '#eventstore';

export interface Lag {
  /** The store's newest committed position (ungated: also events still held back behind an open transaction). */
  head: Position;
  /** Events after the checkpoint. */
  events: number;
  /** True when `events` is a lower bound (counted through readAll and stopped at `maxCount`). */
  atLeast: boolean;
  /** Now − createdAt of the oldest event after the checkpoint; 0 when there is none. */
  seconds: number;
  oldestUnprocessedAt?: Date;
}

/**
 * How far a checkpoint is behind the store. With PostgresEventStore (whose events live in the
 * same database as the read models, `eventstore.events`) one count and one look-up on the
 * primary key; with another store, readAll pages (what readAll shows: held-back events are not
 * counted), up to `maxCount` events.
 */
export async function measureLag(store: EventStore, db: Kysely<any>, checkpoint: Position, options: { maxCount?: number } = {}): Promise<Lag> {
  const head = await store.headPosition();
  if (comparePositions(checkpoint, head) >= 0) return { head, events: 0, atLeast: false, seconds: 0 };
  if (store instanceof PostgresEventStore) {
    const { transactionId, globalSeq } = decodePostgresPosition(checkpoint);
    const { rows } = await sql<{ events: string; oldest: Date | null }>`
      select count(*)::text as events,
             (select e.created_at from eventstore.events e
               where (e.transaction_id, e.global_seq) > (${transactionId}::xid8, ${globalSeq}::bigint)
               order by e.transaction_id, e.global_seq limit 1) as oldest
      from eventstore.events e
      where (e.transaction_id, e.global_seq) > (${transactionId}::xid8, ${globalSeq}::bigint)`.execute(db);
    const oldest = rows[0]?.oldest ?? undefined;
    return { head, events: Number(rows[0]?.events ?? 0), atLeast: false, ...age(oldest) };
  }
  const maxCount = options.maxCount ?? 1_000_000;
  let after = checkpoint;
  let events = 0;
  let oldest: Date | undefined;
  for (;;) {
    const page = await store.readAll({ after, limit: 1000 });
    if (page.length === 0) break;
    oldest ??= page[0]!.createdAt;
    events += page.length;
    after = page[page.length - 1]!.position;
    if (events >= maxCount) return { head, events, atLeast: true, ...age(oldest) };
  }
  return { head, events, atLeast: false, ...age(oldest) };
}

function age(oldest: Date | undefined): { seconds: number; oldestUnprocessedAt?: Date } {
  if (!oldest) return { seconds: 0 };
  return { seconds: Math.max(0, (Date.now() - oldest.getTime()) / 1000), oldestUnprocessedAt: oldest };
}
