import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { restClient, startTestServer, storeKinds, type TestServer } from '#test-support';

// Revocation on the real server: a revoked token or a removed role stops working on the very
// next request, over the REST API: the server remembers callers for AUTH_CACHE_TTL_MS, and its
// own append to the caller's stream drops what it remembered.
describe.each(storeKinds())('revoking tokens and roles over REST (%s)', (kind) => {
  let t: TestServer;
  let call: ReturnType<typeof restClient>;
  let admin: string;
  let humanId: string;

  const machineUser = async (role: string) => {
    const res = await call('POST', '/admin/v1/machine-users', admin, { name: `r-${role}-${Math.random().toString(36).slice(2, 8)}`, role });
    expect(res.status).toBe(201);
    return res.body as { userId: string; tokenId: string; token: string };
  };
  const message = (id: string) => expect.stringMatching(new RegExp(`\\(${id}\\)$`));

  beforeAll(async () => {
    t = await startTestServer(kind);
    call = restClient(t.url);
    admin = t.adminToken;
    const human = await call('POST', '/v2/users/human', admin, {
      profile: { givenName: 'Grace', familyName: 'Hopper' },
      email: { email: 'grace@example.com', isVerified: true },
    });
    expect(human.status).toBe(200);
    humanId = human.body.userId;
  }, 60_000);
  afterAll(async () => {
    await t?.stop();
  });

  it('a revoked token is refused on the next request (401); the user other tokens keep working', async () => {
    const bot = await machineUser('ORG_USER_MANAGER');
    expect((await call('GET', `/v2/users/${humanId}`, bot.token)).status).toBe(200);

    const listed = await call('GET', `/admin/v1/machine-users/${bot.userId}/tokens`, admin);
    expect(listed).toEqual({ status: 200, body: { tokens: [{ tokenId: bot.tokenId, createdAt: expect.any(String) }] } });
    expect(JSON.stringify(listed.body)).not.toContain('pat_');

    const revoked = await call('DELETE', `/admin/v1/machine-users/${bot.userId}/tokens/${bot.tokenId}`, admin);
    expect(revoked).toEqual({ status: 200, body: { userId: bot.userId, tokenId: bot.tokenId } });
    const refused = await call('GET', `/v2/users/${humanId}`, bot.token);
    expect(refused.status).toBe(401);
    expect(refused.body).toMatchObject({ code: 16, message: message('AUTH-7fs1e') });
    expect((await call('GET', `/admin/v1/machine-users/${bot.userId}/tokens`, admin)).body).toEqual({ tokens: [] });

    const again = await call('DELETE', `/admin/v1/machine-users/${bot.userId}/tokens/${bot.tokenId}`, admin);
    expect(again.status).toBe(404);
    expect(again.body).toMatchObject({ code: 5, message: message('COMMAND-4m77G') });
  });

  it('a removed role is refused on the next request (403)', async () => {
    const bot = await machineUser('ORG_USER_MANAGER');
    expect((await call('GET', `/v2/users/${humanId}`, bot.token)).status).toBe(200);
    const removed = await call('DELETE', `/admin/v1/machine-users/${bot.userId}/roles/ORG_USER_MANAGER`, admin);
    expect(removed).toEqual({ status: 200, body: { userId: bot.userId, role: 'ORG_USER_MANAGER' } });
    const denied = await call('GET', `/v2/users/${humanId}`, bot.token);
    expect(denied.status).toBe(403);
    expect(denied.body).toMatchObject({ code: 7, message: message('AUTH-AWfge') });
  });

  it('needs the permissions of granting, and refuses an owner taking its own IAM_OWNER', async () => {
    const owner = await machineUser('IAM_OWNER');
    const manager = await machineUser('ORG_USER_MANAGER');
    const loginClient = await machineUser('IAM_LOGIN_CLIENT');

    expect((await call('DELETE', `/admin/v1/machine-users/${loginClient.userId}/roles/IAM_LOGIN_CLIENT`, manager.token)).status).toBe(403);
    expect((await call('DELETE', `/admin/v1/machine-users/${owner.userId}/tokens/${owner.tokenId}`, manager.token)).status).toBe(403);
    expect((await call('GET', `/admin/v1/machine-users/${owner.userId}/tokens`, loginClient.token)).status).toBe(200);

    const own = await call('DELETE', `/admin/v1/machine-users/${owner.userId}/roles/IAM_OWNER`, owner.token);
    expect(own.status).toBe(400);
    expect(own.body).toMatchObject({ code: 9, message: message('COMMAND-R0lSf') });
    // Another owner may; then the token still authenticates but may no longer act as owner.
    expect((await call('DELETE', `/admin/v1/machine-users/${owner.userId}/roles/IAM_OWNER`, admin)).status).toBe(200);
    expect((await call('POST', '/admin/v1/orgs', owner.token, { name: 'Nope' })).status).toBe(403);
  });

  it('checks paths before anything runs', async () => {
    const bad = await call('DELETE', '/admin/v1/machine-users/1/roles/ROOT', admin);
    expect(bad.status).toBe(400);
    expect(bad.body).toMatchObject({ code: 3, details: [{ id: 'ADMIN-MuRol' }] });
    const badId = await call('DELETE', '/admin/v1/machine-users/a_b/tokens/1', admin);
    expect(badId.body).toMatchObject({ code: 3, details: [{ id: 'ADMIN-MuUid' }] });
    const unknown = await call('GET', '/admin/v1/machine-users/123/tokens', admin);
    expect(unknown.status).toBe(404);
    expect(unknown.body).toMatchObject({ code: 5, message: message('COMMAND-P4tNf') });
    const noToken = await call('DELETE', '/admin/v1/machine-users/123/tokens/1');
    expect(noToken.status).toBe(401);
  });
});
