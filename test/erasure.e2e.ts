import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { eventually } from '#test-kit';
import { createLogger, restClient, startTestServer, storeKinds, type TestServer } from '#test-support';

// After DeleteUser nothing of the person is left to find: not in the database (an embedded
// DATA_DIR's files, a pg_dump of server PostgreSQL), not in the read models, not in the log
// lines; and replaying the read model after the erasure gives what the live one holds.
// Its own server per store kind: it needs the files of a stopped one.

/** Every value of the person, as they could show up in bytes. */
const PERSON = {
  username: 'quintessa-erasable',
  givenName: 'Quintessagiven',
  familyName: 'Quintessafamily',
  nickName: 'Quinnicknamed',
  displayName: 'Quintessa Displayed',
  email: 'quintessa.first@example.com',
  secondEmail: 'quintessa.second@example.net',
};
const needles = Object.values(PERSON);

function filesUnder(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? filesUnder(path) : [path];
  });
}

const found = (haystack: Buffer, where: string) => needles.filter((needle) => haystack.includes(Buffer.from(needle))).map((needle) => `${needle} in ${where}`);

describe.each(storeKinds())('erasure after DeleteUser (%s)', (kind) => {
  let t: TestServer;
  let call: ReturnType<typeof restClient>;
  const logLines: string[] = [];
  let stopped = false;

  beforeAll(async () => {
    t = await startTestServer(kind, {}, createLogger('debug', { write: (line: string) => void logLines.push(line) }));
    call = restClient(t.url);
  }, 180_000);
  afterAll(async () => {
    if (!stopped) await t?.stop();
  });

  it('leaves no byte of the user’s email, names or username in the database, the read model or the logs; replay and verify agree', async () => {
    const admin = t.adminToken;
    // A neighbour who stays: the read model keeps them, a replay rebuilds them.
    const neighbour = await call('POST', '/v2/users/human', admin, {
      username: 'neighbour-stays',
      profile: { givenName: 'Neighbour', familyName: 'Stays' },
      email: { email: 'neighbour@example.com', isVerified: true },
    });
    expect(neighbour.status).toBe(200);

    const added = await call('POST', '/v2/users/human', admin, {
      username: PERSON.username,
      profile: { givenName: PERSON.givenName, familyName: PERSON.familyName, nickName: PERSON.nickName, displayName: PERSON.displayName, preferredLanguage: 'de' },
      email: { email: PERSON.email, isVerified: true },
    });
    expect(added.status).toBe(200);
    const userId = added.body.userId as string;
    expect((await call('POST', `/v2/users/${userId}/otp_email`, admin, {})).status).toBe(200);
    const changed = await call('POST', `/v2/users/${userId}/email`, admin, { email: PERSON.secondEmail, returnCode: {} });
    expect(changed.status).toBe(200);
    expect((await call('POST', `/v2/users/${userId}/email/verify`, admin, { verificationCode: changed.body.verificationCode })).status).toBe(200);
    const session = await call('POST', '/v2/sessions', admin, { checks: { user: { loginName: PERSON.username } } });
    expect(session.status).toBe(201);
    const read = await call('GET', `/v2/users/${userId}`, admin);
    expect(read.body.user.human.email.email).toBe(PERSON.secondEmail);

    const deleted = await call('DELETE', `/v2/users/${userId}`, admin);
    expect(deleted.status).toBe(200);
    expect((await call('GET', `/v2/users/${userId}`, admin)).status).toBe(404);
    // The operator's erase after it: nothing plain was written, so nothing is rewritten.
    const erased = await call('POST', `/admin/v1/users/${userId}/erase`, admin);
    expect(erased).toMatchObject({ status: 200, body: { userId, rewritten: 0, moved: 0 } });

    // Replay the users read model, then verify it: the same rows as before, minus the deleted user.
    const before = await call('POST', '/v2/users', admin, { query: { asc: true }, sortingColumn: 'USER_FIELD_NAME_USER_NAME' });
    expect(before.body.result.map((u: any) => u.userId)).not.toContain(userId);
    expect((await call('POST', '/admin/v1/projections/users/replay', admin, {})).status).toBe(202);
    await eventually(async () => expect((await call('GET', '/admin/v1/projections/users/replay', admin)).body.job.state).toBe('done'), { timeoutMs: 60_000 });
    const after = await call('POST', '/v2/users', admin, { query: { asc: true }, sortingColumn: 'USER_FIELD_NAME_USER_NAME' });
    expect(after.body.result).toEqual(before.body.result);
    expect(after.body.result.map((u: any) => u.username)).toContain('neighbour-stays');
    const verify = await call('POST', '/admin/v1/projections/users/verify', admin, {});
    expect(verify).toMatchObject({ status: 200, body: { report: { equal: true } } });

    const leaks: string[] = [];
    for (const [i, line] of logLines.entries()) leaks.push(...found(Buffer.from(line), `log line ${i}: ${line.slice(0, 200)}`));

    if (t.databaseUrl) {
      const dump = execFileSync('pg_dump', ['--format=plain', '--no-owner', t.databaseUrl], { maxBuffer: 256 * 1024 * 1024 });
      expect(dump.includes(Buffer.from('neighbour@example.com'))).toBe(true); // the dump is a real one
      leaks.push(...found(dump, 'pg_dump'));
    } else {
      // The embedded backup is a copy of the stopped DATA_DIR: every file of it.
      await t.server.close();
      stopped = true;
      const files = filesUnder(t.dataDir);
      expect(files.some((file) => readFileSync(file).includes(Buffer.from('neighbour@example.com')))).toBe(true);
      for (const file of files) leaks.push(...found(readFileSync(file), file));
      rmSync(t.dataDir, { recursive: true, force: true });
    }
    expect(leaks).toEqual([]);
  }, 180_000);
});
