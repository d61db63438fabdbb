import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createClient } from '@connectrpc/connect';
import { createConnectTransport, createGrpcTransport } from '@connectrpc/connect-node';
import { UserService } from '@zitadel/proto/zitadel/user/v2/user_service_pb.js';
import { DEFAULT_ROLE_PERMISSIONS, INSTANCE_ROLES, ROLES, type Role } from '#access';
import { startTestServer, storeKinds, type TestServer } from '#test-support';

// Every role of the table, on its own organization, another organization, or the instance,
// against each method over REST: allowed exactly when ZITADEL's table gives the role the
// permission ZITADEL's method checks, where the role holds.

type Call = (method: string, path: string, token: string, body?: unknown, headers?: Record<string, string>) => Promise<{ status: number; body: any }>;

function rest(baseUrl: string): Call {
  return async (method, path, token, body, headers = {}) => {
    const res = await fetch(`${baseUrl}${path}`, {
      method,
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', ...headers },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
    const text = await res.text();
    return { status: res.status, body: text ? JSON.parse(text) : undefined };
  };
}

const unique = () => Math.random().toString(36).slice(2, 10);

describe.each(storeKinds())('roles, permissions and the organization header (%s)', (kind) => {
  let t: TestServer;
  let call: Call;
  let admin: string;
  let ownOrg: string;
  let otherOrg: string;

  async function machineUser(role: Role, orgId?: string): Promise<string> {
    const res = await call('POST', '/admin/v1/machine-users', admin, { name: `m-${unique()}`, role, ...(orgId ? { orgId } : {}) });
    expect(res.status).toBe(201);
    return res.body.token;
  }

  /** A human in `orgId`; verified unless told otherwise; with OTP Email when asked. */
  async function human(orgId: string, options: { verify?: boolean; otp?: boolean } = {}): Promise<{ userId: string; code: string }> {
    const username = `u${unique()}`;
    const added = await call('POST', '/v2/users/human', admin, {
      username,
      organization: { orgId },
      profile: { givenName: 'Ada', familyName: 'Lovelace' },
      email: { email: `${username}@example.com`, returnCode: {} },
    });
    expect(added.status).toBe(200);
    const { userId, emailCode } = added.body;
    if (options.verify !== false) expect((await call('POST', `/v2/users/${userId}/email/verify`, admin, { verificationCode: emailCode })).status).toBe(200);
    if (options.otp) expect((await call('POST', `/v2/users/${userId}/otp_email`, admin, {})).status).toBe(200);
    return { userId, code: emailCode };
  }

  async function sessionOf(userId: string): Promise<string> {
    const res = await call('POST', '/v2/sessions', admin, { checks: { user: { userId } } });
    expect(res.status).toBe(201); // CreateSession's success_code
    return res.body.sessionId;
  }

  beforeAll(async () => {
    t = await startTestServer(kind);
    call = rest(t.url);
    admin = t.adminToken;
    ownOrg = (await call('POST', '/admin/v1/orgs', admin, { name: 'Own' })).body.orgId;
    otherOrg = (await call('POST', '/admin/v1/orgs', admin, { name: 'Other' })).body.orgId;
  });
  afterAll(async () => {
    await t?.stop();
  });

  // method → the permission ZITADEL checks (none: VerifyEmail), and one call of it on a fresh target in `orgId`
  const methods: { name: string; permission: string | undefined; instanceWide?: boolean; run: (token: string, orgId: string) => Promise<{ status: number; body: any }> }[] = [
    { name: 'AddHumanUser', permission: 'user.write', run: (token, orgId) => call('POST', '/v2/users/human', token, { organization: { orgId }, profile: { givenName: 'A', familyName: 'B' }, email: { email: `${unique()}@example.com` } }) },
    { name: 'GetUserByID', permission: 'user.read', run: async (token, orgId) => call('GET', `/v2/users/${(await human(orgId)).userId}`, token) },
    { name: 'SetEmail', permission: 'user.write', run: async (token, orgId) => call('POST', `/v2/users/${(await human(orgId)).userId}/email`, token, { email: `${unique()}@example.com`, returnCode: {} }) },
    { name: 'VerifyEmail', permission: undefined, run: async (token, orgId) => { const { userId, code } = await human(orgId, { verify: false }); return call('POST', `/v2/users/${userId}/email/verify`, token, { verificationCode: code }); } },
    { name: 'AddOTPEmail', permission: 'user.credential.write', run: async (token, orgId) => call('POST', `/v2/users/${(await human(orgId)).userId}/otp_email`, token, {}) },
    { name: 'RemoveOTPEmail', permission: 'user.write', run: async (token, orgId) => call('DELETE', `/v2/users/${(await human(orgId, { otp: true })).userId}/otp_email`, token) },
    { name: 'CreateSession', permission: 'session.write', instanceWide: true, run: async (token, orgId) => call('POST', '/v2/sessions', token, { checks: { user: { userId: (await human(orgId)).userId } } }) },
    { name: 'GetSession', permission: 'session.read', run: async (token, orgId) => call('GET', `/v2/sessions/${await sessionOf((await human(orgId)).userId)}`, token) },
    { name: 'DeleteSession', permission: 'session.delete', run: async (token, orgId) => call('DELETE', `/v2/sessions/${await sessionOf((await human(orgId)).userId)}`, token, {}) },
  ];

  const scopes = (role: Role) => (INSTANCE_ROLES.includes(role) ? (['instance-wide'] as const) : (['own org', 'other org'] as const));
  const cases = ROLES.flatMap((role) => scopes(role).flatMap((scope) => methods.map((m) => [role, scope, m.name] as const)));
  const tokens = new Map<Role, string>();

  it.each(cases)('%s (%s) %s', async (role, scope, name) => {
    const method = methods.find((m) => m.name === name)!;
    if (!tokens.has(role)) tokens.set(role, await machineUser(role, INSTANCE_ROLES.includes(role) ? undefined : ownOrg));
    const held = method.permission === undefined || DEFAULT_ROLE_PERMISSIONS[role].includes(method.permission);
    // organization roles count only in their organization; session.write is checked on the instance
    const where = scope === 'other org' || (method.instanceWide && scope !== 'instance-wide') ? 'outside' : 'inside';
    const allowed = method.permission === undefined || (held && where === 'inside');
    const res = await method.run(tokens.get(role)!, scope === 'other org' ? otherOrg : ownOrg);
    if (allowed) expect(res).toMatchObject({ status: name === 'CreateSession' ? 201 : 200 });
    else expect(res).toMatchObject({ status: 403, body: { message: 'No matching permissions found (AUTH-AWfge)' } });
  });

  it('an IAM_LOGIN_CLIENT runs the hosted login: registers a user, verifies the email, adds OTP Email, and the session flow', async () => {
    const login = await machineUser('IAM_LOGIN_CLIENT');
    const username = `reg${unique()}`;
    const added = await call('POST', '/v2/users/human', login, { username, profile: { givenName: 'Reg', familyName: 'Istered' }, email: { email: `${username}@example.com`, returnCode: {} } }, { 'x-zitadel-orgid': ownOrg });
    expect(added).toMatchObject({ status: 200, body: { details: { resourceOwner: ownOrg } } });
    const { userId, emailCode } = added.body;
    expect((await call('POST', `/v2/users/${userId}/email/verify`, login, { verificationCode: emailCode })).status).toBe(200);
    expect((await call('POST', `/v2/users/${userId}/otp_email`, login, {})).status).toBe(200);
    const created = await call('POST', '/v2/sessions', login, { checks: { user: { userId } }, challenges: { otpEmail: { returnCode: {} } } });
    expect(created.status).toBe(201);
    const checked = await call('PATCH', `/v2/sessions/${created.body.sessionId}`, login, { checks: { otpEmail: { code: created.body.challenges.otpEmail } } });
    expect(checked).toMatchObject({ status: 200 });
    const got = await call('GET', `/v2/sessions/${created.body.sessionId}`, login);
    expect(got.body.session.factors.otpEmail.verifiedAt).toBeDefined();
    expect((await call('DELETE', `/v2/sessions/${created.body.sessionId}`, login, {})).status).toBe(200);
  });

  it('an ORG_USER_MANAGER reads and deletes its organization’s sessions, but may not add OTP Email', async () => {
    const manager = await machineUser('ORG_USER_MANAGER', ownOrg);
    const { userId } = await human(ownOrg);
    const sessionId = await sessionOf(userId);
    expect((await call('GET', `/v2/sessions/${sessionId}`, manager)).status).toBe(200);
    expect((await call('DELETE', `/v2/sessions/${sessionId}`, manager, {})).status).toBe(200);
    expect(await call('POST', `/v2/users/${userId}/otp_email`, manager, {})).toMatchObject({ status: 403, body: { message: 'No matching permissions found (AUTH-AWfge)' } });
  });

  it('ListAuthenticationMethodTypes checks user.read on the request’s organization, not the user’s, as ZITADEL; GetUserByID on the user’s', async () => {
    const manager = await machineUser('ORG_USER_MANAGER', ownOrg);
    const { userId } = await human(otherOrg, { otp: true });
    const path = `/v2/users/${userId}/authentication_methods`;
    // The manager's own organization is the request's: it holds user.read there.
    expect(await call('GET', path, manager)).toMatchObject({ status: 200, body: { authMethodTypes: ['AUTHENTICATION_METHOD_TYPE_OTP_EMAIL'] } });
    expect(await call('GET', path, manager, undefined, { 'x-zitadel-orgid': otherOrg })).toMatchObject({ status: 403, body: { message: 'No matching permissions found (AUTH-AWfge)' } });
    expect(await call('GET', `/v2/users/${userId}`, manager)).toMatchObject({ status: 403, body: { message: 'No matching permissions found (AUTH-AWfge)' } });
    // A manager of the user's organization, asking in the name of another one, is refused.
    const otherManager = await machineUser('ORG_USER_MANAGER', otherOrg);
    expect(await call('GET', path, otherManager, undefined, { 'x-zitadel-orgid': ownOrg })).toMatchObject({ status: 403 });
    expect(await call('GET', path, otherManager)).toMatchObject({ status: 200 });
    // The same over gRPC, with the organization in the metadata.
    const users = createClient(UserService, createGrpcTransport({ baseUrl: t.url }));
    const auth = { authorization: `Bearer ${manager}` };
    expect((await users.listAuthenticationMethodTypes({ userId }, { headers: auth })).authMethodTypes).toEqual([7 /* AUTHENTICATION_METHOD_TYPE_OTP_EMAIL */]);
    await expect(users.listAuthenticationMethodTypes({ userId }, { headers: { ...auth, 'x-zitadel-orgid': otherOrg } })).rejects.toMatchObject({ code: 7, rawMessage: 'No matching permissions found (AUTH-AWfge)' });
  });

  it('x-zitadel-orgid puts AddHumanUser in that organization on REST, gRPC and Connect; an unknown one is 403 AUTH-Bs7Ds', async () => {
    const headers = { 'x-zitadel-orgid': otherOrg };
    const body = () => ({ profile: { givenName: 'H', familyName: 'Eader' }, email: { email: `${unique()}@example.com` } });
    const viaRest = await call('POST', '/v2/users/human', admin, body(), headers);
    expect(viaRest).toMatchObject({ status: 200, body: { details: { resourceOwner: otherOrg } } });
    const auth = { authorization: `Bearer ${admin}` };
    for (const transport of [createGrpcTransport({ baseUrl: t.url }), createConnectTransport({ baseUrl: t.url, httpVersion: '1.1' })]) {
      const users = createClient(UserService, transport);
      const added = await users.addHumanUser(body(), { headers: { ...auth, ...headers } });
      expect(added.details?.resourceOwner).toBe(otherOrg);
      await expect(users.addHumanUser(body(), { headers: { ...auth, 'x-zitadel-orgid': '424242' } })).rejects.toMatchObject({ code: 7, rawMessage: "Organisation doesn't exist (AUTH-Bs7Ds)" });
    }
    expect(await call('POST', '/v2/users/human', admin, body(), { 'x-zitadel-orgid': '424242' })).toMatchObject({ status: 403, body: { message: "Organisation doesn't exist (AUTH-Bs7Ds)" } });
    expect(await call('GET', `/v2/users/${viaRest.body.userId}`, admin, undefined, { 'x-zitadel-orgid': '424242' })).toMatchObject({ status: 403 });
    expect(await call('POST', '/v2/users/human', admin, { ...body(), organization: { orgId: '424242' } })).toMatchObject({ status: 403, body: { message: "Organisation doesn't exist (AUTH-Bs7Ds)" } });
  });

  it('VerifyEmail voids a code after five wrong ones: the right code then no longer works', async () => {
    const { userId, code } = await human(ownOrg, { verify: false });
    for (let i = 0; i < 5; i++) expect((await call('POST', `/v2/users/${userId}/email/verify`, admin, { verificationCode: 'WRONG1' })).body.message).toMatch(/\(COMMAND-eis9R\)$/);
    expect((await call('POST', `/v2/users/${userId}/email/verify`, admin, { verificationCode: code })).body.message).toMatch(/\(COMMAND-eis9R\)$/);
    const renewed = await call('POST', `/v2/users/${userId}/email`, admin, { email: `${unique()}@example.com`, returnCode: {} });
    expect((await call('POST', `/v2/users/${userId}/email/verify`, admin, { verificationCode: renewed.body.verificationCode })).status).toBe(200);
  });
});
