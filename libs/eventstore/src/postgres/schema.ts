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
};

export const EVENT_STORE_HISTORY = 'eventstore';
