import { afterAll, describe, expect, it } from '@jest/globals';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createScratchDatabase, NO_SERVER_REASON, serverDatabaseUrl } from '#database/testing';
import { describeWhen } from '#test-kit';
import { startServerProcess, stopServerProcess, type RunningServer } from '#test-support';

// Data written by an earlier build (commit ae326ec, before the units were rebuilt around one
// kernel) must open with this one: migrations run forward, event types and payloads keep their
// meaning. test/fixtures/upgrade-v0 holds what that build wrote (an embedded DATA_DIR and a
// pg_dump of a server database) and what it answered for the same reads (fixture.json).
const fixtureDir = join(import.meta.dirname, 'fixtures', 'upgrade-v0');
const fixture = JSON.parse(readFileSync(join(fixtureDir, 'fixture.json'), 'utf8'));

const startServer = (env: Record<string, string>) => startServerProcess({ ENCRYPTION_KEY: fixture.encryptionKey, ...env });

async function stop(running: RunningServer): Promise<void> {
  expect(await stopServerProcess(running)).toBe(0);
}

/** Reads every user and session the old build wrote and compares them with what it answered. */
async function expectTheOldAnswers(url: string, token: string, mode: 'embedded' | 'postgres') {
  const get = async (path: string) => {
    const res = await fetch(`${url}${path}`, { headers: { authorization: `Bearer ${token}` } });
    return { status: res.status, body: (await res.json()) as any };
  };
  const { users, sessions } = fixture.modes[mode];
  for (const name of ['fixture-ada', 'fixture-bob']) {
    const old = users[name];
    const user = await get(`/v2/users/${old.userId}`);
    expect(user.status).toBe(200);
    expect(user.body.user).toMatchObject(old.getUserByID.user);
    // The old build left the creation date out; it comes from the same read model rows (no replay).
    expect(user.body.details).toEqual({ ...old.getUserByID.details, creationDate: expect.any(String) });
    expect(Date.parse(user.body.details.creationDate)).toBeLessThanOrEqual(Date.parse(old.getUserByID.details.changeDate));
    expect(user.body.user.human.profile.gender).toBe('GENDER_UNSPECIFIED');

    const methods = await get(`/v2/users/${old.userId}/authentication_methods`);
    expect(methods.status).toBe(200);
    expect(methods.body.authMethodTypes ?? []).toEqual(old.authMethodTypes);

    const session = await get(`/v2/sessions/${sessions[name].sessionId}`);
    expect(session.status).toBe(200);
    expect(session.body.session).toMatchObject(sessions[name].getSession.session);
  }

  // And the old data takes new writes: Bob adds OTP Email, which the read model then shows.
  const bob = users['fixture-bob'];
  const added = await fetch(`${url}/v2/users/${bob.userId}/otp_email`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: '{}',
  });
  expect(added.status).toBe(200);
  expect(((await added.json()) as any).details.sequence).toBe(String(Number(bob.getUserByID.details.sequence) + 1));
  const methods = await get(`/v2/users/${bob.userId}/authentication_methods`);
  expect(methods.body.authMethodTypes).toEqual(['AUTHENTICATION_METHOD_TYPE_OTP_EMAIL']);
}

describe('upgrade from data written by the earlier build', () => {
  const cleanups: (() => Promise<void> | void)[] = [];
  afterAll(async () => {
    for (const cleanup of cleanups.reverse()) await cleanup();
  });

  it('opens an embedded DATA_DIR written by the earlier build and reads its users, factors and sessions back', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'upgrade-embedded-'));
    cleanups.push(() => rmSync(dataDir, { recursive: true, force: true }));
    execFileSync('tar', ['-xzf', join(fixtureDir, 'fixture-data-dir.tar.gz'), '-C', dataDir]);
    const token = readFileSync(join(dataDir, 'admin.pat'), 'utf8').trim();

    const running = await startServer({ DATA_DIR: dataDir });
    cleanups.push(() => void (running.child.exitCode === null && running.child.kill('SIGKILL')));
    await expectTheOldAnswers(running.url, token, 'embedded');
    await stop(running);
  }, 120_000);

  describeWhen(serverDatabaseUrl !== undefined, NO_SERVER_REASON, 'on server PostgreSQL', () => {
    it('opens a database written by the earlier build and reads its users, factors and sessions back', async () => {
      const scratch = await createScratchDatabase('upgrade');
      cleanups.push(scratch.drop);
      execFileSync('psql', ['--quiet', '--no-psqlrc', '-v', 'ON_ERROR_STOP=1', '-d', scratch.url, '-f', join(fixtureDir, 'fixture-postgres.sql')], {
        stdio: ['ignore', 'ignore', 'pipe'],
      });
      const dataDir = mkdtempSync(join(tmpdir(), 'upgrade-server-'));
      cleanups.push(() => rmSync(dataDir, { recursive: true, force: true }));

      const running = await startServer({ DATA_DIR: dataDir, DATABASE_URL: scratch.url });
      cleanups.push(() => void (running.child.exitCode === null && running.child.kill('SIGKILL')));
      await expectTheOldAnswers(running.url, fixture.modes.postgres.adminPat, 'postgres');
      await stop(running);
    }, 120_000);
  });
});
