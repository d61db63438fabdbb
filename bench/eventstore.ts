/**
 * Event store benchmark on server PostgreSQL: `npm run bench:eventstore` (not part of `npm test`).
 *
 * In a fresh scratch database (dropped at the end) it measures:
 *  1. appends/s through PostgresEventStore, each append preceded by readStream (as a command
 *     does), N concurrent writers, each cycling over its own streams;
 *  2. the SQL ceiling for the same work: one raw `pg` transaction per append
 *     (BEGIN; SELECT max(sequence); INSERT; COMMIT) with N clients, into the same table;
 *  3. readAll events/s page by page through the store vs a raw keyset SELECT with `pg`.
 *
 * Environment overrides: DATABASE_URL (default postgres://postgres@127.0.0.1:5432/test),
 * BENCH_APPENDS, BENCH_WARMUP, BENCH_WRITERS, BENCH_STREAMS_PER_WRITER, BENCH_POOL,
 * BENCH_READ_BATCH, BENCH_READ_PASSES, BENCH_ROUNDS.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import os from 'node:os';
import { performance } from 'node:perf_hooks';
import pg from 'pg';
import { migrate, openServerDatabase, type SqlDatabase } from '../libs/database/src/index.js';
import {
  EVENT_STORE_HISTORY,
  eventStoreMigrations,
  PostgresEventStore,
  START,
  type NewEvent,
  type Position,
} from '../libs/eventstore/src/index.js';

const DATABASE_URL = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

function intEnv(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value <= 0) throw new Error(`${name} must be a positive integer, got "${raw}"`);
  return value;
}

const params = {
  appends: intEnv('BENCH_APPENDS', 20_000),
  warmup: intEnv('BENCH_WARMUP', 2_000),
  writers: intEnv('BENCH_WRITERS', 16),
  streamsPerWriter: intEnv('BENCH_STREAMS_PER_WRITER', 50),
  readBatch: intEnv('BENCH_READ_BATCH', 1000),
  readPasses: intEnv('BENCH_READ_PASSES', 3),
  rounds: intEnv('BENCH_ROUNDS', 2),
};
const poolSize = intEnv('BENCH_POOL', params.writers + 4);
if (poolSize < params.writers) throw new Error(`BENCH_POOL (${poolSize}) must be at least BENCH_WRITERS (${params.writers})`);

// ---------------------------------------------------------------------------------------------
// Scratch database (same approach as libs/database/src/testing/scratch-database.ts)

async function createScratchDatabase(): Promise<{ url: string; name: string; drop: () => Promise<void> }> {
  const name = `bench_eventstore_${randomBytes(6).toString('hex')}`;
  const admin = new pg.Client({ connectionString: DATABASE_URL });
  await admin.connect();
  try {
    await admin.query(`create database ${pg.escapeIdentifier(name)}`);
  } finally {
    await admin.end();
  }
  const url = new URL(DATABASE_URL);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    name,
    async drop() {
      const client = new pg.Client({ connectionString: DATABASE_URL });
      await client.connect();
      try {
        await client.query(`drop database if exists ${pg.escapeIdentifier(name)} with (force)`);
      } finally {
        await client.end();
      }
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Workload

/** A ~200-byte event (data + metadata as JSON), shaped like a user-facing domain event. */
function makeEvent(stream: string, n: number): NewEvent {
  return {
    type: 'user.otp.email.challenged',
    data: { userId: stream, code: 'ZK3Q9X', expiry: '5m0s', urlTemplate: null, attempt: n },
    metadata: { correlationId: randomUUID(), actor: 'user-7f3a', userAgent: 'bench/1.0' },
  };
}

function streamName(kind: string, writer: number, index: number): string {
  return `${kind}-w${writer}-s${index}`;
}

interface Measurement {
  ops: number;
  seconds: number;
  latenciesMs: number[];
}

/**
 * Runs `total` operations with `workers` concurrent loops; operation i of worker w gets a
 * worker-local counter so each worker cycles over its own streams.
 */
async function runConcurrent(workers: number, total: number, op: (worker: number, n: number) => Promise<void>): Promise<Measurement> {
  let issued = 0;
  const latenciesMs: number[] = [];
  const started = performance.now();
  await Promise.all(
    Array.from({ length: workers }, async (_, worker) => {
      let n = 0;
      while (issued < total) {
        issued++;
        const t0 = performance.now();
        await op(worker, n++);
        latenciesMs.push(performance.now() - t0);
      }
    }),
  );
  return { ops: total, seconds: (performance.now() - started) / 1000, latenciesMs };
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

// ---------------------------------------------------------------------------------------------
// Appends

function adapterAppender(store: PostgresEventStore, streamsPerWriter: number) {
  return async (worker: number, n: number) => {
    const stream = streamName('adapter', worker, n % streamsPerWriter);
    const events = await store.readStream(stream);
    const revision = events.length === 0 ? 'no_stream' : events[events.length - 1]!.sequence;
    await store.append(stream, [makeEvent(stream, n)], revision);
  };
}

const CEILING_SELECT = 'select coalesce(max(sequence), 0)::int as v from eventstore.events where stream = $1';
const CEILING_INSERT = `insert into eventstore.events (stream, sequence, type, data, metadata, created_at)
  values ($1, $2, $3, $4, $5, date_trunc('milliseconds', statement_timestamp()))`;

function ceilingAppender(clients: pg.Client[], streamsPerWriter: number) {
  return async (worker: number, n: number) => {
    const client = clients[worker]!;
    const stream = streamName('ceiling', worker, n % streamsPerWriter);
    const event = makeEvent(stream, n);
    await client.query('BEGIN');
    try {
      const { rows } = await client.query<{ v: number }>(CEILING_SELECT, [stream]);
      const next = rows[0]!.v + 1;
      await client.query(CEILING_INSERT, [stream, next, event.type, JSON.stringify(event.data), JSON.stringify(event.metadata)]);
      await client.query('COMMIT');
    } catch (err) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw err;
    }
  };
}

// ---------------------------------------------------------------------------------------------
// readAll

async function readAllThroughStore(store: PostgresEventStore, batch: number): Promise<number> {
  let after: Position = START;
  let total = 0;
  for (;;) {
    const page = await store.readAll({ after, limit: batch });
    if (page.length === 0) return total;
    total += page.length;
    after = page[page.length - 1]!.position;
  }
}

const RAW_READ = `select transaction_id::text, global_seq::text, id, stream, sequence, type, data, metadata, created_at
  from eventstore.events e
  where (e.transaction_id, e.global_seq) > ($1::xid8, $2::bigint)
  order by e.transaction_id, e.global_seq
  limit $3`;

async function readAllRaw(client: pg.Client, batch: number): Promise<number> {
  let transactionId = '0';
  let globalSeq = '0';
  let total = 0;
  for (;;) {
    const { rows } = await client.query<{ transaction_id: string; global_seq: string }>(RAW_READ, [transactionId, globalSeq, batch]);
    if (rows.length === 0) return total;
    total += rows.length;
    const last = rows[rows.length - 1]!;
    transactionId = last.transaction_id;
    globalSeq = last.global_seq;
  }
}

// ---------------------------------------------------------------------------------------------
// Reporting

function fmt(n: number, digits = 0): string {
  return n.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
}

function pct(ratio: number): string {
  return `${(ratio * 100).toFixed(1)} %`;
}

function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) => '| ' + cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join(' | ') + ' |';
  return [line(header), '|' + widths.map((w, i) => (i === 0 ? '-'.repeat(w + 2) : '-'.repeat(w + 1) + ':')).join('|') + '|', ...rows.map(line)].join('\n');
}

async function main(): Promise<void> {
  const scratch = await createScratchDatabase();
  let database: SqlDatabase | undefined;
  const clients: pg.Client[] = [];
  const onSignal = () => {
    void scratch.drop().finally(() => process.exit(130));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    database = openServerDatabase({ connectionString: scratch.url, maxConnections: poolSize, applicationName: 'bench-eventstore' });
    await migrate(database.db, EVENT_STORE_HISTORY, eventStoreMigrations);
    const store = new PostgresEventStore(database);
    for (let i = 0; i < params.writers; i++) {
      const client = new pg.Client({ connectionString: scratch.url, application_name: 'bench-eventstore-raw' });
      await client.connect();
      clients.push(client);
    }
    const admin = clients[0]!;

    const { rows: versionRows } = await admin.query<{ version: string }>('select version()');
    const settings = await admin.query<{ name: string; setting: string; unit: string | null }>(
      `select name, setting, unit from pg_settings
       where name in ('synchronous_commit', 'fsync', 'wal_sync_method', 'commit_delay', 'shared_buffers', 'max_wal_size')
       order by name`,
    );
    const cpus = os.cpus();
    console.log('# Event store benchmark (npm run bench:eventstore)\n');
    console.log('Machine');
    console.log(`  CPU:        ${cpus[0]?.model ?? 'unknown'} (${cpus.length} logical cores)`);
    console.log(`  Memory:     ${(os.totalmem() / 2 ** 30).toFixed(1)} GiB`);
    console.log(`  OS:         ${os.type()} ${os.release()} ${os.arch()}`);
    console.log(`  Node:       ${process.version}`);
    console.log(`  PostgreSQL: ${versionRows[0]!.version}`);
    console.log(`  Settings:   ${settings.rows.map((s) => `${s.name}=${s.setting}${s.unit ? ` (${s.unit})` : ''}`).join(', ')}`);
    console.log('Parameters');
    console.log(`  database:   ${scratch.name} (scratch, dropped at the end) on ${new URL(DATABASE_URL).host}`);
    console.log(
      `  appends:    ${params.appends} measured per side per round after ${params.warmup} warm-up, ${params.rounds} round(s), ` +
        `${params.writers} writers x ${params.streamsPerWriter} streams each, adapter pool ${poolSize}`,
    );
    console.log(`  event:      ${JSON.stringify(makeEvent(streamName('adapter', 0, 0), 0)).length} bytes of JSON (type, data, metadata)`);
    console.log(`  readAll:    batch ${params.readBatch}, ${params.readPasses} pass(es) per side over the whole log\n`);

    // ---- Appends ----------------------------------------------------------------------------
    const adapterOp = adapterAppender(store, params.streamsPerWriter);
    const ceilingOp = ceilingAppender(clients, params.streamsPerWriter);
    await runConcurrent(params.writers, params.warmup, adapterOp);
    await runConcurrent(params.writers, params.warmup, ceilingOp);

    const adapterRuns: Measurement[] = [];
    const ceilingRuns: Measurement[] = [];
    for (let round = 0; round < params.rounds; round++) {
      // Alternate the order so neither side always runs on the bigger table; checkpoint first
      // so both start with the same full-page-write debt.
      const order = round % 2 === 0 ? (['adapter', 'ceiling'] as const) : (['ceiling', 'adapter'] as const);
      for (const side of order) {
        await admin.query('checkpoint');
        const m = await runConcurrent(params.writers, params.appends, side === 'adapter' ? adapterOp : ceilingOp);
        (side === 'adapter' ? adapterRuns : ceilingRuns).push(m);
        console.log(`  round ${round + 1} ${side.padEnd(7)} ${fmt(m.ops / m.seconds)} appends/s`);
      }
    }

    const summarize = (runs: Measurement[]) => {
      const ops = runs.reduce((s, m) => s + m.ops, 0);
      const seconds = runs.reduce((s, m) => s + m.seconds, 0);
      const lat = runs.flatMap((m) => m.latenciesMs).sort((a, b) => a - b);
      return { rate: ops / seconds, ops, seconds, p50: percentile(lat, 50), p99: percentile(lat, 99) };
    };
    const adapter = summarize(adapterRuns);
    const ceiling = summarize(ceilingRuns);

    // ---- readAll ----------------------------------------------------------------------------
    const { rows: countRows } = await admin.query<{ n: string }>('select count(*)::text as n from eventstore.events');
    const logSize = Number(countRows[0]!.n);
    await admin.query('vacuum analyze eventstore.events');
    await readAllThroughStore(store, params.readBatch); // warm-up: caches, plans
    await readAllRaw(admin, params.readBatch);
    let storeRead = { events: 0, seconds: 0 };
    let rawRead = { events: 0, seconds: 0 };
    for (let pass = 0; pass < params.readPasses; pass++) {
      for (const side of pass % 2 === 0 ? ['store', 'raw'] : ['raw', 'store']) {
        const t0 = performance.now();
        const n = side === 'store' ? await readAllThroughStore(store, params.readBatch) : await readAllRaw(admin, params.readBatch);
        const seconds = (performance.now() - t0) / 1000;
        if (n !== logSize) throw new Error(`${side} read ${n} events, the log has ${logSize}`);
        const acc = side === 'store' ? storeRead : rawRead;
        if (side === 'store') storeRead = { events: acc.events + n, seconds: acc.seconds + seconds };
        else rawRead = { events: acc.events + n, seconds: acc.seconds + seconds };
      }
    }
    const storeReadRate = storeRead.events / storeRead.seconds;
    const rawReadRate = rawRead.events / rawRead.seconds;

    console.log('\nResults\n');
    console.log(
      table(
        ['Measure', 'ops/s', 'p50 ms', 'p99 ms', 'vs ceiling'],
        [
          ['append via PostgresEventStore (readStream + append)', fmt(adapter.rate), fmt(adapter.p50, 2), fmt(adapter.p99, 2), pct(adapter.rate / ceiling.rate)],
          ['append ceiling (raw pg: BEGIN; SELECT max; INSERT; COMMIT)', fmt(ceiling.rate), fmt(ceiling.p50, 2), fmt(ceiling.p99, 2), '100 %'],
          [`readAll via PostgresEventStore (events/s, batch ${params.readBatch})`, fmt(storeReadRate), '', '', pct(storeReadRate / rawReadRate)],
          [`readAll ceiling (raw pg keyset SELECT, events/s)`, fmt(rawReadRate), '', '', '100 %'],
        ],
      ),
    );
    console.log(`\nLog size for readAll: ${fmt(logSize)} events.`);
    console.log(`Append ratio adapter/ceiling: ${pct(adapter.rate / ceiling.rate)} (target >= 70 %).`);
    console.log(`readAll ratio adapter/ceiling: ${pct(storeReadRate / rawReadRate)}.`);
    await store.close();
  } finally {
    // Let a coalesced NOTIFY in flight finish before the pool closes.
    await new Promise((resolve) => setTimeout(resolve, 50));
    await Promise.all(clients.map((c) => c.end().catch(() => undefined)));
    await database?.close().catch(() => undefined);
    await scratch.drop();
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
