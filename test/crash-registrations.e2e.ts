import { afterAll, describe, expect, it } from '@jest/globals';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, utimesSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openEmbeddedDatabase, openServerDatabase, type SqlDatabase } from '#database';
import { createScratchDatabase, NO_SERVER_REASON, serverDatabaseUrl } from '#database/testing';
import { PostgresEventStore, type RecordedEvent } from '#eventstore';
import { eventually } from '#test-kit';
import { startServerProcess, stopServerProcess, type RunningServer } from '#test-support';

// kill -9 of the real server process while registrations are in flight, a few times, then a
// restart: no acknowledged registration may be lost, and no username may stay claimed without
// its user (a burned name answers 409 forever). The claim and the user are one multi-stream
// append, so the process can die at any moment between them.
//
// Nothing here may wait forever: the writers stop starting registrations when the kill comes
// (a refused connection fails at once, and a loop of those would never end), every request
// has a client time-out, and every promise the test awaits settles.
//
// The cost of the suite is the server's start from source (20 s and more on a busy 2-core
// machine), once per kill and once more for the checks; so one kill per store by default, and
// CRASH_KILLS=<n> for more rounds when there is time.
const WRITERS = 8;
const KILLS = Math.max(1, Math.floor(Number(process.env.CRASH_KILLS)) || 1);
/** Registrations acknowledged in a round before its kill: enough load that the kill lands mid-write. */
const ACKS_BEFORE_KILL = 25;
const REQUEST_TIMEOUT_MS = 15_000;
const LOAD_TIMEOUT_MS = 60_000;
const STOP_MS = 30_000;
const SUITE_MS = 300_000;

interface Registration {
  username: string;
  userId: string;
  /** 200: acknowledged. 'lost': the connection died, or the time-out came first: it may or may not have happened. */
  outcome?: number | 'lost';
}

const authorized = (token: string) => ({ authorization: `Bearer ${token}`, 'content-type': 'application/json' });

async function register(url: string, token: string, username: string, userId: string): Promise<number> {
  const res = await fetch(`${url}/v2/users/human`, {
    method: 'POST',
    headers: authorized(token),
    body: JSON.stringify({ userId, username, profile: { givenName: 'Ada', familyName: 'Lovelace' }, email: { email: `${username}@example.com`, isVerified: true } }),
    signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
  });
  await res.arrayBuffer();
  return res.status;
}

async function userStatus(url: string, token: string, userId: string): Promise<number> {
  const res = await fetch(`${url}/v2/users/${userId}`, { headers: authorized(token), signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) });
  await res.arrayBuffer();
  return res.status;
}

/** SIGTERM; a server that has not exited within `ms` gets SIGKILL (and the test its exit code, null). */
async function stopWithin(server: RunningServer, ms: number): Promise<number | null> {
  const timer = setTimeout(() => server.child.kill('SIGKILL'), ms);
  try {
    return await stopServerProcess(server);
  } finally {
    clearTimeout(timer);
  }
}

/** Runs `work` over `items`, `concurrency` at a time. */
async function inBatches<T>(items: readonly T[], concurrency: number, work: (item: T) => Promise<void>): Promise<void> {
  for (let i = 0; i < items.length; i += concurrency) await Promise.all(items.slice(i, i + concurrency).map(work));
}

/**
 * One round: WRITERS register distinct names with ids of their own choosing (so a registration
 * whose answer was lost can be looked up) until ACKS_BEFORE_KILL are acknowledged; then the
 * writers are told to stop, the process gets SIGKILL, and the round ends when every writer has.
 */
async function loadAndKill(server: RunningServer, token: string, round: number, registrations: Registration[]): Promise<void> {
  let stopping = false;
  let acknowledged = 0;
  let next = 0;
  const writer = async () => {
    while (!stopping) {
      const n = ++next;
      const registration: Registration = { username: `crash-${round}-${n}-${randomBytes(3).toString('hex')}`, userId: `crash${round}x${n}x${randomBytes(4).toString('hex')}` };
      registrations.push(registration);
      try {
        registration.outcome = await register(server.url, token, registration.username, registration.userId);
        if (registration.outcome === 200) acknowledged++;
      } catch {
        registration.outcome = 'lost';
      }
    }
  };
  const writers = Array.from({ length: WRITERS }, writer);
  try {
    await eventually(
      () => {
        if (acknowledged < ACKS_BEFORE_KILL) throw new Error(`round ${round}: only ${acknowledged} registrations acknowledged`);
      },
      { timeoutMs: LOAD_TIMEOUT_MS, intervalMs: 10 },
    );
  } finally {
    // The flag first: from here on no writer starts a registration; those in progress die with the process.
    stopping = true;
    server.child.kill('SIGKILL');
    await server.exited;
    await Promise.all(writers);
  }
}

/** Every event of the store, in order. */
async function allEvents(database: SqlDatabase): Promise<RecordedEvent[]> {
  const store = new PostgresEventStore(database);
  const events: RecordedEvent[] = [];
  try {
    for (let page = await store.readAll({ limit: 5000 }); page.length > 0; page = await store.readAll({ after: page.at(-1)!.position, limit: 5000 })) {
      events.push(...page);
    }
  } finally {
    await store.close();
  }
  return events;
}

/** Claim streams whose holder has no user stream with a user in it. */
function orphanedClaims(events: readonly RecordedEvent[]): string[] {
  const holders = new Map<string, string | undefined>();
  for (const e of events) {
    if (e.type === 'username.claimed') holders.set(e.stream, String(e.data.userId));
    if (e.type === 'username.released') holders.set(e.stream, undefined);
  }
  const users = new Set(events.filter((e) => e.type === 'user.human.added' || e.type === 'user.machine.added').map((e) => e.stream));
  return [...holders].filter(([, holder]) => holder !== undefined && !users.has(`user-${holder}`)).map(([stream]) => stream);
}

interface Backend {
  name: string;
  env: Record<string, string>;
  /** After each kill, before the restart. */
  beforeRestart: () => void;
  /** The store's database, opened by the test once the last server has stopped. */
  openDatabase: () => Promise<SqlDatabase>;
}

describe('registrations across kill -9 of the server process', () => {
  const cleanups: (() => Promise<void> | void)[] = [];
  afterAll(async () => {
    for (const cleanup of cleanups.reverse()) await cleanup();
  });

  const start = async (env: Record<string, string>) => {
    const server = await startServerProcess(env);
    cleanups.push(() => void (server.child.exitCode === null && server.child.kill('SIGKILL')));
    return server;
  };
  const dataDir = () => {
    const dir = mkdtempSync(join(tmpdir(), 'crash-registrations-'));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    return dir;
  };

  function embedded(): Backend {
    const dir = dataDir();
    return {
      name: 'embedded',
      env: { DATA_DIR: dir, ENCRYPTION_KEY: randomBytes(32).toString('base64') },
      // The dead process's lock on DATA_DIR goes stale 15 s after its last refresh; rather than
      // wait that long, the test ages it, as the clock would.
      beforeRestart: () => {
        const lock = join(dir, 'pg.lock');
        const past = new Date(Date.now() - 60_000);
        if (existsSync(lock)) utimesSync(lock, past, past);
      },
      openDatabase: () => openEmbeddedDatabase({ dataDir: dir }),
    };
  }

  async function serverPostgres(): Promise<Backend> {
    const scratch = await createScratchDatabase('crashreg');
    cleanups.push(scratch.drop);
    return {
      name: 'server PostgreSQL',
      env: { DATA_DIR: dataDir(), DATABASE_URL: scratch.url, ENCRYPTION_KEY: randomBytes(32).toString('base64') },
      beforeRestart: () => undefined,
      openDatabase: async () => openServerDatabase({ connectionString: scratch.url, maxConnections: 2 }),
    };
  }

  /**
   * KILLS rounds of load and kill -9, then a last start that checks: every acknowledged user is
   * there, and every name that was in flight at a kill is a user or can be registered again;
   * then, with the server stopped, that the store holds no claim without its user.
   */
  async function crashAndCheck({ name, env, beforeRestart, openDatabase }: Backend): Promise<void> {
    const token = () => readFileSync(join(env.DATA_DIR!, 'admin.pat'), 'utf8').trim();
    const registrations: Registration[] = [];
    for (let round = 1; round <= KILLS; round++) {
      const server = await start(env);
      await loadAndKill(server, token(), round, registrations);
      beforeRestart();
    }

    const server = await start(env);
    const acknowledged = registrations.filter((r) => r.outcome === 200);
    const inFlight = registrations.filter((r) => r.outcome !== 200);
    // A definite refusal is a bug of its own (the names are distinct and valid); only lost answers are expected.
    expect(inFlight.filter((r) => r.outcome !== 'lost')).toEqual([]);
    expect(acknowledged.length).toBeGreaterThanOrEqual(KILLS * ACKS_BEFORE_KILL);
    expect(inFlight.length).toBeGreaterThan(0);

    // No acknowledged registration lost.
    const missing: Registration[] = [];
    await inBatches(acknowledged, WRITERS, async (r) => {
      if ((await userStatus(server.url, token(), r.userId)) !== 200) missing.push(r);
    });
    expect(missing).toEqual([]);

    // No burned name: a registration cut off by the kill either happened (its user is there) or
    // left nothing, and then the name can be registered again, by another user.
    const burned: { username: string; status: number }[] = [];
    let committed = 0;
    await inBatches(inFlight, WRITERS, async (r) => {
      const status = await userStatus(server.url, token(), r.userId);
      if (status === 200) {
        committed++;
        return;
      }
      expect(status).toBe(404);
      const again = await register(server.url, token(), r.username, `again${randomBytes(6).toString('hex')}`);
      if (again !== 200) burned.push({ username: r.username, status: again });
    });
    expect(burned).toEqual([]);
    expect(await stopWithin(server, STOP_MS)).toBe(0);

    // And in the store itself: no claim without its user.
    const database = await openDatabase();
    let events: RecordedEvent[];
    try {
      events = await allEvents(database);
    } finally {
      await database.close();
    }
    const orphans = orphanedClaims(events);
    expect(orphans).toEqual([]);
    console.log(
      `crash-registrations (${name}): kill -9 ×${KILLS}, ${acknowledged.length} acknowledged, ` +
        `${inFlight.length} in flight (${committed} of them committed), ${orphans.length} orphaned claims`,
    );
  }

  // The stores share nothing, so they run side by side: the wall time is that of one store's
  // starts, not of both.
  const title = serverDatabaseUrl ? 'embedded and server PostgreSQL, side by side' : `embedded only (server PostgreSQL skipped: ${NO_SERVER_REASON})`;
  it(
    `loses no acknowledged registration and burns no username: ${title}`,
    async () => {
      const backends = [Promise.resolve(embedded()), ...(serverDatabaseUrl ? [serverPostgres()] : [])];
      // Every run settles before the verdict, so a failure of one never leaves the other running.
      const results = await Promise.allSettled(backends.map(async (backend) => crashAndCheck(await backend)));
      const failure = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
      if (failure) throw failure.reason;
    },
    SUITE_MS,
  );
});
