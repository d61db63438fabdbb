import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from 'kysely';
import { describeWhen, eventually } from '#test-kit';
import { createScratchDatabase, NO_SERVER_REASON, serverDatabaseUrl } from '#database/testing';
import type { ProjectionRunner } from '#projections/runner';
import { appendRandomHistory, userIdOf } from '#projections/testing';
import { startProjectionsTestServer, type ProjectionsTestServer } from '#cli/testing';
import { capturingLogger } from '#projections/testing';
import { USER_PROJECTION_RUNNER } from '#projections/users';
import { userProjections } from '#projections/users';

// The CLI as operators run it: a process started from source, as `npm run cli` does.
const root = join(import.meta.dirname, '..', '..', '..');
const ENCRYPTION_KEY = Buffer.alloc(32, 9).toString('base64');

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

interface Running {
  done: Promise<Run>;
  interrupt(): void;
  stderr(): string;
}

function start(args: string[], env: Record<string, string>): Running {
  const child = spawn(process.execPath, ['--conditions=source', '--import', '@swc-node/register/esm-register', 'apps/cli/src/main.ts', ...args], {
    cwd: root,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', SWC_NODE_PROJECT: join(root, 'tsconfig.json'), ...env },
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk) => (stdout += String(chunk)));
  child.stderr.on('data', (chunk) => (stderr += String(chunk)));
  const timer = setTimeout(() => child.kill('SIGKILL'), 120_000);
  return {
    done: new Promise((resolve) =>
      child.on('close', (code) => {
        clearTimeout(timer);
        resolve({ code, stdout, stderr });
      }),
    ),
    interrupt: () => child.kill('SIGINT'),
    stderr: () => stderr,
  };
}

const cli = (args: string[], env: Record<string, string>) => start(args, env).done;

const dirs: string[] = [];
const tempDir = () => {
  const dir = mkdtempSync(join(tmpdir(), 'cli-projections-'));
  dirs.push(dir);
  return dir;
};
afterAll(() => dirs.forEach((dir) => rmSync(dir, { recursive: true, force: true })));

describe('projections commands through the running server (embedded mode: no DATABASE_URL)', () => {
  let dataDir: string;
  let server: ProjectionsTestServer;
  let env: Record<string, string>;
  let runner: ProjectionRunner;

  beforeAll(async () => {
    dataDir = tempDir();
    server = await startProjectionsTestServer(dataDir, capturingLogger().logger);
    env = { DATA_DIR: dataDir };
    await appendRandomHistory(server.store, { seed: 5, users: 300, maxEvents: 12 });
    runner = server.app.get<ProjectionRunner>(USER_PROJECTION_RUNNER);
    expect(await runner.waitUntil(await server.store.headPosition(), 30_000)).toBe(true);
  }, 120_000);
  afterAll(() => server?.close());

  it('projections status shows the read model running, its version, checkpoint, head and lag', async () => {
    const run = await cli(['projections', 'status', '--server', server.url], env);
    expect(run).toMatchObject({ code: 0, stderr: '' });
    expect(run.stdout).toContain('users: running');
    expect(run.stdout).toMatch(/version {5}1 \(projections\.users, projections\.user_auth_methods\)/);
    expect(run.stdout).toMatch(/lag {9}0 events, 0 s/);
    const json = await cli(['projections', 'status', '--json', '--server', server.url], env);
    expect(JSON.parse(json.stdout)).toMatchObject([
      { projection: 'users', state: 'running', activeVersion: 1, lag: { events: 0 } },
      { projection: 'sessions', state: 'running', activeVersion: 1, lag: { events: 0 } },
    ]);
  }, 60_000);

  it('projections replay users: progress on stderr, then the switch; the server reads and maintains the new version', async () => {
    const run = await cli(['projections', 'replay', 'users', '--batch-size', '500', '--server', server.url], env);
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/^users: version 2 is active \(replaced version 1, kept until the next replay\); [\d,]+ events in [\d.]+ s, [\d,]+ events\/s; tables projections\.users_v2, projections\.user_auth_methods_v2\n$/);
    expect(run.stderr).toMatch(/users v2 \w+ \[.*\] \d+% \| [\d,]+\/[\d,]+ events \| [\d,]+ events\/s \| ETA/);
    await eventually(() => expect(runner.status().version).toBe(2), { timeoutMs: 30_000 });
    const status = await cli(['projections', 'status', '--server', server.url], env);
    expect(status.stdout).toMatch(/version {5}2 \(projections\.users_v2, projections\.user_auth_methods_v2\), replaced version 1/);
  }, 90_000);

  it('projections verify users passes, then fails (exit 3) naming the row after one row is corrupted', async () => {
    const ok = await cli(['projections', 'verify', 'users', '--server', server.url], env);
    expect(ok).toMatchObject({ code: 0, stderr: '' });
    expect(ok.stdout).toMatch(/^OK: users version 2 at checkpoint \S+ equals a fresh rebuild$/m);
    const victim = userIdOf(7);
    await sql`update projections.users_v2 set email = 'evil@example.com' where id = ${victim}`.execute(server.database.db);
    const bad = await cli(['projections', 'verify', 'users', '--server', server.url], env);
    expect(bad.code).toBe(3);
    expect(bad.stdout).toContain('DIFFERENT: users version 2');
    expect(bad.stdout).toContain(`different id=${victim}: email: live "evil@example.com", rebuilt "`);
    expect(bad.stderr).toContain('error: users differs from a fresh rebuild');
  }, 90_000);

  it('Ctrl-C during a replay cancels it in the server: nothing switched, exit 130; run again, it finishes', async () => {
    const running = start(['projections', 'replay', 'users', '--batch-size', '20', '--server', server.url], env);
    const token = readFileSync(join(dataDir, 'admin.pat'), 'utf8').trim();
    const job = async () =>
      (await (await fetch(`${server.url}/admin/v1/projections/users/replay`, { headers: { authorization: `Bearer ${token}` } })).json()) as {
        job?: { state: string; progress?: { done: number; version: number } };
      };
    await eventually(
      async () => {
        const j = (await job()).job;
        expect(j).toMatchObject({ state: 'running', progress: { version: 3 } });
        expect(j!.progress!.done).toBeGreaterThan(100);
      },
      { timeoutMs: 30_000, intervalMs: 25 },
    );
    running.interrupt();
    const run = await running.done;
    expect(run.code).toBe(130);
    expect(run.stderr).toContain('stopping after the batch in hand');
    expect(run.stderr).toContain('nothing was switched: version 2 still serves');
    expect((await job()).job?.state).toBe('cancelled');
    expect(runner.status().version).toBe(2);
    const again = await cli(['projections', 'replay', 'users', '--server', server.url], env);
    expect(again.code).toBe(0);
    expect(again.stdout).toMatch(/^users: version 4 is active/);
  }, 120_000);

  it('GET /metrics serves the projection metrics in Prometheus text, without a token', async () => {
    const res = await fetch(`${server.url}/metrics`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toContain('text/plain; version=0.0.4');
    const text = await res.text();
    expect(text).toMatch(/^projection_events_applied_total\{projection="users"\} \d+$/m);
    expect(text).toMatch(/^projection_lag_events\{projection="users"\} 0$/m);
    expect(text).toMatch(/^projection_lag_seconds\{projection="users"\} 0$/m);
    expect(text).toMatch(/^projection_failed\{projection="users"\} 0$/m);
    expect(text).toContain('# TYPE projection_read_your_writes_timeouts_total counter');
    expect(text).toContain('process_cpu_user_seconds_total');
  });

  it('says what is wrong: an unknown read model, a token without the right', async () => {
    const unknown = await cli(['projections', 'verify', 'nope', '--server', server.url], env);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr.trim()).toBe('error: the server refused: there is no projection "nope"; the projections are: users, sessions (ADMIN-PrjNf)');
    const manager = await cli(['machine-user', 'create', '--name', 'mgr', '--role', 'ORG_USER_MANAGER', '--server', server.url], env);
    const token = /^token: (\S+)$/m.exec(manager.stdout)![1]!;
    const denied = await cli(['projections', 'status', '--server', server.url, '--token', token], env);
    expect(denied.code).toBe(1);
    expect(denied.stderr.trim()).toBe('error: the server refused: No matching permissions found (AUTH-AWfge)');
  }, 60_000);
});

describeWhen(Boolean(serverDatabaseUrl), NO_SERVER_REASON, 'projections commands on server PostgreSQL (DATABASE_URL set): the CLI works on the database, the server follows', () => {
  let scratch: { url: string; drop: () => Promise<void> };
  let server: ProjectionsTestServer;
  let env: Record<string, string>;
  let runner: ProjectionRunner;

  beforeAll(async () => {
    scratch = await createScratchDatabase('cli_projections');
    // The "server": another process's view is the CLI's own pool; this one has its own.
    server = await startProjectionsTestServer(tempDir(), capturingLogger().logger, scratch.url);
    env = { DATABASE_URL: scratch.url, ENCRYPTION_KEY, DATA_DIR: tempDir() };
    await appendRandomHistory(server.store, { seed: 6, users: 400, maxEvents: 12 });
    runner = server.app.get<ProjectionRunner>(USER_PROJECTION_RUNNER);
    expect(await runner.waitUntil(await server.store.headPosition(), 30_000)).toBe(true);
  }, 120_000);
  afterAll(async () => {
    await server?.close();
    await scratch?.drop();
  });

  it('status, replay (the server switches to the new version at once, by NOTIFY), verify, and verify after a corrupted row', async () => {
    const status = await cli(['projections', 'status'], env);
    expect(status).toMatchObject({ code: 0, stderr: '' });
    expect(status.stdout).toContain('users: running');

    const replay = await cli(['projections', 'replay', 'users'], env);
    expect(replay.code).toBe(0);
    expect(replay.stdout).toMatch(/^users: version 2 is active/);
    // Nothing is appended meanwhile: only the NOTIFY can tell the server's runner this quickly.
    await eventually(() => expect(runner.status().version).toBe(2), { timeoutMs: 3_000 });

    const ok = await cli(['projections', 'verify', 'users'], env);
    expect(ok.code).toBe(0);
    expect(ok.stdout).toMatch(/^OK: users version 2/m);
    const victim = userIdOf(11);
    await sql`delete from ${sql.table(userProjections.tables(2)[0]!.name)} where id = ${victim}`.execute(server.database.db);
    const bad = await cli(['projections', 'verify', 'users'], env);
    expect(bad.code).toBe(3);
    expect(bad.stdout).toContain(`missing from the live table: id=${victim}`);
  }, 120_000);

  it('Ctrl-C stops a direct replay between two batches (exit 130, nothing switched); status tells; the next replay drops the half-built version', async () => {
    const running = start(['projections', 'replay', 'users', '--batch-size', '50'], env);
    await eventually(
      async () => {
        const row = await server.database.db.selectFrom('projections.projection_versions').select('building_version').where('name', '=', 'users').executeTakeFirst();
        expect(row?.building_version).toBe(3);
        const cp = await server.database.db.selectFrom('projections.projection_checkpoints').select('position').where('name', '=', 'users@3').executeTakeFirst();
        expect(cp?.position).toBeTruthy();
      },
      { timeoutMs: 30_000, intervalMs: 25 },
    );
    running.interrupt();
    const run = await running.done;
    expect(run.code).toBe(130);
    expect(run.stderr).toContain('nothing was switched: version 2 still serves');
    const status = await cli(['projections', 'status'], env);
    expect(status.stdout).toMatch(/replay {6}version 3: replay interrupted \(the next replay drops it\)/);
    expect(runner.status().version).toBe(2);
    const again = await cli(['projections', 'replay', 'users'], env);
    expect(again.stdout).toMatch(/^users: version 4 is active \(replaced version 2/);
    await eventually(() => expect(runner.status().version).toBe(4), { timeoutMs: 3_000 });
    const verified = await cli(['projections', 'verify', 'users'], env);
    expect(verified.code).toBe(0);
  }, 120_000);

  it('a database the server never migrated: says to start the server', async () => {
    const empty = await createScratchDatabase('cli_projections_empty');
    try {
      const run = await cli(['projections', 'status'], { ...env, DATABASE_URL: empty.url });
      expect(run.code).toBe(1);
      expect(run.stderr).toContain('is not migrated for the projection users');
      expect(run.stderr).toContain('start the server');
    } finally {
      await empty.drop();
    }
  }, 60_000);
});
