import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AUTHENTICATOR, type Authenticator } from '#auth';
import { readInstance } from '#org';
import { startAdminTestServer, type AdminTestServer } from '#server/testing';

describe('admin routes', () => {
  let dir: string;
  let server: AdminTestServer;
  let adminToken: string;

  /** `token` '' sends no Authorization header. */
  const post = async (path: string, body: unknown, token: string = adminToken, raw?: string) => {
    const res = await fetch(`${server.url}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
      body: raw ?? JSON.stringify(body),
    });
    return { status: res.status, body: (await res.json()) as Record<string, any>, headers: res.headers };
  };

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'admin-routes-'));
    server = await startAdminTestServer(dir);
    adminToken = readFileSync(join(dir, 'admin.pat'), 'utf8').trim();
  });
  afterAll(async () => {
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('creates an organization with the admin token', async () => {
    const res = await post('/admin/v1/orgs', { name: 'ACME' });
    expect(res.status).toBe(201);
    expect(res.body).toEqual({ orgId: expect.stringMatching(/^\d{18,19}$/) });
  });

  it('creates a machine user with a role and returns its token once; the token works', async () => {
    const org = await post('/admin/v1/orgs', { name: 'Widgets' });
    const res = await post('/admin/v1/machine-users', { name: 'Widget Bot', role: 'ORG_OWNER', orgId: org.body.orgId });
    expect(res.status).toBe(201);
    expect(res.body).toEqual({ userId: expect.stringMatching(/^\d+$/), tokenId: expect.any(String), token: expect.stringMatching(/^pat_/) });
    const caller = await server.app.get<Authenticator>(AUTHENTICATOR).authenticate(`Bearer ${res.body.token}`);
    expect(caller).toMatchObject({ userId: res.body.userId, orgId: org.body.orgId, roles: [{ role: 'ORG_OWNER', orgId: org.body.orgId }] });

    // That owner may add users to its organization, but may not create organizations (403).
    const denied = await post('/admin/v1/orgs', { name: 'Nope' }, res.body.token);
    expect(denied.status).toBe(403);
    expect(denied.body).toEqual({
      code: 7,
      message: 'No matching permissions found (AUTH-AWfge)',
      details: [{ '@type': 'type.googleapis.com/zitadel.v1.ErrorDetail', id: 'AUTH-AWfge', message: 'No matching permissions found' }],
    });
    const helper = await post('/admin/v1/machine-users', { name: 'helper', role: 'ORG_USER_MANAGER' }, res.body.token);
    expect(helper.status).toBe(201);
    const escalation = await post('/admin/v1/machine-users', { name: 'boss', role: 'IAM_OWNER' }, res.body.token);
    expect(escalation.status).toBe(403);
  });

  it('puts users in the default organization unless told otherwise', async () => {
    const res = await post('/admin/v1/machine-users', { name: 'login client', role: 'IAM_LOGIN_CLIENT' });
    const caller = await server.app.get<Authenticator>(AUTHENTICATOR).authenticate(`Bearer ${res.body.token}`);
    expect(caller.orgId).toBe((await readInstance(server.store))!.defaultOrgId);
  });

  it('answers 401 without a token or with a bad one', async () => {
    const missing = await post('/admin/v1/orgs', { name: 'x' }, '');
    expect(missing.status).toBe(401);
    expect(missing.body).toMatchObject({ code: 16, details: [{ id: 'AUTH-Mz7q2' }] });
    // As the REST API (grpc-gateway) sets it: the status message.
    expect(missing.headers.get('www-authenticate')).toBe('Authorization header is missing (AUTH-Mz7q2)');
    const bad = await post('/admin/v1/orgs', { name: 'x' }, `${adminToken.slice(0, -2)}xx`);
    expect(bad.status).toBe(401);
    expect(bad.body).toMatchObject({ code: 16, message: 'Errors.Token.Invalid (AUTH-7fs1e)' });
  });

  it('answers 400 for a malformed body and 409 for a taken username', async () => {
    const noName = await post('/admin/v1/orgs', {});
    expect(noName.status).toBe(400);
    expect(noName.body).toEqual({
      code: 3,
      message: 'invalid request: name must be a string (ADMIN-OrgNm)',
      details: [{ '@type': 'type.googleapis.com/zitadel.v1.ErrorDetail', id: 'ADMIN-OrgNm', message: 'invalid request: name must be a string' }],
    });
    const badRole = await post('/admin/v1/machine-users', { name: 'x', role: 'ROOT' });
    expect(badRole.status).toBe(400);
    expect(badRole.body).toMatchObject({ code: 3, message: expect.stringContaining('role must be one of'), details: [{ id: 'ADMIN-MuRol' }] });
    // Malformed JSON is refused by the app's body parser, before the route: same shape, no ErrorDetail.
    const notJson = await post('/admin/v1/orgs', undefined, adminToken, '{not json');
    expect(notJson.status).toBe(400);
    expect(notJson.body).toEqual({ code: 3, message: expect.any(String) });

    expect((await post('/admin/v1/machine-users', { name: 'twin', role: 'IAM_LOGIN_CLIENT' })).status).toBe(201);
    const taken = await post('/admin/v1/machine-users', { name: 'Twin', role: 'IAM_LOGIN_CLIENT' });
    expect(taken.status).toBe(409);
    expect(taken.body).toMatchObject({ code: 6, details: [{ id: 'V3-DKcYh' }] });
    const unknownOrg = await post('/admin/v1/machine-users', { name: 'lost', role: 'ORG_OWNER', orgId: '1' });
    expect(unknownOrg.status).toBe(404);
  });

  it('checks bodies with the DTOs before anything runs: nothing is written for a refused body', async () => {
    const head = await server.store.headPosition();
    const wrongType = await post('/admin/v1/machine-users', { name: 42, role: 'ORG_OWNER', description: ['x'] });
    expect(wrongType.status).toBe(400);
    expect(wrongType.body).toEqual({
      code: 3,
      message: 'invalid request: name must be a string; description must be a string (ADMIN-MuNam)',
      details: [
        {
          '@type': 'type.googleapis.com/zitadel.v1.ErrorDetail',
          id: 'ADMIN-MuNam',
          message: 'invalid request: name must be a string; description must be a string',
        },
      ],
    });
    // A field the route does not know is refused, not ignored.
    const unknownField = await post('/admin/v1/orgs', { name: 'Typo Inc', nmae: 'x' });
    expect(unknownField.status).toBe(400);
    expect(unknownField.body).toMatchObject({ code: 3, message: expect.stringContaining('property nmae should not exist'), details: [{ id: 'ADMIN-Req00' }] });
    // With an unknown field and a missing one, the id names the missing one.
    const typo = await post('/admin/v1/orgs', { nmae: 'Typo Inc' });
    expect(typo.body).toMatchObject({ code: 3, message: expect.stringMatching(/property nmae should not exist.*name must be a string/), details: [{ id: 'ADMIN-OrgNm' }] });
    const notAnObject = await post('/admin/v1/orgs', [{ name: 'List Inc' }]);
    expect(notAnObject.status).toBe(400);
    expect(notAnObject.body).toMatchObject({ code: 3, details: [{ id: expect.stringMatching(/^ADMIN-/) }] });
    expect(await server.store.headPosition()).toEqual(head);
  });

  it('authenticates before it looks at the body', async () => {
    const res = await post('/admin/v1/orgs', { nmae: 'x' }, '');
    expect(res.status).toBe(401);
    expect(res.body).toMatchObject({ code: 16, details: [{ id: 'AUTH-Mz7q2' }] });
  });

  it('answers an unknown route in the same shape', async () => {
    const res = await post('/admin/v1/nothing-here', {});
    expect(res).toMatchObject({ status: 404, body: { code: 5, message: expect.any(String) } });
  });
});
