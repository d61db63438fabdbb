import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startAdminTestServer, type AdminTestServer } from '#server/testing';

const ERROR_DETAIL = 'type.googleapis.com/zitadel.v1.ErrorDetail';

describe('projection admin routes: refusals', () => {
  let dir: string;
  let server: AdminTestServer;
  let adminToken: string;

  /** `token` '' sends no Authorization header. */
  const call = async (method: string, path: string, body?: unknown, token: string = adminToken) => {
    const res = await fetch(`${server.url}${path}`, {
      method,
      headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
    return { status: res.status, body: (await res.json()) as Record<string, any> };
  };

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'projection-routes-'));
    server = await startAdminTestServer(dir, {}, { projections: true });
    adminToken = readFileSync(join(dir, 'admin.pat'), 'utf8').trim();
  });
  afterAll(async () => {
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('refuses a bad replay body with the DTO’s problem id, and starts nothing', async () => {
    const tooBig = await call('POST', '/admin/v1/projections/users/replay', { batchSize: 1_000_000 });
    expect(tooBig).toEqual({
      status: 400,
      body: {
        code: 3,
        message: 'invalid request: batchSize must not be greater than 100000 (ADMIN-RpBat)',
        details: [{ '@type': ERROR_DETAIL, id: 'ADMIN-RpBat', message: 'invalid request: batchSize must not be greater than 100000' }],
      },
    });
    const notANumber = await call('POST', '/admin/v1/projections/users/replay', { batchSize: '20' });
    expect(notANumber).toMatchObject({ status: 400, body: { code: 3, details: [{ id: 'ADMIN-RpBat' }] } });
    const typo = await call('POST', '/admin/v1/projections/users/replay', { batch_size: 20 });
    expect(typo).toMatchObject({ status: 400, body: { code: 3, message: expect.stringContaining('property batch_size should not exist'), details: [{ id: 'ADMIN-Req00' }] } });
    // Nothing was started: there is no replay to follow.
    expect(await call('GET', '/admin/v1/projections/users/replay')).toEqual({
      status: 404,
      body: {
        code: 5,
        message: 'no replay of users has run in this server process (ADMIN-RpNf0)',
        details: [{ '@type': ERROR_DETAIL, id: 'ADMIN-RpNf0', message: 'no replay of users has run in this server process' }],
      },
    });
  });

  it('answers an unknown projection 404 and a malformed name 400, each with its id', async () => {
    expect(await call('POST', '/admin/v1/projections/nope/verify', {})).toEqual({
      status: 404,
      body: {
        code: 5,
        message: 'there is no projection "nope"; the projections are: users, sessions (ADMIN-PrjNf)',
        details: [{ '@type': ERROR_DETAIL, id: 'ADMIN-PrjNf', message: 'there is no projection "nope"; the projections are: users, sessions' }],
      },
    });
    expect(await call('DELETE', '/admin/v1/projections/nope/replay')).toMatchObject({ status: 404, body: { details: [{ id: 'ADMIN-PrjNf' }] } });
    expect(await call('GET', '/admin/v1/projections/Users%21/replay')).toMatchObject({ status: 400, body: { code: 3, details: [{ id: 'ADMIN-PrjNm' }] } });
  });

  it('authenticates and checks iam.write before it looks at the body', async () => {
    const anonymous = await call('POST', '/admin/v1/projections/users/replay', { batch_size: 20 }, '');
    expect(anonymous).toMatchObject({ status: 401, body: { code: 16, details: [{ id: 'AUTH-Mz7q2' }] } });
    const manager = await call('POST', '/admin/v1/machine-users', { name: 'mgr', role: 'ORG_USER_MANAGER' });
    const denied = await call('POST', '/admin/v1/projections/users/replay', { batch_size: 20 }, manager.body.token);
    expect(denied).toEqual({
      status: 403,
      body: {
        code: 7,
        message: 'No matching permissions found (AUTH-AWfge)',
        details: [{ '@type': ERROR_DETAIL, id: 'AUTH-AWfge', message: 'No matching permissions found' }],
      },
    });
  });
});
