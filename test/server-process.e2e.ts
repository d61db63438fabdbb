import { afterEach, describe, expect, it } from '@jest/globals';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { eventually } from '#test-kit';

// The real process, started from source exactly as `npm start` runs the built one.
// Compiling the sources at start takes from a minute to two on a loaded 2-core machine, so the
// waits and the tests get more time than jest's default.
const START_MS = 240_000;
const TEST_MS = 400_000;
const root = join(import.meta.dirname, '..');

interface Started {
  child: ChildProcess;
  lines: Record<string, any>[];
  exited: Promise<number | null>;
}

function startProcess(env: Record<string, string>): Started {
  const child = spawn(process.execPath, ['--conditions=source', '--import', '@swc-node/register/esm-register', 'apps/server/src/main.ts'], {
    cwd: root,
    env: { PATH: process.env.PATH ?? '', SWC_NODE_PROJECT: join(root, 'tsconfig.json'), ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines: Record<string, any>[] = [];
  let buffered = '';
  child.stdout!.on('data', (chunk: Buffer) => {
    buffered += chunk.toString();
    const parts = buffered.split('\n');
    buffered = parts.pop()!;
    for (const part of parts) {
      try {
        lines.push(JSON.parse(part));
      } catch {
        lines.push({ unparsed: part });
      }
    }
  });
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { child, lines, exited };
}

/** The first log line that matches; fails at once when the process has exited without it. */
async function waitForLine(started: Started, match: (line: Record<string, any>) => boolean, timeoutMs = START_MS) {
  const printed = () => started.lines.map((l) => JSON.stringify(l)).join('\n');
  const line = await eventually(
    () => {
      const line = started.lines.find(match);
      if (line || started.child.exitCode !== null) return line;
      throw new Error(`no matching log line within ${timeoutMs} ms; got:\n${printed()}`);
    },
    { timeoutMs, intervalMs: 50 },
  );
  if (!line) throw new Error(`the process exited (${started.child.exitCode}) without a matching log line; got:\n${printed()}`);
  return line;
}

describe('the server process', () => {
  const dirs: string[] = [];
  const children: ChildProcess[] = [];
  const dataDir = () => {
    const dir = mkdtempSync(join(tmpdir(), 'server-e2e-'));
    dirs.push(dir);
    return dir;
  };
  const start = (env: Record<string, string>) => {
    const started = startProcess(env);
    children.push(started.child);
    return started;
  };

  afterEach(() => {
    for (const child of children.splice(0)) if (child.exitCode === null) child.kill('SIGKILL');
    for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
  });

  it('serves /healthz and /readyz on the embedded store, logs JSON, and stops cleanly on SIGTERM', async () => {
    const server = start({ PORT: '0', DATA_DIR: dataDir() });
    const listening = await waitForLine(server, (l) => typeof l.msg === 'string' && l.msg.startsWith('listening on'));
    expect(listening).toMatchObject({ level: 'info', database: 'embedded', store: 'postgres' });
    const url = String(listening.msg).replace('listening on ', '');

    const health = await fetch(`${url}/healthz`);
    expect(health.status).toBe(200);
    expect(await health.json()).toEqual({ status: 'ok' });
    const ready = await fetch(`${url}/readyz`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toEqual({ status: 'ready', checks: { eventStore: 'ok', migrations: 'ok', projections: 'ok' } });

    const metrics = await fetch(`${url}/metrics`);
    expect(metrics.status).toBe(200);
    const text = await metrics.text();
    expect(text).toMatch(/^# TYPE projection_lag_events gauge$/m);
    expect(text).toMatch(/^# TYPE notification_sent_total counter$/m);

    server.child.kill('SIGTERM');
    expect(await server.exited).toBe(0);
    expect(server.lines.some((l) => l.msg === 'stores closed')).toBe(true);
  }, TEST_MS);

  it('refuses a second process on the same data directory with a clear message', async () => {
    const dir = dataDir();
    const first = start({ PORT: '0', DATA_DIR: dir });
    await waitForLine(first, (l) => String(l.msg).startsWith('listening on'));

    const second = start({ PORT: '0', DATA_DIR: dir });
    expect(await second.exited).toBe(1);
    const fatal = second.lines.find((l) => l.level === 'fatal');
    expect(fatal?.msg).toMatch(/data directory .* is in use by another process/);
    expect(first.child.exitCode).toBeNull();
  }, TEST_MS);

  it('stops at start with a message naming a bad variable', async () => {
    const server = start({ PORT: 'eighty', DATA_DIR: dataDir(), EVENTSTORE: 'eventstoredb' });
    expect(await server.exited).toBe(78);
    const fatal = server.lines.find((l) => l.level === 'fatal');
    expect(fatal?.msg).toMatch(/PORT: .*"eighty"/);
    expect(fatal?.msg).toMatch(/EVENTSTORE_CONNECTION_STRING: is required/);
  }, TEST_MS);
});
