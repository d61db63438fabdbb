import { sql, type Migration } from 'kysely';

/**
 * The event table. `transaction_id` is the writing transaction's id (xid8, 64-bit, never
 * wraps); together with `global_seq` it is the global position. docs/eventstore.md explains
 * why readers order by (transaction_id, global_seq) and stop at the oldest open transaction.
 */
export const eventStoreMigrations: Record<string, Migration> = {
  '0001_events': {
    async up(db) {
      await sql`create schema if not exists eventstore`.execute(db);
      await sql`
        create table eventstore.events (
          transaction_id xid8 not null default pg_current_xact_id(),
          global_seq bigint generated always as identity,
          id uuid not null default gen_random_uuid(),
          stream text not null,
          sequence integer not null,
          type text not null,
          data jsonb not null,
          metadata jsonb not null,
          created_at timestamptz not null,
          primary key (transaction_id, global_seq),
          constraint events_stream_sequence unique (stream, sequence),
          constraint events_sequence_positive check (sequence > 0)
        )`.execute(db);
      await sql`create index events_type on eventstore.events (type, transaction_id, global_seq)`.execute(db);
    },
    async down(db) {
      await sql`drop schema eventstore cascade`.execute(db);
    },
  },
  // The append as a function: PostgreSQL caches its plans per connection, where the same
  // statement sent unnamed was parsed and planned on every append (docs/benchmarks.md).
  // The unused type index only cost inserts.
  '0002_append_function': {
    async up(db) {
      await sql`drop index eventstore.events_type`.execute(db);
      await sql`
        create function eventstore.append(p_stream text, p_events jsonb, p_expected int)
        returns table (current int, sequence int, transaction_id text, global_seq text, created_at timestamptz)
        language plpgsql as $$
        declare v int;
        begin
          select coalesce(max(e.sequence), 0) into v from eventstore.events e where e.stream = p_stream;
          if p_expected is not null and v <> p_expected then
            return query select v, null::int, null::text, null::text, null::timestamptz;
            return;
          end if;
          return query
          insert into eventstore.events as e (stream, sequence, type, data, metadata, created_at)
          select p_stream, v + x.ord, x.ev->>'type', x.ev->'data', x.ev->'metadata',
                 date_trunc('milliseconds', statement_timestamp())
          from jsonb_array_elements(p_events) with ordinality as x(ev, ord)
          returning v, e.sequence, e.transaction_id::text, e.global_seq::text, e.created_at;
        end $$`.execute(db);
    },
    async down(db) {
      await sql`drop function eventstore.append(text, jsonb, int)`.execute(db);
      await sql`create index events_type on eventstore.events (type, transaction_id, global_seq)`.execute(db);
    },
  },
};

export const EVENT_STORE_HISTORY = 'eventstore';
