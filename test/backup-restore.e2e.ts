import { afterAll, describe, expect, it } from '@jest/globals';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createScratchDatabase, NO_SERVER_REASON, serverDatabaseUrl } from '#database/testing';
import { describeWhen } from '#test-kit';
import { startServerProcess, stopServerProcess } from '#test-support';

// The backup and restore procedures of docs/operations.md, run as an operator would: a copy of a
// stopped embedded DATA_DIR, and pg_dump/pg_restore of a server database, each started in a
// fresh place and read back.
const KEY = Buffer.alloc(32, 9).toString('base64');

async function addUser(url: string, token: string, username: string): Promise<string> {
  const res = await fetch(`${url}/v2/users/human`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify({ username, profile: { givenName: 'Ada', familyName: 'Lovelace' }, email: { email: `${username}@example.com`, isVerified: true } }),
  });
  expect(res.status).toBe(200);
  return ((await res.json()) as { userId: string }).userId;
}

async function expectUser(url: string, token: string, userId: string, username: string) {
  const res = await fetch(`${url}/v2/users/${userId}`, { headers: { authorization: `Bearer ${token}` } });
  expect(res.status).toBe(200);
  expect(((await res.json()) as any).user).toMatchObject({ userId, username, human: { email: { email: `${username}@example.com`, isVerified: true } } });
}

describe('backup and restore', () => {
  const cleanups: (() => Promise<void> | void)[] = [];
  afterAll(async () => {
    for (const cleanup of cleanups.reverse()) await cleanup();
  });
  const tempDir = (prefix: string) => {
    const dir = mkdtempSync(join(tmpdir(), prefix));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    return dir;
  };

  it('an embedded DATA_DIR copied while the server is stopped starts elsewhere with its users', async () => {
    const original = tempDir('backup-source-');
    const first = await startServerProcess({ DATA_DIR: original, ENCRYPTION_KEY: KEY });
    cleanups.push(() => void (first.child.exitCode === null && first.child.kill('SIGKILL')));
    const token = readFileSync(join(original, 'admin.pat'), 'utf8').trim();
    const userId = await addUser(first.url, token, 'restored-ada');
    expect(await stopServerProcess(first)).toBe(0);

    const restored = join(tempDir('backup-target-'), 'data');
    execFileSync('cp', ['-a', original, restored]);
    const second = await startServerProcess({ DATA_DIR: restored, ENCRYPTION_KEY: KEY });
    cleanups.push(() => void (second.child.exitCode === null && second.child.kill('SIGKILL')));
    await expectUser(second.url, token, userId, 'restored-ada');
    expect(await stopServerProcess(second)).toBe(0);
  }, 180_000);

  describeWhen(serverDatabaseUrl !== undefined, NO_SERVER_REASON, 'on server PostgreSQL', () => {
    it('pg_dump of the database, restored into an empty one, serves the same users', async () => {
      const source = await createScratchDatabase('backup');
      cleanups.push(source.drop);
      const dataDir = tempDir('backup-pg-');
      const first = await startServerProcess({ DATA_DIR: dataDir, DATABASE_URL: source.url, ENCRYPTION_KEY: KEY });
      cleanups.push(() => void (first.child.exitCode === null && first.child.kill('SIGKILL')));
      const token = readFileSync(join(dataDir, 'admin.pat'), 'utf8').trim();
      const userId = await addUser(first.url, token, 'dumped-ada');
      expect(await stopServerProcess(first)).toBe(0);

      // Everything in one dump: events, read models, checkpoints, the notifier's state.
      const dump = join(tempDir('backup-dump-'), 'identity.dump');
      execFileSync('pg_dump', ['--format=custom', '--no-owner', '--file', dump, source.url]);
      const target = await createScratchDatabase('restore');
      cleanups.push(target.drop);
      execFileSync('pg_restore', ['--no-owner', '--exit-on-error', '--dbname', target.url, dump]);

      const second = await startServerProcess({ DATA_DIR: tempDir('restore-pg-'), DATABASE_URL: target.url, ENCRYPTION_KEY: KEY });
      cleanups.push(() => void (second.child.exitCode === null && second.child.kill('SIGKILL')));
      await expectUser(second.url, token, userId, 'dumped-ada');
      expect(await stopServerProcess(second)).toBe(0);
    }, 180_000);
  });
});
