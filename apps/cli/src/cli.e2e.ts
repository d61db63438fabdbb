import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from 'kysely';
import { describeWhen } from '#test-kit';
import { PERSONAL_DATA_KEYS_HISTORY, personalDataKeyMigrations } from '#crypto';
import { migrate } from '#database';
import { bootstrapInstance } from '#auth';
import { TokenAuthenticator } from '#auth';
import { createScratchDatabase, NO_SERVER_REASON, serverDatabaseUrl } from '#database/testing';
import { orgStream } from '#org';
import { testBackend, type TestStores } from '#eventstore/testing';
import { startAdminTestServer, type AdminTestServer } from '#server/testing';

// The CLI as operators run it: a process started from source, as `npm run cli` does.
const root = join(import.meta.dirname, '..', '..', '..');
const ENCRYPTION_KEY = Buffer.alloc(32, 9).toString('base64');

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function cli(args: string[], env: Record<string, string>, command: 'node' | 'npm' = 'node'): Promise<Run> {
  const [file, argv] =
    command === 'npm'
      ? ['npm', ['run', '--silent', 'cli', '--', ...args]]
      : [process.execPath, ['--conditions=source', '--import', '@swc-node/register/esm-register', 'apps/cli/src/main.ts', ...args]];
  return new Promise((resolve) => {
    execFile(
      file,
      argv,
      { cwd: root, env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', SWC_NODE_PROJECT: join(root, 'tsconfig.json'), ...env }, timeout: 60_000 },
      (err, stdout, stderr) => {
        const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

const parseMachineUser = (stdout: string) => ({
  userId: /^user id: (\d+)$/m.exec(stdout)?.[1],
  token: /^token: (pat_\S+)$/m.exec(stdout)?.[1],
});

const dirs: string[] = [];
const tempDir = () => {
  const dir = mkdtempSync(join(tmpdir(), 'cli-e2e-'));
  dirs.push(dir);
  return dir;
};
afterAll(() => dirs.forEach((dir) => rmSync(dir, { recursive: true, force: true })));

describe('the CLI against a running server (embedded mode: no DATABASE_URL)', () => {
  let dataDir: string;
  let server: AdminTestServer;
  let env: Record<string, string>;

  beforeAll(async () => {
    dataDir = tempDir();
    server = await startAdminTestServer(dataDir);
    env = { DATA_DIR: dataDir };
  });
  afterAll(() => server.close());

  it('org create prints the new organization id, with the token from DATA_DIR/admin.pat', async () => {
    const run = await cli(['org', 'create', '--name', 'ACME Corp', '--server', server.url], env);
    expect(run).toMatchObject({ code: 0, stderr: '' });
    const orgId = run.stdout.trim();
    expect(orgId).toMatch(/^\d{18,19}$/);
    expect(await server.store.readStream(orgStream(orgId))).toMatchObject([{ type: 'org.added', data: { name: 'ACME Corp' } }]);
  }, 60_000);

  it('machine-user create prints the user id and the token once; the token works; the server port comes from PORT', async () => {
    const port = new URL(server.url).port;
    const run = await cli(['machine-user', 'create', '--name', 'CI Bot', '--role', 'ORG_USER_MANAGER'], { ...env, PORT: port });
    expect(run.code).toBe(0);
    const { userId, token } = parseMachineUser(run.stdout);
    expect(userId).toBeDefined();
    expect(run.stdout.split(token!).length).toBe(2); // printed once
    expect(run.stderr).toContain('shown only this once');
    const caller = await new TokenAuthenticator(server.store).authenticate(`Bearer ${token}`);
    expect(caller).toMatchObject({ userId, roles: [{ role: 'ORG_USER_MANAGER' }] });

    // That token may not create organizations: the server's refusal, in one line.
    const denied = await cli(['org', 'create', '--name', 'Nope', '--server', server.url, '--token', token!], env);
    expect(denied.code).toBe(1);
    expect(denied.stderr.trim()).toBe('error: the server refused: No matching permissions found (AUTH-AWfge)');
  }, 60_000);

  it('reports a taken username, a bad token and a bad role clearly', async () => {
    const taken = await cli(['machine-user', 'create', '--name', 'admin', '--role', 'IAM_OWNER', '--server', server.url], env);
    expect(taken.code).toBe(1);
    expect(taken.stderr).toContain('User already exists (V3-DKcYh)');

    const badToken = await cli(['org', 'create', '--name', 'x', '--server', server.url, '--token', 'pat_1_2_nope'], env);
    expect(badToken.code).toBe(1);
    expect(badToken.stderr).toContain('the server refused the token');

    const badRole = await cli(['machine-user', 'create', '--name', 'x', '--role', 'ROOT', '--server', server.url], env);
    expect(badRole.code).toBe(1);
    expect(badRole.stderr.trim()).toBe('error: --role: "ROOT" is not a role; use one of IAM_OWNER, IAM_OWNER_VIEWER, IAM_ORG_MANAGER, IAM_USER_MANAGER, IAM_LOGIN_CLIENT, ORG_OWNER, ORG_OWNER_VIEWER, ORG_USER_MANAGER');
  }, 60_000);

  it('machine-user tokens list|revoke and role remove: the revoked token and the removed role stop working', async () => {
    const admin = readFileSync(join(dataDir, 'admin.pat'), 'utf8').trim();
    const res = await fetch(`${server.url}/admin/v1/machine-users`, {
      method: 'POST',
      headers: { authorization: `Bearer ${admin}`, 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'Revoke Bot', role: 'ORG_OWNER' }),
    });
    const { userId, tokenId, token } = (await res.json()) as { userId: string; tokenId: string; token: string };
    const authenticator = new TokenAuthenticator(server.store);
    await expect(authenticator.authenticate(`Bearer ${token}`)).resolves.toMatchObject({ roles: [{ role: 'ORG_OWNER' }] });

    const listed = await cli(['machine-user', 'tokens', 'list', userId, '--json', '--server', server.url], env);
    expect(listed.code).toBe(0);
    expect(JSON.parse(listed.stdout)).toEqual([{ tokenId, createdAt: expect.any(String) }]);
    expect(listed.stdout).not.toContain('pat_');

    const removed = await cli(['machine-user', 'role', 'remove', userId, '--role', 'ORG_OWNER', '--server', server.url], env);
    expect(removed).toMatchObject({ code: 0, stdout: `removed ORG_OWNER from user ${userId}\n` });
    await expect(authenticator.authenticate(`Bearer ${token}`)).resolves.toMatchObject({ roles: [] });

    const revoked = await cli(['machine-user', 'tokens', 'revoke', userId, tokenId, '--server', server.url], env);
    expect(revoked).toMatchObject({ code: 0, stdout: `revoked token ${tokenId} of user ${userId}\n` });
    await expect(authenticator.authenticate(`Bearer ${token}`)).rejects.toMatchObject({ kind: 'Unauthenticated', id: 'AUTH-7fs1e' });
  }, 300_000);

  it('usernames sweep, through the server: keeps a claim without its user while it is younger than the claim TTL', async () => {
    const username = `young-ghost-${Date.now()}`;
    await server.store.append(`username-${username}`, [{ type: 'username.claimed', data: { userId: 'ghost-1', username } }], 'no_stream');
    const run = await cli(['usernames', 'sweep', '--server', server.url], env);
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(new RegExp(`^kept ${username}: claimed for user ghost-1 at \\S+, younger than the claim TTL \\(run again later\\)$`, 'm'));
    expect(run.stderr).toMatch(/^0 released, 1 kept$/m);
    expect(await server.store.readStream(`username-${username}`)).toHaveLength(1);
  }, 60_000);

  it('says to start the server when none is running', async () => {
    const run = await cli(['org', 'create', '--name', 'x'], { ...env, PORT: String(await closedPort()) });
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/is not reachable \(ECONNREFUSED\)\. Start it first \(npm start\)/);
  }, 60_000);

  it('runs as `npm run cli -- <command>`', async () => {
    const run = await cli(['org', 'create', '--name', 'Via npm', '--server', server.url], env, 'npm');
    expect(run.code).toBe(0);
    expect(run.stdout.trim()).toMatch(/^\d{18,19}$/);
    const help = await cli(['--help'], env, 'npm');
    expect(help).toMatchObject({ code: 0 });
    expect(help.stdout).toContain('Usage: npm run cli -- [options] [command]');
  }, 60_000);
});

describeWhen(Boolean(serverDatabaseUrl), NO_SERVER_REASON, 'the CLI on server PostgreSQL (DATABASE_URL set)', () => {
  /** The server's store, on a scratch database the CLI processes open by its URL. */
  let t: TestStores;

  beforeAll(async () => {
    t = await testBackend('server', 'cli').open();
  });
  afterAll(async () => {
    await t?.cleanup();
  });

  it('says the server must have run once when the database has no instance', async () => {
    const empty = await createScratchDatabase('cli_empty');
    try {
      const run = await cli(['org', 'create', '--name', 'x'], { DATABASE_URL: empty.url, ENCRYPTION_KEY, DATA_DIR: tempDir() });
      expect(run.code).toBe(1);
      expect(run.stderr).toContain('has no instance yet: start the server once');
    } finally {
      await empty.drop();
    }
  }, 60_000);

  it('works on the database directly, without a server and without a token', async () => {
    const serverDataDir = tempDir();
    await bootstrapInstance({ store: t.store, dataDir: serverDataDir });
    // What the server's start migrates besides the event store: the personal data keys.
    await migrate(t.database.db, PERSONAL_DATA_KEYS_HISTORY, personalDataKeyMigrations);
    const env = { DATABASE_URL: t.url!, ENCRYPTION_KEY, DATA_DIR: tempDir() };

    const org = await cli(['org', 'create', '--name', 'Direct'], env);
    expect(org).toMatchObject({ code: 0, stderr: '' });
    const orgId = org.stdout.trim();
    const [added] = await t.store.readStream(orgStream(orgId));
    expect(added).toMatchObject({ type: 'org.added', data: { name: 'Direct' }, metadata: { editor: 'system' } });

    const user = await cli(['machine-user', 'create', '--name', 'direct-bot', '--role', 'ORG_OWNER', '--org', orgId], env);
    expect(user.code).toBe(0);
    const { userId, token } = parseMachineUser(user.stdout);
    await expect(new TokenAuthenticator(t.store).authenticate(`Bearer ${token}`)).resolves.toMatchObject({
      userId,
      orgId,
      roles: [{ role: 'ORG_OWNER', orgId }],
    });
    // Revocation works on the database directly too.
    const tokenId = token!.split('_')[2]!;
    const listed = await cli(['machine-user', 'tokens', 'list', userId!], env);
    expect(listed).toMatchObject({ code: 0, stdout: expect.stringMatching(new RegExp(`^${tokenId}  created \\S+  never expires\n$`)) });
    expect((await cli(['machine-user', 'role', 'remove', userId!, '--role', 'ORG_OWNER', '--org', orgId], env)).code).toBe(0);
    await expect(new TokenAuthenticator(t.store).authenticate(`Bearer ${token}`)).resolves.toMatchObject({ roles: [] });
    expect((await cli(['machine-user', 'tokens', 'revoke', userId!, tokenId], env)).code).toBe(0);
    await expect(new TokenAuthenticator(t.store).authenticate(`Bearer ${token}`)).rejects.toMatchObject({ kind: 'Unauthenticated' });
    // A human user written before personal data was sealed: `users erase` deletes it and empties
    // its plain fields in place, on the database directly.
    const legacy = `${Date.now()}`;
    const name = `plainname${legacy}`;
    await t.store.append(
      `user-${legacy}`,
      [{ type: 'user.human.added', data: { username: name, orgId, profile: { givenName: 'Plaintext', familyName: 'Olduser', displayName: 'Plaintext Olduser' }, email: `${name}@example.com` } }],
      'no_stream',
    );
    await t.store.append(`username-${name}`, [{ type: 'username.claimed', data: { userId: legacy, username: name } }], 'no_stream');
    const erased = await cli(['users', 'erase', legacy], env);
    // The user and its claim rewritten; the claim stream (claimed, then released by the deletion) moved to its hashed name.
    expect(erased).toMatchObject({ code: 0, stdout: `erased user ${legacy}: 2 past events rewritten, 2 claim events moved to a hashed stream\n` });
    const { rows } = await sql<{ text: string }>`select stream || ' ' || data::text as text from eventstore.events`.execute(t.database.db);
    for (const text of [name, 'Plaintext', 'Olduser']) expect(rows.map((r) => r.text).join('\n')).not.toContain(text);
    expect((await t.store.readStream(`user-${legacy}`)).map((e) => e.type)).toEqual(['user.human.added', 'user.removed', 'user.erased']);
    // The admin token written at bootstrap is untouched and still works.
    const admin = readFileSync(join(serverDataDir, 'admin.pat'), 'utf8').trim();
    await expect(new TokenAuthenticator(t.store).authenticate(`Bearer ${admin}`)).resolves.toMatchObject({ roles: [{ role: 'IAM_OWNER' }] });
  }, 300_000);

  it('usernames sweep, on the database: frees a claim without its user older than the claim TTL, once', async () => {
    await bootstrapInstance({ store: t.store, dataDir: tempDir() });
    const env = { DATABASE_URL: t.url!, ENCRYPTION_KEY, DATA_DIR: tempDir() };
    const username = `old-ghost-${Date.now()}`;
    await t.store.append(`username-${username}`, [{ type: 'username.claimed', data: { userId: 'ghost-2', username } }], 'no_stream');
    // As if the registration had died two minutes ago: the claim's time is the store's.
    await sql`update eventstore.events set created_at = created_at - interval '2 minutes' where stream = ${`username-${username}`}`.execute(t.database.db);

    const run = await cli(['usernames', 'sweep'], env);
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(new RegExp(`^released ${username}: claimed for user ghost-2 at \\S+, the user never appeared$`, 'm'));
    expect((await t.store.readStream(`username-${username}`)).map((e) => e.type)).toEqual(['username.claimed', 'username.released']);
    expect((await t.store.readStream('user-ghost-2')).map((e) => e.type)).toEqual(['user.registration.abandoned']);

    const again = await cli(['usernames', 'sweep', '--json'], env);
    expect(again.code).toBe(0);
    expect(JSON.parse(again.stdout)).toEqual({ released: [], pending: [] });
  }, 120_000);
});
