import { afterAll, expect, it } from '@jest/globals';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openServerDatabase } from '#database';
import { createScratchDatabase, NO_SERVER_REASON, serverDatabaseUrl } from '#database/testing';
import { PostgresEventStore, type RecordedEvent } from '#eventstore';
import { describeWhen, eventually } from '#test-kit';

// The real process, started from source; compiling at start takes a while on a loaded machine.
const START_MS = 240_000;
const TEST_MS = 600_000;
const WRITERS = 16;
const root = join(import.meta.dirname, '..');

interface Started {
  child: ChildProcess;
  lines: Record<string, any>[];
  exited: Promise<number | null>;
}

function startServer(env: Record<string, string>): Started {
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

async function listeningUrl(started: Started): Promise<string> {
  const line = await eventually(
    () => {
      const line = started.lines.find((l) => typeof l.msg === 'string' && l.msg.startsWith('listening on'));
      if (line || started.child.exitCode !== null) return line;
      throw new Error('not listening yet');
    },
    { timeoutMs: START_MS, intervalMs: 50 },
  );
  if (!line) throw new Error(`the server exited (${started.child.exitCode}) without listening: ${JSON.stringify(started.lines)}`);
  return String(line.msg).replace('listening on ', '');
}

const register = (url: string, token: string, username: string) =>
  fetch(`${url}/v2/users/human`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify({ username, profile: { givenName: 'Ada', familyName: 'Lovelace' }, email: { email: `${username}@example.com`, isVerified: true } }),
  });

describeWhen(Boolean(serverDatabaseUrl), NO_SERVER_REASON, 'registrations across kill -9 of the server process', () => {
  const children: ChildProcess[] = [];
  const cleanups: (() => Promise<void> | void)[] = [];
  afterAll(async () => {
    for (const child of children) if (child.exitCode === null) child.kill('SIGKILL');
    for (const cleanup of cleanups.reverse()) await cleanup();
  });

  it(
    'loses no acknowledged registration and leaves no username claimed without its user',
    async () => {
      const scratch = await createScratchDatabase('crashreg');
      cleanups.push(scratch.drop);
      const dataDir = mkdtempSync(join(tmpdir(), 'crash-registrations-'));
      cleanups.push(() => rmSync(dataDir, { recursive: true, force: true }));
      const env = {
        PORT: '0',
        DATA_DIR: dataDir,
        DATABASE_URL: scratch.url,
        ENCRYPTION_KEY: randomBytes(32).toString('base64'),
      };

      const first = startServer(env);
      children.push(first.child);
      const url = await listeningUrl(first);
      const token = readFileSync(join(dataDir, 'admin.pat'), 'utf8').trim();

      // 16 writers register distinct names until the process dies under them.
      const acknowledged = new Map<string, string>(); // username → userId
      const attempted: string[] = [];
      let next = 0;
      let dead = false;
      const writer = async () => {
        while (!dead) {
          const username = `crash-${++next}-${Math.random().toString(36).slice(2, 8)}`;
          attempted.push(username);
          try {
            const res = await register(url, token, username);
            if (res.status === 200) acknowledged.set(username, ((await res.json()) as { userId: string }).userId);
            else await res.body?.cancel();
          } catch {
            // The connection died with the process: this registration may or may not have happened.
          }
        }
      };
      const writers = Array.from({ length: WRITERS }, writer);
      await eventually(
        () => {
          if (acknowledged.size < 200) throw new Error(`only ${acknowledged.size} registrations so far`);
        },
        { timeoutMs: 120_000, intervalMs: 20 },
      );
      // Writers start no new registration from here on (a refused connection fails at once, and a
      // loop of those would pile up thousands of names); the ones in progress die with the process.
      dead = true;
      first.child.kill('SIGKILL');
      await first.exited;
      await Promise.all(writers);

      const second = startServer(env);
      children.push(second.child);
      const url2 = await listeningUrl(second);

      // No acknowledged write lost: every user that got a 200 is there.
      for (const [username, userId] of acknowledged) {
        const res = await fetch(`${url2}/v2/users/${userId}`, { headers: { authorization: `Bearer ${token}` } });
        expect({ username, status: res.status }).toEqual({ username, status: 200 });
        await res.body?.cancel();
      }

      // No claim without its user: the claim and the user were one append.
      const database = openServerDatabase({ connectionString: scratch.url, maxConnections: 2 });
      const store = new PostgresEventStore(database);
      cleanups.push(async () => {
        await store.close();
        await database.close();
      });
      const events: RecordedEvent[] = [];
      for (let page = await store.readAll({ limit: 5000 }); page.length > 0; page = await store.readAll({ after: page.at(-1)!.position, limit: 5000 })) {
        events.push(...page);
      }
      const holders = new Map<string, string | undefined>();
      for (const e of events) {
        if (e.type === 'username.claimed') holders.set(e.stream, String(e.data.userId));
        if (e.type === 'username.released') holders.set(e.stream, undefined);
      }
      const users = new Set(events.filter((e) => e.type === 'user.human.added' || e.type === 'user.machine.added').map((e) => e.stream));
      const orphans = [...holders].filter(([, holder]) => holder !== undefined && !users.has(`user-${holder}`));
      expect(orphans).toEqual([]);

      // And no name is burned: every name tried while the process died is either a user, or free.
      const inFlight = attempted.filter((username) => !acknowledged.has(username));
      expect(inFlight.length).toBeGreaterThan(0);
      for (const username of inFlight) {
        const holder = holders.get(`username-${username}`);
        if (holder !== undefined) continue; // the registration committed; only its answer was lost
        const res = await register(url2, token, username);
        expect({ username, status: res.status }).toEqual({ username, status: 200 });
        await res.body?.cancel();
      }
      console.log(
        `crash-registrations: ${acknowledged.size} acknowledged, ${inFlight.length} in flight at kill -9, ` +
          `${holders.size} claims, ${orphans.length} orphaned`,
      );

      second.child.kill('SIGTERM');
      await second.exited;
    },
    TEST_MS,
  );
});
