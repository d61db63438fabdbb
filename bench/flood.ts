import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import http from 'node:http';
import http2 from 'node:http2';
import { loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createScratchDatabase } from './scratch-database.js';
import { freePort } from './env.js';

// The cost of hostile bodies before authentication. The real server runs in a child process
// (embedded PGlite in a temporary DATA_DIR, or server PostgreSQL with FLOOD_STORE=server); CONCURRENCY clients each send, without a token,
// a 4 MB JSON body nested hundreds of thousands of levels deep, over Connect JSON, REST
// (HTTP/1.1) and Connect over h2c, ROUNDS times, while /healthz is asked every 20 ms.
// Targets: /healthz answers within 250 ms throughout, and the server's RSS grows at most
// 100 MB over its idle RSS. Loopback only; bounded in count and time.

const CONCURRENCY = Number(process.env.FLOOD_CONCURRENCY ?? 16);
const ROUNDS = Number(process.env.FLOOD_ROUNDS ?? 5);
const BODY_BYTES = 4 * 1024 * 1024 - 64;
const HEALTH_TARGET_MS = 250;
const RSS_TARGET_MB = 100;
const BASELINE_MS = 3_000;

const here = dirname(fileURLToPath(import.meta.url));
const fromDist = here.includes(`${join('dist', 'bench')}`);
const root = fromDist ? join(here, '..', '..') : join(here, '..');

function rssMb(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+)/.exec(status)![1]) / 1024;
}

function deepBody(): Buffer {
  // {"userId":"x","p":[[[[...]]]]} padded to BODY_BYTES: about 2 million levels.
  const head = '{"userId":"x","p":';
  const depth = Math.floor((BODY_BYTES - head.length - 1) / 2);
  return Buffer.from(head + '['.repeat(depth) + ']'.repeat(depth) + '}');
}

// What became of one request: its HTTP status, or how it ended without one.
type Outcome = number | 'reset' | 'closed' | 'timeout';
const REQUEST_TIMEOUT_MS = Number(process.env.FLOOD_REQUEST_TIMEOUT_MS ?? 15_000);

/**
 * One request over HTTP/1.1 on its own connection. The request is over as soon as the server
 * answers (or closes the connection): the client stops writing and destroys the socket, as a
 * well-behaved client does when refused; the rest of the 4 MB is never sent. A request that
 * gets neither within REQUEST_TIMEOUT_MS is counted as a timeout.
 */
function post1(port: number, path: string, body: Buffer): Promise<Outcome> {
  return new Promise((resolve) => {
    let done = false;
    const finish = (outcome: Outcome) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      req.destroy();
      resolve(outcome);
    };
    const req = http.request({ host: '127.0.0.1', port, path, method: 'POST', agent: false, headers: { 'content-type': 'application/json', 'content-length': body.length } }, (res) => {
      res.resume();
      finish(res.statusCode ?? 0);
    });
    const timer = setTimeout(() => finish('timeout'), REQUEST_TIMEOUT_MS);
    req.on('error', () => finish('closed')); // closed before an answer arrived
    req.end(body);
  });
}

/**
 * One request over h2c, on its own connection as a flooding client would open them. Over as
 * soon as the response headers arrive or the stream is reset; the session is destroyed then.
 */
function post2(port: number, path: string, body: Buffer): Promise<Outcome> {
  const session = http2.connect(`http://127.0.0.1:${port}`);
  session.on('error', () => undefined);
  return new Promise<Outcome>((resolve) => {
    let done = false;
    const finish = (outcome: Outcome) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      resolve(outcome);
    };
    const timer = setTimeout(() => finish('timeout'), REQUEST_TIMEOUT_MS);
    const stream = session.request({ ':method': 'POST', ':path': path, 'content-type': 'application/json' });
    stream.on('response', (h) => finish(Number(h[':status'])));
    stream.on('error', () => finish('reset'));
    stream.on('close', () => finish(stream.rstCode ? 'reset' : 'closed'));
    stream.resume();
    stream.end(body);
  }).finally(() => session.destroy());
}

async function health(port: number): Promise<number> {
  const started = performance.now();
  try {
    const res = await fetch(`http://127.0.0.1:${port}/healthz`, { signal: AbortSignal.timeout(10_000) });
    await res.arrayBuffer();
  } catch {
    return Infinity; // no answer within 10 s: counted as a miss, the loop goes on
  }
  return performance.now() - started;
}

const log = (msg: string) => process.stderr.write(`flood: ${msg}\n`);

async function main() {
  // Bounded in time whatever happens: the server is stopped and this process exits.
  const limit = setTimeout(() => {
    log('time limit (300 s) reached');
    process.exit(2);
  }, 300_000);
  limit.unref();
  const port = await freePort();
  const dataDir = mkdtempSync(join(tmpdir(), 'flood-'));
  const entry = fromDist ? [join(root, 'dist', 'apps', 'server', 'src', 'main.js')] : ['--conditions=source', '--import', '@swc-node/register/esm-register', 'apps/server/src/main.ts'];
  if (fromDist && !existsSync(entry[0]!)) throw new Error('run npm run build first');
  // FLOOD_STORE=server: the server on a scratch database of DATABASE_URL (dropped at the end);
  // the default is the embedded store.
  const scratch = process.env.FLOOD_STORE === 'server' ? await createScratchDatabase('bench_flood', process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test') : undefined;
  const storeEnv = scratch ? { DATABASE_URL: scratch.url, ENCRYPTION_KEY: randomBytes(32).toString('base64') } : { DATABASE_URL: '' };
  log(`store: ${scratch ? 'server PostgreSQL (scratch database)' : 'embedded PGlite'}`);
  const child = spawn(process.execPath, entry, { cwd: root, env: { ...process.env, PORT: String(port), DATA_DIR: dataDir, LOG_LEVEL: 'warn', ...storeEnv }, stdio: ['ignore', 'ignore', 'inherit'] });
  process.once('exit', () => child.kill('SIGKILL'));
  // The data directory goes once the server has exited (it writes while shutting down);
  // a server that does not exit within 10 s is killed.
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const stop = async () => {
    child.kill('SIGTERM');
    const kill = setTimeout(() => child.kill('SIGKILL'), 10_000);
    await exited;
    clearTimeout(kill);
    rmSync(dataDir, { recursive: true, force: true });
    await scratch?.drop();
  };
  try {
    const deadline = Date.now() + 120_000;
    for (;;) {
      if (Date.now() > deadline) throw new Error('the server did not start within 120 s');
      const ok = await fetch(`http://127.0.0.1:${port}/readyz`, { signal: AbortSignal.timeout(2_000) }).then((r) => r.ok, () => false);
      if (ok) break;
      await new Promise((r) => setTimeout(r, 250));
    }
    await new Promise((r) => setTimeout(r, 2_000));
    const idle = rssMb(child.pid!);
    log(`server ready on ${port}, idle RSS ${idle.toFixed(1)} MB`);
    const idleHealth = await health(port);
    // The same probe for BASELINE_MS without a flood: on a shared, loaded machine this is what
    // /healthz costs anyway, to be set against the numbers under the flood.
    const baseline: number[] = [];
    for (const until = performance.now() + BASELINE_MS; performance.now() < until; ) {
      baseline.push(await health(port));
      await new Promise((r) => setTimeout(r, 20));
    }
    baseline.sort((a, b) => a - b);

    const body = deepBody();
    let peak = idle;
    let worstHealth = 0;
    const healthSamples: number[] = [];
    let flooding = true;
    const prober = (async () => {
      while (flooding) {
        const ms = await health(port);
        healthSamples.push(ms);
        worstHealth = Math.max(worstHealth, ms);
        peak = Math.max(peak, rssMb(child.pid!));
        await new Promise((r) => setTimeout(r, 20));
      }
    })();

    const statuses = new Map<Outcome, number>();
    const started = performance.now();
    for (let round = 0; round < ROUNDS; round++) {
      const calls: Promise<Outcome>[] = [];
      for (let i = 0; i < CONCURRENCY; i++) {
        const kind = (round * CONCURRENCY + i) % 3;
        if (kind === 0) calls.push(post1(port, '/zitadel.user.v2.UserService/AddHumanUser', body));
        else if (kind === 1) calls.push(post1(port, '/v2/users/human', body));
        else calls.push(post2(port, '/zitadel.user.v2.UserService/AddHumanUser', body));
      }
      for (const status of await Promise.all(calls)) statuses.set(status, (statuses.get(status) ?? 0) + 1);
      log(`round ${round + 1}/${ROUNDS} done at ${((performance.now() - started) / 1000).toFixed(1)} s`);
    }
    const elapsed = performance.now() - started;
    flooding = false;
    await prober;
    peak = Math.max(peak, rssMb(child.pid!));

    healthSamples.sort((a, b) => a - b);
    const healthMisses = healthSamples.filter((ms) => ms === Infinity).length;
    const p99 = healthSamples[Math.floor(healthSamples.length * 0.99)] ?? 0;
    const growth = peak - idle;
    const result = {
      requests: ROUNDS * CONCURRENCY,
      concurrency: CONCURRENCY,
      bodyMB: +(body.length / 1024 / 1024).toFixed(2),
      statuses: Object.fromEntries(statuses),
      floodSeconds: +(elapsed / 1000).toFixed(2),
      healthzWithoutFlood: { p99Ms: +(baseline[Math.floor(baseline.length * 0.99)] ?? 0).toFixed(1), worstMs: +(baseline.at(-1) ?? 0).toFixed(1), samples: baseline.length },
      healthz: { idleMs: +idleHealth.toFixed(1), p99Ms: +p99.toFixed(1), worstMs: +worstHealth.toFixed(1), samples: healthSamples.length, unanswered: healthMisses },
      rssMB: { idle: +idle.toFixed(1), peak: +peak.toFixed(1), growth: +growth.toFixed(1) },
      // The machine's load (1, 5, 15 min) when the flood ended: numbers on a loaded machine say so.
      loadAverage: loadavg().map((l) => +l.toFixed(2)),
      targets: { healthzWithinMs: HEALTH_TARGET_MS, rssGrowthAtMostMB: RSS_TARGET_MB },
    };
    console.log(JSON.stringify(result, null, 2));
    const ok = worstHealth <= HEALTH_TARGET_MS && growth <= RSS_TARGET_MB && !statuses.has(500) && !statuses.has('timeout');
    console.log(ok ? 'flood: targets met' : 'flood: TARGETS MISSED');
    process.exitCode = ok ? 0 : 1;
  } finally {
    await stop();
  }
}

await main();
