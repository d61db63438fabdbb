import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import http from 'node:http';
import http2 from 'node:http2';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

// The cost of hostile bodies before authentication. The real server runs in a child process
// (embedded PGlite in a temporary DATA_DIR); CONCURRENCY clients each send, without a token,
// a 4 MB JSON body nested hundreds of thousands of levels deep, over Connect JSON, REST
// (HTTP/1.1) and Connect over h2c, ROUNDS times, while /healthz is asked every 20 ms.
// Targets: /healthz answers within 250 ms throughout, and the server's RSS grows at most
// 100 MB over its idle RSS. Loopback only; bounded in count and time.

const CONCURRENCY = Number(process.env.FLOOD_CONCURRENCY ?? 16);
const ROUNDS = Number(process.env.FLOOD_ROUNDS ?? 5);
const BODY_BYTES = 4 * 1024 * 1024 - 64;
const HEALTH_TARGET_MS = 250;
const RSS_TARGET_MB = 100;

const here = dirname(fileURLToPath(import.meta.url));
const fromDist = here.includes(`${join('dist', 'bench')}`);
const root = fromDist ? join(here, '..', '..') : join(here, '..');

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as net.AddressInfo;
      s.close(() => resolve(port));
    });
    s.on('error', reject);
  });
}

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

function post1(port: number, path: string, body: Buffer): Promise<number> {
  return new Promise((resolve) => {
    const req = http.request({ host: '127.0.0.1', port, path, method: 'POST', headers: { 'content-type': 'application/json', 'content-length': body.length } }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', () => resolve(-1)); // the server may close the connection before the body is sent: that is the point
    req.end(body);
  });
}

function post2(port: number, path: string, body: Buffer): Promise<number> {
  // One connection per request, as a flooding client would open them.
  const session = http2.connect(`http://127.0.0.1:${port}`);
  session.on('error', () => undefined);
  return new Promise<number>((resolve) => {
    const stream = session.request({ ':method': 'POST', ':path': path, 'content-type': 'application/json' });
    let status = 0;
    stream.on('response', (h) => (status = Number(h[':status'])));
    stream.on('error', () => resolve(-1));
    stream.on('close', () => resolve(status));
    stream.resume();
    stream.end(body);
  }).finally(() => session.destroy());
}

async function health(port: number): Promise<number> {
  const started = performance.now();
  const res = await fetch(`http://127.0.0.1:${port}/healthz`, { signal: AbortSignal.timeout(10_000) });
  await res.arrayBuffer();
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
  const child = spawn(process.execPath, entry, { cwd: root, env: { ...process.env, PORT: String(port), DATA_DIR: dataDir, LOG_LEVEL: 'warn', DATABASE_URL: '' }, stdio: ['ignore', 'ignore', 'inherit'] });
  process.once('exit', () => child.kill('SIGKILL'));
  const stop = () => {
    child.kill('SIGTERM');
    rmSync(dataDir, { recursive: true, force: true });
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

    const statuses = new Map<number, number>();
    const started = performance.now();
    for (let round = 0; round < ROUNDS; round++) {
      const calls: Promise<number>[] = [];
      for (let i = 0; i < CONCURRENCY; i++) {
        const kind = (round * CONCURRENCY + i) % 3;
        if (kind === 0) calls.push(post1(port, '/zitadel.user.v2.UserService/AddHumanUser', body));
        else if (kind === 1) calls.push(post1(port, '/v2/users/human', body));
        else calls.push(post2(port, '/zitadel.user.v2.UserService/AddHumanUser', body));
      }
      for (const status of await Promise.all(calls)) statuses.set(status, (statuses.get(status) ?? 0) + 1);
      log(`round ${round + 1}/${ROUNDS} done`);
    }
    const elapsed = performance.now() - started;
    flooding = false;
    await prober;
    peak = Math.max(peak, rssMb(child.pid!));

    healthSamples.sort((a, b) => a - b);
    const p99 = healthSamples[Math.floor(healthSamples.length * 0.99)] ?? 0;
    const growth = peak - idle;
    const result = {
      requests: ROUNDS * CONCURRENCY,
      concurrency: CONCURRENCY,
      bodyMB: +(body.length / 1024 / 1024).toFixed(2),
      statuses: Object.fromEntries(statuses),
      floodSeconds: +(elapsed / 1000).toFixed(2),
      healthz: { idleMs: +idleHealth.toFixed(1), p99Ms: +p99.toFixed(1), worstMs: +worstHealth.toFixed(1), samples: healthSamples.length },
      rssMB: { idle: +idle.toFixed(1), peak: +peak.toFixed(1), growth: +growth.toFixed(1) },
      targets: { healthzWithinMs: HEALTH_TARGET_MS, rssGrowthAtMostMB: RSS_TARGET_MB },
    };
    console.log(JSON.stringify(result, null, 2));
    const ok = worstHealth <= HEALTH_TARGET_MS && growth <= RSS_TARGET_MB && !statuses.has(500);
    console.log(ok ? 'flood: targets met' : 'flood: TARGETS MISSED');
    process.exitCode = ok ? 0 : 1;
  } finally {
    stop();
  }
}

await main();
