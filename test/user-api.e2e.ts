import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { restClient, startTestServer, storeKinds, type TestServer } from '#test-support';

const longId = '1'.repeat(201);

describe.each(storeKinds())('UserService over REST (%s)', (kind) => {
  let t: TestServer;
  let call: ReturnType<typeof restClient>;
  let admin: string;
  let defaultOrg: string;
  let loginClient: string;
  let otherOrgManager: string;
  let orgManager: string;

  async function machineUser(role: string, orgId?: string) {
    const res = await call('POST', '/admin/v1/machine-users', admin, { name: `m-${role}-${Math.random().toString(36).slice(2, 8)}`, role, ...(orgId ? { orgId } : {}) });
    expect(res.status).toBe(201);
    return res.body as { userId: string; token: string };
  }

  async function human(options: { verify?: boolean; username?: string } = {}) {
    const username = options.username ?? `u${Math.random().toString(36).slice(2, 10)}`;
    const res = await call('POST', '/v2/users/human', admin, {
      username,
      profile: { givenName: 'Ada', familyName: 'Lovelace' },
      email: { email: `${username}@example.com`, returnCode: {} },
    });
    expect(res.status).toBe(200);
    const { userId, emailCode } = res.body;
    if (options.verify !== false) {
      const verified = await call('POST', `/v2/users/${userId}/email/verify`, admin, { verificationCode: emailCode });
      expect(verified.status).toBe(200);
    }
    return userId as string;
  }

  beforeAll(async () => {
    t = await startTestServer(kind);
    call = restClient(t.url);
    admin = t.adminToken;
    const first = await call('POST', '/v2/users/human', admin, {
      profile: { givenName: 'First', familyName: 'User' },
      email: { email: 'first@example.com', isVerified: true },
    });
    expect(first.status).toBe(200); // v2 AddHumanUser: success_code 200 in the descriptor (v2beta had 201)
    defaultOrg = first.body.details.resourceOwner;
    const otherOrg = (await call('POST', '/admin/v1/orgs', admin, { name: 'Other' })).body.orgId;
    loginClient = (await machineUser('IAM_LOGIN_CLIENT')).token;
    otherOrgManager = (await machineUser('ORG_USER_MANAGER', otherOrg)).token;
    orgManager = (await machineUser('ORG_USER_MANAGER')).token;
  });
  afterAll(async () => {
    await t?.stop();
  });

  const expectError = (res: { status: number; body: any }, status: number, code: number, id?: string) => {
    expect(res.status).toBe(status);
    expect(res.body.code).toBe(code);
    if (id) {
      expect(res.body.message).toMatch(new RegExp(`\\(${id}\\)$`));
      expect(res.body.details).toEqual([
        { '@type': 'type.googleapis.com/zitadel.v1.ErrorDetail', id, message: res.body.message.replace(` (${id})`, '') },
      ]);
    } else {
      expect(res.body).not.toHaveProperty('details');
    }
    expect(JSON.stringify(res.body)).not.toMatch(/at .*\.(ts|js):\d+/); // no stack trace
  };

  it('adds OTP Email with the appended event’s details, then refuses a second one with 409', async () => {
    const userId = await human();
    const before = Date.now();
    const res = await call('POST', `/v2/users/${userId}/otp_email`, admin, {});
    expect(res.status).toBe(200);
    // human.added, email.code.added, email.verified, otp.email.added
    expect(res.body).toEqual({ details: { sequence: '4', changeDate: expect.any(String), resourceOwner: defaultOrg } });
    expect(Date.parse(res.body.details.changeDate)).toBeGreaterThanOrEqual(before - 5_000);
    expect(res.body.details.changeDate).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/);

    expectError(await call('POST', `/v2/users/${userId}/otp_email`, admin, {}), 409, 6, 'COMMAND-MKL2s');
    const methods = await call('GET', `/v2/users/${userId}/authentication_methods`, admin);
    expect(methods.status).toBe(200);
    expect(methods.body.authMethodTypes).toContain('AUTHENTICATION_METHOD_TYPE_OTP_EMAIL');
  });

  it('answers 401 without a token and with a bad one', async () => {
    const userId = await human();
    // As ZITADEL's auth interceptor: no header → a plain "auth header missing", no ErrorDetail.
    const missing = await call('POST', `/v2/users/${userId}/otp_email`, undefined, {});
    expectError(missing, 401, 16);
    expect(missing.body.message).toBe('auth header missing');
    expectError(await call('POST', `/v2/users/${userId}/otp_email`, 'not-a-token', {}), 401, 16, 'AUTH-7fs1e');
    const tampered = await call('POST', `/v2/users/${userId}/otp_email`, `${admin.slice(0, -3)}xyz`, {});
    expect(tampered.status).toBe(401);
  });

  it('validates the user id (over 200 characters) with 400 code 3 and no ErrorDetail', async () => {
    expectError(await call('POST', `/v2/users/${longId}/otp_email`, admin, {}), 400, 3);
    expectError(await call('DELETE', `/v2/users/${longId}/otp_email`, admin), 400, 3);
  });

  it('refuses AddOTPEmail without user.credential.write with 403 AUTH-AWfge', async () => {
    const userId = await human();
    // ZITADEL's ORG_USER_MANAGER manages users, not their credentials; its login client may add them.
    expectError(await call('POST', `/v2/users/${userId}/otp_email`, orgManager, {}), 403, 7, 'AUTH-AWfge');
    expectError(await call('POST', `/v2/users/${userId}/otp_email`, otherOrgManager, {}), 403, 7, 'AUTH-AWfge');
    expect((await call('POST', `/v2/users/${userId}/otp_email`, loginClient, {})).status).toBe(200);
  });

  it('answers 404 COMMAND-4g3xq for an unknown user', async () => {
    expectError(await call('POST', '/v2/users/123456789/otp_email', admin, {}), 404, 5, 'COMMAND-4g3xq');
    expectError(await call('DELETE', '/v2/users/123456789/otp_email', admin), 404, 5, 'COMMAND-4g3xq');
  });

  it('answers 400 code 9 COMMAND-KLJ2d for an unverified email and for a machine user', async () => {
    const unverified = await human({ verify: false });
    expectError(await call('POST', `/v2/users/${unverified}/otp_email`, admin, {}), 400, 9, 'COMMAND-KLJ2d');
    const machine = await machineUser('IAM_LOGIN_CLIENT');
    expectError(await call('POST', `/v2/users/${machine.userId}/otp_email`, admin, {}), 400, 9, 'COMMAND-KLJ2d');
  });

  it('removes OTP Email: 403 without user.write, 404 COMMAND-b312D when not added', async () => {
    const userId = await human();
    expectError(await call('DELETE', `/v2/users/${userId}/otp_email`, admin), 404, 5, 'COMMAND-b312D');
    expect((await call('POST', `/v2/users/${userId}/otp_email`, admin, {})).status).toBe(200);
    expectError(await call('DELETE', `/v2/users/${userId}/otp_email`, otherOrgManager), 403, 7, 'AUTH-AWfge');
    const removed = await call('DELETE', `/v2/users/${userId}/otp_email`, admin);
    expect(removed.status).toBe(200);
    expect(removed.body.details.sequence).toBe('5');
  });

  it('lets exactly one of 20 concurrent AddOTPEmail calls succeed; the rest get 409', async () => {
    const userId = await human();
    const results = await Promise.all(Array.from({ length: 20 }, () => call('POST', `/v2/users/${userId}/otp_email`, admin, {})));
    expect(results.filter((r) => r.status === 200)).toHaveLength(1);
    const conflicts = results.filter((r) => r.status === 409);
    expect(conflicts).toHaveLength(19);
    for (const r of conflicts) expect(r.body.details[0].id).toBe('COMMAND-MKL2s');
  });

  it('answers 404, 405 and 413 in the gateway shape', async () => {
    expect(await call('GET', '/v2/nothing-here', admin)).toEqual({ status: 404, body: { code: 5, message: 'Not Found' } });
    const wrongVerb = await call('PUT', '/v2/users/1/otp_email', admin, {});
    expect(wrongVerb.status).toBe(405);
    expect(wrongVerb.body.code).toBe(12);
    const big = await call('POST', '/v2/users/1/otp_email', admin, { padding: 'x'.repeat(1024 * 1024 + 10) });
    expect(big.status).toBe(413);
    expect(big.body.code).toBe(8);
  });

  it('answers 400 code 3 for malformed JSON and changes nothing', async () => {
    const userId = await human();
    const res = await fetch(`${t.url}/v2/users/${userId}/otp_email`, {
      method: 'POST',
      headers: { authorization: `Bearer ${admin}`, 'content-type': 'application/json' },
      body: '{"userId":',
    });
    expect(res.status).toBe(400);
    expect(((await res.json()) as { code: number }).code).toBe(3);
    const methods = await call('GET', `/v2/users/${userId}/authentication_methods`, admin);
    expect(methods.body.authMethodTypes ?? []).not.toContain('AUTHENTICATION_METHOD_TYPE_OTP_EMAIL');
  });

  it('refuses a taken username with 409', async () => {
    const username = `dup${Math.random().toString(36).slice(2, 8)}`;
    await human({ username, verify: false });
    const res = await call('POST', '/v2/users/human', admin, {
      username,
      profile: { givenName: 'B', familyName: 'C' },
      email: { email: 'b@example.com', returnCode: {} },
    });
    expect(res.status).toBe(409);
    expect(res.body.code).toBe(6);
  });

  it('keeps the email unverified after a wrong code', async () => {
    const userId = await human({ verify: false });
    const set = await call('POST', `/v2/users/${userId}/email`, admin, { email: 'new@example.com', returnCode: {} });
    expect(set.status).toBe(200);
    expect(set.body.verificationCode).toMatch(/^[A-Z2-9]{6}$/);
    const wrong = await call('POST', `/v2/users/${userId}/email/verify`, admin, { verificationCode: 'WRONG1' });
    expectError(wrong, 400, 3, 'COMMAND-eis9R');
    expectError(await call('POST', `/v2/users/${userId}/otp_email`, admin, {}), 400, 9, 'COMMAND-KLJ2d');
    expect((await call('POST', `/v2/users/${userId}/email/verify`, admin, { verificationCode: set.body.verificationCode })).status).toBe(200);
    expect((await call('POST', `/v2/users/${userId}/otp_email`, admin, {})).status).toBe(200);
  });
});
