/**
 * Replay benchmark on server PostgreSQL: `npm run bench:replay` (not part of `npm test`).
 *
 * In a fresh scratch database (dropped at the end, also on Ctrl-C) it
 *  1. seeds BENCH_USERS users × 5 events (default 40,000 × 5 = 200,000 events): human added,
 *     email changed, email verified, OTP Email added, then OTP Email removed (every other user)
 *     or an OTP check; the users' events are interleaved (2,000 users "active" at a time, the
 *     next event from a random one of them, seeded), as a live system writes them. Seeding is a
 *     bulk INSERT into eventstore.events (10,000 rows per statement): appending one event at a
 *     time through the store runs at about 4,000 events/s (docs/benchmarks.md), 50 s for
 *     200,000, and would measure the store, not the replay. The rows are what an append
 *     writes (stream, sequence, type, data, metadata, created_at; the position from the
 *     writing transaction and the identity column).
 *  2. runs `projections replay users` (replayProjection, what the CLI runs in direct mode)
 *     BENCH_ROUNDS times (default 3): from position zero into a new version, switch included;
 *     reports events/s of the build and of the whole replay, and CPU per event (this process +
 *     the database's backends, from /proc when PostgreSQL runs on this machine);
 *  3. for contrast, the reducers one event at a time (no batch fold) over the first
 *     BENCH_ONE_BY_ONE events (default 50,000) into scratch tables;
 *  4. checks the result: `projections verify users` (a third build, compared row by row).
 *
 * Environment: DATABASE_URL (default postgres://postgres@127.0.0.1:5432/test), BENCH_USERS,
 * BENCH_ROUNDS, BENCH_BATCH (events per transaction, default 5,000), BENCH_ONE_BY_ONE (0: skip).
 */
import { randomBytes, randomUUID } from 'node:crypto';
import os from 'node:os';
import { performance } from 'node:perf_hooks';
import { sql } from 'kysely';
import pg from 'pg';
import { migrate, openServerDatabase, type SqlDatabase } from '#database';
import { EVENT_STORE_HISTORY, eventStoreMigrations, PostgresEventStore } from '#eventstore';
import { createLogger } from '#logging';
import { replayProjection, verifyProjection, type OperationDeps } from '#projections/operations';
import { migrateProjections, ProjectionRunner } from '#projections/runner';
import { userProjections } from '#projections/users';
import { cpuBetween, sampleCpu } from './cpu.js';
import { intEnv } from './env.js';

const DATABASE_URL = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

const params = {
  users: intEnv('BENCH_USERS', 40_000),
  rounds: intEnv('BENCH_ROUNDS', 3),
  batch: intEnv('BENCH_BATCH', 5_000),
  oneByOne: intEnv('BENCH_ONE_BY_ONE', 50_000, 0),
};
const EVENTS_PER_USER = 5;
const ACTIVE_USERS = 2_000;
const SEED_CHUNK = 10_000;

// ---------------------------------------------------------------------------------------------
// CPU accounting (as bench/eventstore.ts): this process, and the scratch database's backends.

// (sampleCpu and cpuBetween: bench/cpu.ts)

// ---------------------------------------------------------------------------------------------
// Seeding

function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const ORG = '100000000000000001';

function userEvent(n: number, step: number): { type: string; data: Record<string, unknown> } {
  switch (step) {
    case 0:
      return {
        type: 'user.human.added',
        data: {
          username: `user${n}`,
          orgId: ORG,
          profile: { givenName: `Given${n}`, familyName: `Family${n}`, displayName: `User ${n}`, preferredLanguage: 'en' },
          email: `user${n}@example.com`,
        },
      };
    case 1:
      return { type: 'user.email.changed', data: { email: `user${n}@mail.example.com` } };
    case 2:
      return { type: 'user.email.verified', data: { email: `user${n}@mail.example.com` } };
    case 3:
      return { type: 'user.otp.email.added', data: {} };
    default:
      return n % 2 === 0 ? { type: 'user.otp.email.removed', data: {} } : { type: 'user.otp.email.check.succeeded', data: {} };
  }
}

async function seed(client: pg.Client, users: number): Promise<{ events: number; seconds: number }> {
  const random = prng(42);
  const next = new Map<number, number>();
  const active: number[] = [];
  let created = 0;
  let rows: unknown[] = [];
  let events = 0;
  const started = performance.now();
  const flush = async () => {
    if (rows.length === 0) return;
    await client.query(
      `insert into eventstore.events (stream, sequence, type, data, metadata, created_at)
       select r.stream, r.sequence, r.type, r.data, r.metadata, r.created_at
       from jsonb_to_recordset($1::jsonb) as r(stream text, sequence int, type text, data jsonb, metadata jsonb, created_at timestamptz)`,
      [JSON.stringify(rows)],
    );
    rows = [];
  };
  const base = Date.now() - 3_600_000;
  while (created < users || active.length > 0) {
    if (created < users && active.length < ACTIVE_USERS) {
      active.push(++created);
      next.set(created, 0);
      continue;
    }
    const i = Math.floor(random() * active.length);
    const n = active[i]!;
    const step = next.get(n)!;
    const userId = `2${String(n).padStart(17, '0')}`;
    const { type, data } = userEvent(n, step);
    rows.push({
      stream: `user-${userId}`,
      sequence: step + 1,
      type,
      data,
      metadata: { instanceId: 'instance-1', resourceOwner: ORG, editor: 'system', correlationId: randomUUID() },
      created_at: new Date(base + events).toISOString(),
    });
    events++;
    if (step + 1 === EVENTS_PER_USER) {
      active.splice(i, 1);
      next.delete(n);
    } else {
      next.set(n, step + 1);
    }
    if (rows.length >= SEED_CHUNK) await flush();
  }
  await flush();
  return { events, seconds: (performance.now() - started) / 1000 };
}

// ---------------------------------------------------------------------------------------------

const fmt = (n: number) => Math.round(n).toLocaleString('en-US');
const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

async function main(): Promise<void> {
  const name = `bench_replay_${randomBytes(6).toString('hex')}`;
  const admin = new pg.Client({ connectionString: DATABASE_URL });
  await admin.connect();
  await admin.query(`create database ${pg.escapeIdentifier(name)}`);
  const url = new URL(DATABASE_URL);
  url.pathname = `/${name}`;
  let database: SqlDatabase | undefined;
  let dropped = false;
  const drop = async () => {
    if (dropped) return;
    dropped = true;
    await database?.close().catch(() => undefined);
    await admin.query(`drop database if exists ${pg.escapeIdentifier(name)} with (force)`).catch(() => undefined);
    await admin.end().catch(() => undefined);
  };
  process.once('SIGINT', () => {
    console.log('\ninterrupted: dropping the scratch database');
    void drop().then(() => process.exit(130));
  });

  try {
    const { rows: version } = await admin.query<{ v: string }>('select version() as v');
    console.log(`replay benchmark: ${params.users * EVENTS_PER_USER} events (${params.users} users × ${EVENTS_PER_USER}), batch ${params.batch}, ${params.rounds} rounds`);
    console.log(`machine: ${os.cpus()[0]?.model ?? 'cpu'} × ${os.cpus().length}, ${(os.totalmem() / 2 ** 30).toFixed(1)} GiB, Node ${process.version}, ${version[0]!.v.split(' on ')[0]}`);
    console.log(`load average at start: ${os.loadavg().map((l) => l.toFixed(2)).join(' ')}`);

    database = openServerDatabase({ connectionString: url.toString(), maxConnections: 10, applicationName: 'bench-replay' });
    await migrate(database.db, EVENT_STORE_HISTORY, eventStoreMigrations);
    await migrateProjections(database.db, userProjections);
    const store = new PostgresEventStore(database);
    const deps: OperationDeps = { database, store, logger: createLogger('warn') };

    const seedClient = new pg.Client({ connectionString: url.toString() });
    await seedClient.connect();
    const seeded = await seed(seedClient, params.users);
    await seedClient.query('vacuum analyze eventstore.events');
    await seedClient.end();
    console.log(`seeded ${fmt(seeded.events)} events in ${seeded.seconds.toFixed(1)} s (bulk INSERT, ${fmt(seeded.events / seeded.seconds)} events/s)`);

    const builds: number[] = [];
    const totals: number[] = [];
    for (let round = 1; round <= params.rounds; round++) {
      await admin.query('checkpoint');
      const before = await sampleCpu(admin, name);
      const result = await replayProjection(deps, 'users', { batchSize: params.batch });
      const after = await sampleCpu(admin, name);
      const cpu = cpuBetween(before, after);
      builds.push(result.rate);
      totals.push(result.events / result.seconds);
      const perEvent = (s: number | undefined) => (s === undefined ? 'n/a' : (s * 1e6 / result.events).toFixed(1));
      console.log(
        `replay ${round}: version ${result.version}, ${fmt(result.events)} events; build ${fmt(result.rate)} events/s; ` +
          `whole replay (drop of old versions, build, switch) ${result.seconds.toFixed(2)} s = ${fmt(result.events / result.seconds)} events/s; ` +
          `CPU µs/event node ${perEvent(cpu.node)} + postgres ${perEvent(cpu.postgres)}`,
      );
    }
    console.log(`RESULT replay build: median ${fmt(median(builds))} events/s (min ${fmt(Math.min(...builds))}, max ${fmt(Math.max(...builds))}); whole replay median ${fmt(median(totals))} events/s`);

    if (params.oneByOne > 0) {
      const suffix = 'bench_one_by_one';
      await userProjections.createTables(database.db, { scratch: suffix });
      const { projection } = userProjections.forScratch(suffix);
      const until = (await store.readAll({ limit: params.oneByOne })).at(-1)!.position;
      const runner = new ProjectionRunner({ ...projection, applyBatch: undefined }, { store, db: database.db, logger: deps.logger, batchSize: params.batch });
      const started = performance.now();
      await runner.catchUp({ until });
      const seconds = (performance.now() - started) / 1000;
      console.log(`for contrast, the reducers one event at a time (one or two statements per event), first ${fmt(params.oneByOne)} events: ${fmt(params.oneByOne / seconds)} events/s`);
      await userProjections.dropTables(database.db, { scratch: suffix });
    }

    const verified = await verifyProjection(deps, 'users');
    console.log(
      `verify: ${verified.equal ? 'equal' : 'DIFFERENT'} (${verified.tables.map((t) => `${t.table} ${fmt(t.liveRows)} rows`).join(', ')}) in ${verified.seconds.toFixed(1)} s`,
    );
    const { rows: counts } = await sql<{ users: string; otp: string }>`
      select (select count(*) from ${sql.table(verified.tables[0]!.table)})::text as users,
             (select count(*) from ${sql.table(verified.tables[1]!.table)})::text as otp`.execute(database.db);
    console.log(`read model: ${counts[0]!.users} users, ${counts[0]!.otp} with OTP Email`);
    console.log(`load average at end: ${os.loadavg().map((l) => l.toFixed(2)).join(' ')}`);
    if (!verified.equal) process.exitCode = 1;
  } finally {
    await drop();
  }
}

await main();
