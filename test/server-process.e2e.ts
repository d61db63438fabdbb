import { afterEach, describe, expect, it, jest } from '@jest/globals';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
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
  stderr: string[];
  exited: Promise<number | null>;
}

const FROM_SOURCE = [process.execPath, '--conditions=source', '--import', '@swc-node/register/esm-register', 'apps/server/src/main.ts'];

function startProcess(env: Record<string, string>, command: string[] = FROM_SOURCE): Started {
  const child = spawn(command[0]!, command.slice(1), {
    cwd: root,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', SWC_NODE_PROJECT: join(root, 'tsconfig.json'), ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const stderr: string[] = [];
  child.stderr!.on('data', (chunk: Buffer) => stderr.push(chunk.toString()));
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
  return { child, lines, stderr, exited };
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

// Starting from source compiles on the fly: on a loaded machine that alone can take a minute.
jest.setTimeout(TEST_MS);

describe('the server process', () => {
  const dirs: string[] = [];
  const children: ChildProcess[] = [];
  const dataDir = () => {
    const dir = mkdtempSync(join(tmpdir(), 'server-e2e-'));
    dirs.push(dir);
    return dir;
  };
  const start = (env: Record<string, string>, command?: string[]) => {
    const started = startProcess(env, command);
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
    expect(listening).toMatchObject({ level: 'info', database: 'embedded', store: 'postgres', host: '0.0.0.0' });
    // Says where it is bound, and a URL that reaches it from this machine.
    expect(listening.msg).toBe(`listening on 0.0.0.0:${listening.port} (http://127.0.0.1:${listening.port})`);
    const url = String(listening.url);

    const health = await fetch(`${url}/healthz`);
    expect(health.status).toBe(200);
    expect(health.headers.get('x-powered-by')).toBeNull();
    expect(await health.json()).toEqual({ status: 'ok' });
    const ready = await fetch(`${url}/readyz`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toEqual({ status: 'ready', checks: { eventStore: 'ok', migrations: 'ok', projections: 'ok' } });

    const metrics = await fetch(`${url}/metrics`);
    expect(metrics.status).toBe(200);
    const text = await metrics.text();
    expect(text).toMatch(/^# TYPE projection_lag_events gauge$/m);
    expect(text).toMatch(/^# TYPE notification_sent_total counter$/m);
    expect(text).toMatch(/^build_info\{version="\d+\.\d+\.\d+",revision="unknown",node="v\d+[.\d]*"\} 1$/m);
    expect(text).toMatch(/^eventstore_appends_total\{outcome="ok"\} \d+$/m); // the first-start bootstrap appended
    // Nest's route list is at debug, not in the default output.
    expect(server.lines.some((l) => l.context === 'RouterExplorer')).toBe(false);

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
    expect(fatal).toMatchObject({ msg: 'invalid configuration' });
    expect(fatal?.problems).toEqual([
      'PORT: expected a whole number between 0 and 65535 (got "eighty")',
      'EVENTSTORE_CONNECTION_STRING: is required when EVENTSTORE=eventstoredb',
    ]);
    // And for a person reading the terminal: plain lines, no JSON escapes.
    expect(server.stderr.join('')).toBe(
      'invalid configuration:\n  PORT: expected a whole number between 0 and 65535 (got "eighty")\n  EVENTSTORE_CONNECTION_STRING: is required when EVENTSTORE=eventstoredb\n',
    );
  });

  it('stops before writing anything when the port is in use (no admin.pat)', async () => {
    const blocker = net.createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    try {
      const port = (blocker.address() as net.AddressInfo).port;
      const dir = dataDir();
      const server = start({ PORT: String(port), HOST: '127.0.0.1', DATA_DIR: dir });
      expect(await server.exited).toBe(1);
      expect(server.lines.find((l) => l.level === 'fatal')?.msg).toMatch(/EADDRINUSE/);
      expect(existsSync(join(dir, 'admin.pat'))).toBe(false);
    } finally {
      blocker.close();
    }
  });

  it('waits for a database that does not answer, then gives up with one message naming it', async () => {
    // A port nothing listens on: bind one, note it, close it.
    const probe = net.createServer();
    await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
    const port = (probe.address() as net.AddressInfo).port;
    await new Promise((resolve) => probe.close(resolve));
    const server = start({
      PORT: '0',
      DATA_DIR: dataDir(),
      DATABASE_URL: `postgres://postgres:secret@127.0.0.1:${port}/db`,
      ENCRYPTION_KEY: Buffer.alloc(32, 1).toString('base64'),
      DATABASE_WAIT: '2s',
    });
    expect(await server.exited).toBe(1);
    const waiting = server.lines.filter((l) => String(l.msg).startsWith('waiting for the database'));
    expect(waiting).toHaveLength(1);
    expect(waiting[0]!.msg).toContain(`127.0.0.1:${port}/db`);
    const fatal = server.lines.filter((l) => l.level === 'fatal');
    expect(fatal).toHaveLength(1);
    expect(fatal[0]!.msg).toMatch(new RegExp(`^could not start: cannot reach the database at 127\\.0\\.0\\.1:${port}/db: .*ECONNREFUSED`));
    expect(fatal[0]!.msg.match(/ECONNREFUSED/g)).toHaveLength(1);
    expect(JSON.stringify(server.lines)).not.toContain('secret');
  });

  it('`npm start` (build, then node itself) stops on a SIGTERM sent to npm', async () => {
    const npm = start({ PORT: '0', DATA_DIR: dataDir() }, ['npm', 'start', '--silent']);
    const listening = await waitForLine(npm, (l) => typeof l.msg === 'string' && l.msg.startsWith('listening on'), 240_000);
    expect((await fetch(`${listening.url}/healthz`)).status).toBe(200);
    npm.child.kill('SIGTERM');
    expect(await npm.exited).toBe(0);
    expect(npm.lines.some((l) => l.msg === 'stores closed')).toBe(true);
    // Nothing answers any more: node went with npm.
    await expect(fetch(`${listening.url}/healthz`)).rejects.toThrow();
  }, 300_000);
});
