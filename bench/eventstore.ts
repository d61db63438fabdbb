/**
 * Event store benchmark on server PostgreSQL: `npm run bench:eventstore` (not part of `npm test`).
 *
 * In a fresh scratch database (dropped at the end) it measures:
 *  1. appends/s through PostgresEventStore, each append preceded by readStream (as a command
 *     does), N concurrent writers, each cycling over its own streams;
 *  2. the SQL ceiling for the same work: one raw `pg` transaction per append
 *     (BEGIN; SELECT max(sequence); INSERT; COMMIT) with N clients, into the same table, and a
 *     reference that reads the whole stream instead of max(sequence), i.e. the same reads as
 *     readStream (separates the cost of the workload from the cost of the adapter);
 *  3. readAll events/s page by page through the store vs a raw keyset SELECT with `pg`.
 *
 * Environment overrides: DATABASE_URL (default postgres://postgres@127.0.0.1:5432/test),
 * BENCH_APPENDS, BENCH_WARMUP, BENCH_WRITERS, BENCH_STREAMS_PER_WRITER, BENCH_POOL,
 * BENCH_READ_BATCH, BENCH_READ_PASSES, BENCH_ROUNDS, BENCH_PHASE_WARMUP.
 *
 * Besides the rates it reports CPU time per append, of this process and of the scratch
 * database's backends (read from /proc, so only when PostgreSQL runs on this machine): the
 * machine is shared, and CPU per operation is less sensitive to other load than a rate.
 */
import { randomUUID } from 'node:crypto';
import os from 'node:os';
import { performance } from 'node:perf_hooks';
import pg from 'pg';
import { migrate, openServerDatabase, type SqlDatabase } from '#database';
import {
  EVENT_STORE_HISTORY,
  eventStoreMigrations,
  PostgresEventStore,
  START,
  type NewEvent,
  type Position,
} from '#eventstore';
import { cpuBetween, sampleCpu } from './cpu.js';
import { createScratchDatabase } from './scratch-database.js';
import { intEnv } from './env.js';

const DATABASE_URL = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

const params = {
  appends: intEnv('BENCH_APPENDS', 10_000),
  warmup: intEnv('BENCH_WARMUP', 2_000),
  writers: intEnv('BENCH_WRITERS', 16),
  streamsPerWriter: intEnv('BENCH_STREAMS_PER_WRITER', 500),
  readBatch: intEnv('BENCH_READ_BATCH', 1000),
  readPasses: intEnv('BENCH_READ_PASSES', 5),
  rounds: intEnv('BENCH_ROUNDS', 4),
  phaseWarmup: intEnv('BENCH_PHASE_WARMUP', 500),
};
const poolSize = intEnv('BENCH_POOL', params.writers + 4);
if (poolSize < params.writers) throw new Error(`BENCH_POOL (${poolSize}) must be at least BENCH_WRITERS (${params.writers})`);

// ---------------------------------------------------------------------------------------------

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
  /** CPU seconds over the measurement, when known. */
  nodeCpu?: number;
  postgresCpu?: number;
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
// CPU accounting: this process (process.cpuUsage) and the scratch database's backends (/proc)

// (sampleCpu and cpuBetween: bench/cpu.ts)

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

type RawRead = (client: pg.Client, stream: string) => Promise<number>;

/** The revision only: what a hand-written minimal version of an append reads. */
const readMax: RawRead = async (client, stream) => {
  const { rows } = await client.query<{ v: number }>(CEILING_SELECT, [stream]);
  return rows[0]!.v;
};

const FULL_STREAM_SELECT = `select transaction_id::text, global_seq::text, id, stream, sequence, type, data, metadata, created_at
  from eventstore.events where stream = $1 order by sequence`;

/** The whole stream, the same rows and columns readStream returns: the same work a command does. */
const readWholeStream: RawRead = async (client, stream) => {
  const { rows } = await client.query<{ sequence: number }>(FULL_STREAM_SELECT, [stream]);
  return rows.length === 0 ? 0 : rows[rows.length - 1]!.sequence;
};

function ceilingAppender(kind: string, clients: pg.Client[], streamsPerWriter: number, read: RawRead) {
  return async (worker: number, n: number) => {
    const client = clients[worker]!;
    const stream = streamName(kind, worker, n % streamsPerWriter);
    const event = makeEvent(stream, n);
    await client.query('BEGIN');
    try {
      const current = await read(client, stream);
      await client.query(CEILING_INSERT, [stream, current + 1, event.type, JSON.stringify(event.data), JSON.stringify(event.metadata)]);
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

function loadAverage(): string {
  return os
    .loadavg()
    .map((l) => l.toFixed(2))
    .join(' ');
}

function cpuCell(us: number): string {
  return Number.isFinite(us) ? fmt(us) : 'n/a';
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
  const scratch = await createScratchDatabase('bench_eventstore', DATABASE_URL);
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
    console.log(`  OS:         ${os.type()} ${os.release()} ${os.arch()}, load average ${loadAverage()} at the start`);
    console.log(`  Node:       ${process.version}`);
    console.log(`  PostgreSQL: ${versionRows[0]!.version}`);
    console.log(`  Settings:   ${settings.rows.map((s) => `${s.name}=${s.setting}${s.unit ? ` (${s.unit})` : ''}`).join(', ')}`);
    console.log('Parameters');
    console.log(`  database:   ${scratch.name} (scratch, dropped at the end) on ${new URL(DATABASE_URL).host}`);
    console.log(
      `  appends:    ${params.appends} measured per side per round, ${params.rounds} rounds, after ${params.warmup} warm-up per side; ` +
        `${params.writers} writers x ${params.streamsPerWriter} streams each, adapter pool ${poolSize}`,
    );
    console.log(`  event:      ${JSON.stringify(makeEvent(streamName('adapter', 0, 0), 0)).length} bytes of JSON (type, data, metadata)`);
    console.log(`  readAll:    limit ${params.readBatch} per page, ${params.readPasses} pass(es) per side over the whole log\n`);

    // ---- Appends ----------------------------------------------------------------------------
    const sides = [
      { key: 'adapter', label: 'append via PostgresEventStore (readStream + append)', op: adapterAppender(store, params.streamsPerWriter) },
      {
        key: 'ceiling',
        label: 'append ceiling (raw pg: BEGIN; SELECT max(sequence); INSERT; COMMIT)',
        op: ceilingAppender('ceiling', clients, params.streamsPerWriter, readMax),
      },
      {
        key: 'reference',
        label: 'append reference (raw pg: BEGIN; SELECT whole stream; INSERT; COMMIT)',
        op: ceilingAppender('reference', clients, params.streamsPerWriter, readWholeStream),
      },
    ] as const;
    const runs = new Map<string, Measurement[]>(sides.map((side) => [side.key, []]));
    for (const side of sides) await runConcurrent(params.writers, params.warmup, side.op);
    console.log('Append rounds (appends/s)');
    for (let round = 0; round < params.rounds; round++) {
      // Rotate the order so no side always runs on the biggest table; checkpoint first so each
      // side starts with the same full-page-write debt (needs superuser or pg_checkpoint).
      const order = sides.map((_, i) => sides[(i + round) % sides.length]!);
      const line: string[] = [];
      for (const side of order) {
        await admin.query('checkpoint').catch(() => undefined);
        // A short unmeasured run first: the pool may have closed idle connections meanwhile.
        await runConcurrent(params.writers, params.phaseWarmup, side.op);
        const before = await sampleCpu(admin);
        const m = await runConcurrent(params.writers, params.appends, side.op);
        const cpu = cpuBetween(before, await sampleCpu(admin));
        m.nodeCpu = cpu.node;
        m.postgresCpu = cpu.postgres;
        runs.get(side.key)!.push(m);
        line.push(`${side.key} ${fmt(m.ops / m.seconds)}`);
      }
      console.log(`  round ${round + 1}: ${line.join(', ')}`);
    }

    const summarize = (ms: Measurement[]) => {
      const ops = ms.reduce((s, m) => s + m.ops, 0);
      const seconds = ms.reduce((s, m) => s + m.seconds, 0);
      const lat = ms.flatMap((m) => m.latenciesMs).sort((x, y) => x - y);
      const nodeCpu = ms.reduce((s, m) => s + (m.nodeCpu ?? NaN), 0);
      const postgresCpu = ms.reduce((s, m) => s + (m.postgresCpu ?? NaN), 0);
      // microseconds of CPU per append
      return { rate: ops / seconds, p50: percentile(lat, 50), p99: percentile(lat, 99), nodeUs: (nodeCpu / ops) * 1e6, postgresUs: (postgresCpu / ops) * 1e6 };
    };
    const adapter = summarize(runs.get('adapter')!);
    const ceiling = summarize(runs.get('ceiling')!);
    const reference = summarize(runs.get('reference')!);

    const { rows: depthRows } = await admin.query<{ avg: string; max: number }>(
      `select round(avg(n), 1)::text as avg, max(n)::int as max
       from (select count(*) as n from eventstore.events where stream like 'adapter-%' group by stream) s`,
    );
    console.log(`  stream depth at the end (adapter side): ${depthRows[0]!.avg} events on average, ${depthRows[0]!.max} at most`);

    // ---- readAll ----------------------------------------------------------------------------
    const { rows: countRows } = await admin.query<{ n: string }>('select count(*)::text as n from eventstore.events');
    const logSize = Number(countRows[0]!.n);
    await admin.query('vacuum analyze eventstore.events');
    await readAllThroughStore(store, params.readBatch); // warm-up: caches, plans, JIT of the mapping code
    await readAllRaw(admin, params.readBatch);
    const reads = { store: { events: 0, seconds: 0 }, raw: { events: 0, seconds: 0 } };
    const passLines: string[] = [];
    for (let pass = 0; pass < params.readPasses; pass++) {
      const order = pass % 2 === 0 ? (['store', 'raw'] as const) : (['raw', 'store'] as const);
      const line: string[] = [];
      for (const side of order) {
        const t0 = performance.now();
        const n = side === 'store' ? await readAllThroughStore(store, params.readBatch) : await readAllRaw(admin, params.readBatch);
        const seconds = (performance.now() - t0) / 1000;
        if (n !== logSize) throw new Error(`${side} read ${n} events, the log has ${logSize}`);
        reads[side].events += n;
        reads[side].seconds += seconds;
        line.push(`${side} ${fmt(n / seconds)}`);
      }
      passLines.push(`  pass ${pass + 1}: ${line.join(', ')}`);
    }
    console.log(`readAll passes over ${fmt(logSize)} events (events/s)`);
    console.log(passLines.join('\n'));
    const storeReadRate = reads.store.events / reads.store.seconds;
    const rawReadRate = reads.raw.events / reads.raw.seconds;

    console.log('\nResults (rates over all rounds / passes)\n');
    console.log(
      table(
        ['Measure', 'per second', 'p50 ms', 'p99 ms', 'vs ceiling', 'CPU us/op node', 'CPU us/op postgres'],
        [
          ...sides.map((side, i) => {
            const r = [adapter, ceiling, reference][i]!;
            return [side.label, fmt(r.rate), fmt(r.p50, 2), fmt(r.p99, 2), pct(r.rate / ceiling.rate), cpuCell(r.nodeUs), cpuCell(r.postgresUs)];
          }),
          [`readAll via PostgresEventStore (events, limit ${params.readBatch})`, fmt(storeReadRate), '', '', pct(storeReadRate / rawReadRate), '', ''],
          [`readAll ceiling (raw pg keyset SELECT, events, limit ${params.readBatch})`, fmt(rawReadRate), '', '', '100 %', '', ''],
        ],
      ),
    );
    console.log(`\nAppend ratio adapter/ceiling:   ${pct(adapter.rate / ceiling.rate)} (target >= 70 %)`);
    console.log(`Append ratio adapter/reference: ${pct(adapter.rate / reference.rate)} (same reads as readStream)`);
    const cpuPerOp = (r: typeof adapter) => r.nodeUs + r.postgresUs;
    if (Number.isFinite(cpuPerOp(adapter)) && Number.isFinite(cpuPerOp(ceiling))) {
      console.log(
        `CPU per append (node + postgres): adapter ${fmt(cpuPerOp(adapter))} us, ceiling ${fmt(cpuPerOp(ceiling))} us, ` +
          `reference ${fmt(cpuPerOp(reference))} us; ceiling/adapter = ${pct(cpuPerOp(ceiling) / cpuPerOp(adapter))}`,
      );
    }
    console.log(`readAll ratio adapter/ceiling:  ${pct(storeReadRate / rawReadRate)}`);
    console.log(`Load average at the end: ${loadAverage()} (other processes on this machine skew the numbers)`);
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
