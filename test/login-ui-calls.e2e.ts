import { request } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createServerTransport } from '@zitadel/client/node';
import { createSessionServiceClient, createUserServiceClient } from '@zitadel/client/v2';
import { createAccessTokenInterceptor, createSessionClient, createUserClient } from '@zitadel/node/dist/api/index.js';
import { TextQueryMethod } from '@zitadel/proto/zitadel/object/v2/object_pb.js';
import { createLogger, restClient, startTestServer, storeKinds, type TestServer } from '#test-support';

// What a login UI calls around the factor: v2beta beside v2, ListUsers, session metadata and
// ListSessions. One server for all of them (its start is most of the time).
describe.each(storeKinds())('what login UIs call (%s)', (kind) => {
  let t: TestServer;
  let call: ReturnType<typeof restClient>;
  let defaultOrg: string;
  let otherOrg: string;
  let otherOrgManager: { userId: string; token: string };
  const ids: Record<string, string> = {};

  async function machineUser(role: string, orgId?: string) {
    const res = await call('POST', '/admin/v1/machine-users', t.adminToken, { name: `m-${role}-${Math.random().toString(36).slice(2, 8)}`, role, ...(orgId ? { orgId } : {}) });
    expect(res.status).toBe(201);
    return res.body as { userId: string; token: string };
  }

  async function human(username: string, orgId?: string) {
    const res = await call('POST', '/v2/users/human', t.adminToken, {
      username,
      ...(orgId ? { organization: { orgId } } : {}),
      profile: { givenName: username.toUpperCase(), familyName: 'Test' },
      email: { email: `${username}@example.com`, isVerified: true },
    });
    expect(res.status).toBe(200);
    ids[username] = res.body.userId;
    return res.body as { userId: string; details: { resourceOwner: string } };
  }

  beforeAll(async () => {
    // 127.0.0.2 (loopback too) is the one trusted proxy: a request from 127.0.0.1 is a client's own.
    t = await startTestServer(kind, { TRUSTED_PROXIES: '127.0.0.2' }, process.env.DEBUG_LOG ? createLogger('error', process.stderr) : undefined);
    call = restClient(t.url);
    defaultOrg = (await human('lu-alice')).details.resourceOwner;
    await human('lu-bob');
    otherOrg = (await call('POST', '/admin/v1/orgs', t.adminToken, { name: 'Other' })).body.orgId;
    await human('lu-carol', otherOrg);
    otherOrgManager = await machineUser('ORG_USER_MANAGER', otherOrg);
    // Starting a server (migrations, bootstrap) takes most of a minute on a busy machine.
  }, 180_000);
  afterAll(async () => {
    await t?.stop();
  });

  it('runs the OTP Email flow through @zitadel/node over gRPC', async () => {
    const auth = createAccessTokenInterceptor(t.adminToken);
    const users = createUserClient(t.url, auth);
    const sessions = createSessionClient(t.url, auth);

    const added = await users.addHumanUser({
      username: 'ada',
      profile: { givenName: 'Ada', familyName: 'Lovelace' },
      email: { email: 'ada@example.com', returnCode: {} },
    });
    expect(added.userId).toMatch(/^\d{18,19}$/);
    expect(added.emailCode).toBeTruthy();
    const userId = added.userId;
    await users.verifyEmail({ userId, verificationCode: added.emailCode! });
    const otp = await users.addOTPEmail({ userId });
    expect(otp.details?.resourceOwner).toBe(added.details?.resourceOwner);
    expect((await users.listAuthenticationMethodTypes({ userId })).authMethodTypes).toContain(7 /* AUTHENTICATION_METHOD_TYPE_OTP_EMAIL */);

    const created = await sessions.createSession({
      checks: { user: { loginName: 'ada' } },
      challenges: { otpEmail: { returnCode: {} } },
      metadata: {},
    });
    const code = created.challenges?.otpEmail;
    expect(code).toMatch(/^\d{8}$/);
    const checked = await sessions.setSession({ sessionId: created.sessionId, sessionToken: '', checks: { otpEmail: { code: code! } }, metadata: {} });
    expect(checked.sessionToken).toBeTruthy();
    const session = await sessions.getSession({ sessionId: created.sessionId });
    expect(session.session?.factors?.user?.id).toBe(userId);
    expect(session.session?.factors?.otpEmail?.verifiedAt).toBeInstanceOf(Date);

    const removed = await users.removeOTPEmail({ userId });
    expect(Number(removed.details!.sequence)).toBeGreaterThan(Number(otp.details!.sequence));
    const user = await users.getUserByID({ userId });
    expect(user.user?.username).toBe('ada');
    expect(user.user?.human?.email?.isVerified).toBe(true);
    await sessions.deleteSession({ sessionId: created.sessionId });
  });

  it('answers REST under /v2beta with the descriptors\' success codes and the same errors as v2', async () => {
    const call = restClient(t.url);
    const added = await call('POST', '/v2beta/users/human', t.adminToken, {
      username: 'mary',
      profile: { givenName: 'Mary', familyName: 'Jackson' },
      email: { email: 'mary@example.com', isVerified: true },
    });
    expect(added.status).toBe(201);
    const userId = added.body.userId as string;
    const otp = await call('POST', `/v2beta/users/${userId}/otp_email`, t.adminToken, {});
    expect(otp).toMatchObject({ status: 200, body: { details: { resourceOwner: added.body.details.resourceOwner } } });
    const again = await call('POST', `/v2beta/users/${userId}/otp_email`, t.adminToken, {});
    const v2again = await call('POST', `/v2/users/${userId}/otp_email`, t.adminToken, {});
    expect(again.status).toBe(409);
    expect(again).toEqual(v2again);
    // UnlockUser of a user that is not locked: the same refusal on both versions, never a 500.
    const unlock = await call('POST', `/v2beta/users/${userId}/unlock`, t.adminToken, {});
    expect(unlock.status).toBeLessThan(500);
    expect(unlock).toEqual(await call('POST', `/v2/users/${userId}/unlock`, t.adminToken, {}));
    const session = await call('POST', '/v2beta/sessions', t.adminToken, { checks: { user: { userId } } });
    expect(session.status).toBe(201);
    const got = await call('GET', `/v2beta/sessions/${session.body.sessionId}`, t.adminToken);
    expect(got).toMatchObject({ status: 200, body: { session: { id: session.body.sessionId, factors: { user: { id: userId, loginName: 'mary' } } } } });
  });

  it('answers Connect JSON on zitadel.user.v2beta.UserService', async () => {
    const res = await fetch(`${t.url}/zitadel.user.v2beta.UserService/GetUserByID`, {
      method: 'POST',
      headers: { authorization: `Bearer ${t.adminToken}`, 'content-type': 'application/json' },
      body: JSON.stringify({ userId: '1' }),
    });
    expect(res.status).toBe(404);
    expect(await res.json()).toMatchObject({ code: 'not_found' });
  });

  describe('ListUsers', () => {
    const startsWithLu = { userNameQuery: { userName: 'lu-', method: 'TEXT_QUERY_METHOD_STARTS_WITH' } };
    const names = (body: any) => (body.result ?? []).map((u: any) => u.username);

    it('filters, sorts and pages over REST, with the total before paging', async () => {
      const first = await call('POST', '/v2/users', t.adminToken, { query: { limit: 2, asc: true }, sortingColumn: 'USER_FIELD_NAME_USER_NAME', queries: [startsWithLu] });
      expect(first.status).toBe(200);
      expect(names(first.body)).toEqual(['lu-alice', 'lu-bob']);
      expect(first.body.details.totalResult).toBe('3');
      // As ZITADEL: the sorting column is not echoed.
      expect(first.body).not.toHaveProperty('sortingColumn');
      const second = await call('POST', '/v2/users', t.adminToken, { query: { offset: 2, limit: 2, asc: true }, sortingColumn: 'USER_FIELD_NAME_USER_NAME', queries: [startsWithLu] });
      expect(names(second.body)).toEqual(['lu-carol']);
      const descending = await call('POST', '/v2/users', t.adminToken, { sortingColumn: 'USER_FIELD_NAME_USER_NAME', queries: [startsWithLu] });
      expect(names(descending.body)).toEqual(['lu-carol', 'lu-bob', 'lu-alice']);
      const alice = descending.body.result[2];
      expect(alice).toMatchObject({
        userId: ids['lu-alice'],
        state: 'USER_STATE_ACTIVE',
        loginNames: ['lu-alice'],
        preferredLoginName: 'lu-alice',
        details: { resourceOwner: defaultOrg, creationDate: expect.any(String) },
        human: { profile: { givenName: 'LU-ALICE', familyName: 'Test', nickName: '', gender: 'GENDER_UNSPECIFIED' }, email: { email: 'lu-alice@example.com', isVerified: true } },
      });
    });

    it('combines queries with and, or and not, and matches organization, type, state, ids and emails', async () => {
      const list = async (queries: unknown[]) => {
        const res = await call('POST', '/v2/users', t.adminToken, { query: { asc: true }, sortingColumn: 'USER_FIELD_NAME_USER_NAME', queries });
        expect(res.status).toBe(200);
        return names(res.body);
      };
      expect(
        await list([
          {
            orQuery: {
              queries: [
                { loginNameQuery: { loginName: 'LU-ALICE', method: 'TEXT_QUERY_METHOD_EQUALS_IGNORE_CASE' } },
                { emailQuery: { emailAddress: 'lu-carol@example.com' } },
                { userNameQuery: { userName: 'bo', method: 'TEXT_QUERY_METHOD_CONTAINS' } },
              ],
            },
          },
          { notQuery: { query: { organizationIdQuery: { organizationId: otherOrg } } } },
        ]),
      ).toEqual(['lu-alice', 'lu-bob']);
      expect(await list([startsWithLu, { organizationIdQuery: { organizationId: otherOrg } }])).toEqual(['lu-carol']);
      expect(await list([startsWithLu, { typeQuery: { type: 'TYPE_MACHINE' } }])).toEqual([]);
      expect(await list([startsWithLu, { typeQuery: { type: 'TYPE_HUMAN' } }, { stateQuery: { state: 'USER_STATE_ACTIVE' } }])).toHaveLength(3);
      expect(await list([startsWithLu, { stateQuery: { state: 'USER_STATE_LOCKED' } }])).toEqual([]);
      expect(await list([{ inUserIdsQuery: { userIds: [ids['lu-bob'], ids['lu-carol'], '404'] } }])).toEqual(['lu-bob', 'lu-carol']);
      expect(await list([{ inUserEmailsQuery: { userEmails: ['lu-bob@example.com'] } }])).toEqual(['lu-bob']);
      expect(await list([{ andQuery: { queries: [startsWithLu, { userNameQuery: { userName: '%', method: 'TEXT_QUERY_METHOD_CONTAINS' } }] } }])).toEqual([]);
      expect(await list([{ andQuery: { queries: [] } }, startsWithLu])).toHaveLength(3);
      expect(await list([{ orQuery: { queries: [] } }])).toEqual([]);
    });

    it('lists only users the caller may read: an organization manager sees its organization', async () => {
      const res = await call('POST', '/v2/users', otherOrgManager.token, { queries: [startsWithLu] });
      expect(res.status).toBe(200);
      expect(names(res.body)).toEqual(['lu-carol']);
      expect(res.body.details.totalResult).toBe('1');
      const all = await call('POST', '/v2/users', otherOrgManager.token, {});
      expect(all.body.result.map((u: any) => u.userId).sort()).toEqual([ids['lu-carol'], otherOrgManager.userId].sort());
    });

    it('answers gRPC through @zitadel/client (v2) and @zitadel/node (v2beta), and reads its own writes', async () => {
      const users = createUserServiceClient(createServerTransport(t.adminToken, { baseUrl: t.url }));
      await human('lu-dave');
      const v2 = await users.listUsers({ queries: [{ query: { case: 'loginNameQuery', value: { loginName: 'lu-dave', method: TextQueryMethod.EQUALS } } }] });
      expect(v2.result.map((u) => u.userId)).toEqual([ids['lu-dave']]);
      expect(v2.details?.totalResult).toBe(1n);
      const beta = await createUserClient(t.url, createAccessTokenInterceptor(t.adminToken)).listUsers({
        queries: [{ loginNameQuery: { loginName: 'lu-dave', method: 0 } }],
      });
      expect(beta.result.map((u) => u.userId)).toEqual([ids['lu-dave']]);
    });

    it('refuses an empty query and too deep a nesting over Connect', async () => {
      const connect = async (body: unknown) => {
        const res = await fetch(`${t.url}/zitadel.user.v2.UserService/ListUsers`, {
          method: 'POST',
          headers: { authorization: `Bearer ${t.adminToken}`, 'content-type': 'application/json' },
          body: JSON.stringify(body),
        });
        return { status: res.status, body: (await res.json()) as any };
      };
      // The descriptors' rules refuse a query without a case before ZITADEL's own check would.
      const empty = await connect({ queries: [{}] });
      expect(empty.status).toBe(400);
      expect(empty.body.message).toContain('invalid SearchQuery.Query: value is required');
      let deep: unknown = startsWithLu;
      for (let i = 0; i < 22; i++) deep = { notQuery: { query: deep } };
      const nested = await connect({ queries: [deep] });
      expect(nested.status).toBe(400);
      expect(nested.body.message).toMatch(/\(USER-zsQ97\)$/);
    });
  });

  describe('session metadata', () => {
    const b64 = (text: string) => Buffer.from(text).toString('base64');

    it('is set by CreateSession and SetSession (an empty value removes a key) and read by GetSession, over REST and Connect', async () => {
      const created = await call('POST', '/v2/sessions', t.adminToken, { checks: { user: { loginName: 'lu-alice' } }, metadata: { app: b64('console'), step: b64('1') } });
      expect(created.status).toBe(201);
      const id = created.body.sessionId as string;
      const read = async () => (await call('GET', `/v2/sessions/${id}`, t.adminToken)).body.session.metadata;
      expect(await read()).toEqual({ app: b64('console'), step: b64('1') });

      const set = await call('PATCH', `/v2/sessions/${id}`, t.adminToken, { metadata: { step: b64('2'), app: '' } });
      expect(set.status).toBe(200);
      expect(set.body.sessionToken).toBeTruthy();
      expect(await read()).toEqual({ step: b64('2') });

      // Nothing changes: no event, no new token (as a SetSession without changes).
      const same = await call('PATCH', `/v2/sessions/${id}`, t.adminToken, { metadata: { step: b64('2'), never: '' } });
      expect(same.status).toBe(200);
      expect(same.body.sessionToken ?? '').toBe('');
      expect(same.body.details.sequence).toBe(set.body.details.sequence);

      const connect = await fetch(`${t.url}/zitadel.session.v2.SessionService/GetSession`, {
        method: 'POST',
        headers: { authorization: `Bearer ${t.adminToken}`, 'content-type': 'application/json' },
        body: JSON.stringify({ sessionId: id }),
      });
      expect(((await connect.json()) as any).session.metadata).toEqual({ step: b64('2') });
    });

    it('is set and read over gRPC through @zitadel/node (v2beta)', async () => {
      const sessions = createSessionClient(t.url, createAccessTokenInterceptor(t.adminToken));
      const created = await sessions.createSession({ checks: { user: { loginName: 'lu-bob' } }, metadata: { lang: Buffer.from('de') } });
      const got = await sessions.getSession({ sessionId: created.sessionId });
      expect(Buffer.from(got.session!.metadata['lang']!).toString()).toBe('de');
    });
  });
  describe('ListSessions and the user agent', () => {
    const b64 = (text: string) => Buffer.from(text).toString('base64');
    const userAgent = { fingerprintId: 'fp-ls', ip: '198.51.100.23', description: 'Firefox on Linux', header: { 'accept-language': { values: ['de-CH', 'en'] } } };
    let dave: string;
    let aliceSessions: string[];

    /** REST from a chosen local address (127.0.0.2 is the trusted proxy), with extra headers. */
    function restFrom(localAddress: string, path: string, body: unknown, headers: Record<string, string> = {}): Promise<{ status: number; body: any }> {
      const url = new URL(path, t.url);
      const payload = JSON.stringify(body);
      return new Promise((resolve, reject) => {
        const req = request(
          { host: url.hostname, port: url.port, path: url.pathname, method: 'POST', localAddress, headers: { authorization: `Bearer ${t.adminToken}`, 'content-type': 'application/json', ...headers } },
          (res) => {
            let text = '';
            res.on('data', (chunk) => (text += String(chunk)));
            res.on('end', () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(text) }));
          },
        );
        req.on('error', reject);
        req.end(payload);
      });
    }

    beforeAll(async () => {
      dave = ids['lu-dave'] ?? (await human('lu-dave')).userId;
      const first = await call('POST', '/v2/sessions', t.adminToken, { checks: { user: { userId: ids['lu-alice'] } }, metadata: { app: b64('console') }, userAgent });
      const second = await call('POST', '/v2/sessions', t.adminToken, { checks: { user: { loginName: 'lu-alice' } } });
      expect([first.status, second.status]).toEqual([201, 201]);
      aliceSessions = [first.body.sessionId, second.body.sessionId];
      expect((await call('POST', '/v2/sessions', t.adminToken, { checks: { user: { userId: ids['lu-carol'] } } })).status).toBe(201);
    });

    it('lists a user\'s sessions by user id, with metadata and user agent, over REST, Connect and gRPC (v2 and v2beta)', async () => {
      const byUser = { queries: [{ userIdQuery: { id: ids['lu-alice'] } }], query: { asc: true }, sortingColumn: 'SESSION_FIELD_NAME_CREATION_DATE' };
      const rest = await call('POST', '/v2/sessions/search', t.adminToken, byUser);
      expect(rest.status).toBe(200);
      const listed = rest.body.sessions.filter((s: any) => aliceSessions.includes(s.id));
      expect(listed.map((s: any) => s.id)).toEqual(aliceSessions);
      expect(Number(rest.body.details.totalResult)).toBe(rest.body.sessions.length);
      expect(listed[0]).toMatchObject({
        factors: { user: { id: ids['lu-alice'], loginName: 'lu-alice', organizationId: defaultOrg } },
        metadata: { app: b64('console') },
        userAgent,
      });

      const connect = await fetch(`${t.url}/zitadel.session.v2.SessionService/ListSessions`, {
        method: 'POST',
        headers: { authorization: `Bearer ${t.adminToken}`, 'content-type': 'application/json' },
        body: JSON.stringify({ queries: [{ idsQuery: { ids: aliceSessions } }] }),
      });
      expect(connect.status).toBe(200);
      expect(((await connect.json()) as any).sessions.map((s: any) => s.id).sort()).toEqual([...aliceSessions].sort());

      const grpc = createSessionServiceClient(createServerTransport(t.adminToken, { baseUrl: t.url }));
      const v2 = await grpc.listSessions({ queries: [{ query: { case: 'userAgentQuery', value: { fingerprintId: 'fp-ls' } } }] });
      expect(v2.sessions.map((s) => s.id)).toEqual([aliceSessions[0]]);
      expect(v2.sessions[0]!.userAgent).toMatchObject({ fingerprintId: 'fp-ls', ip: '198.51.100.23', description: 'Firefox on Linux' });
      expect(v2.sessions[0]!.userAgent!.header['accept-language']!.values).toEqual(['de-CH', 'en']);
      const beta = await createSessionClient(t.url, createAccessTokenInterceptor(t.adminToken)).listSessions({ queries: [{ idsQuery: { ids: [aliceSessions[1]!] } }] });
      expect(beta.sessions.map((s) => s.id)).toEqual([aliceSessions[1]]);
      // Reads its own writes: a session created just now is listed at once.
      const fresh = await call('POST', '/v2/sessions', t.adminToken, { checks: { user: { userId: dave } } });
      const again = await call('POST', '/v2/sessions/search', t.adminToken, { queries: [{ userIdQuery: { id: dave } }] });
      expect(again.body.sessions.map((s: any) => s.id)).toContain(fresh.body.sessionId);
    });

    it('a caller without session.read on the organization sees none of its sessions; its own organization\'s it does', async () => {
      const other = await call('POST', '/v2/sessions/search', otherOrgManager.token, { queries: [{ userIdQuery: { id: ids['lu-alice'] } }] });
      expect(other.status).toBe(200);
      expect(other.body.sessions ?? []).toEqual([]);
      expect(other.body.details.totalResult ?? '0').toBe('0');
      const own = await call('POST', '/v2/sessions/search', otherOrgManager.token, {});
      expect((own.body.sessions ?? []).map((s: any) => s.factors.user.id)).toEqual([ids['lu-carol']]);
      const invalid = await call('POST', '/v2/sessions/search', t.adminToken, { queries: [{ creatorQuery: { id: '' } }] });
      expect(invalid.status).toBe(400);
      expect(invalid.body.message).toContain('GRPC-x8n24uh');
    });

    it('keeps the request\'s userAgent and reads it back through GetSession; without an ip, the client\'s address', async () => {
      const got = await call('GET', `/v2/sessions/${aliceSessions[0]}`, t.adminToken);
      expect(got.body.session.userAgent).toEqual(userAgent);
      const plain = await call('POST', '/v2/sessions', t.adminToken, { userAgent: { description: 'curl' } });
      const read = await call('GET', `/v2/sessions/${plain.body.sessionId}`, t.adminToken);
      expect(read.body.session.userAgent).toEqual({ description: 'curl', ip: '127.0.0.1' });
    });

    it('takes the client\'s address from X-Forwarded-For only when the peer is a trusted proxy', async () => {
      const forwarded = { 'x-forwarded-for': '203.0.113.9' };
      const direct = await restFrom('127.0.0.1', '/v2/sessions', { userAgent: { description: 'direct' } }, forwarded);
      const proxied = await restFrom('127.0.0.2', '/v2/sessions', { userAgent: { description: 'proxied' } }, forwarded);
      expect([direct.status, proxied.status]).toEqual([201, 201]);
      const ipOf = async (id: string) => (await call('GET', `/v2/sessions/${id}`, t.adminToken)).body.session.userAgent.ip;
      expect(await ipOf(direct.body.sessionId)).toBe('127.0.0.1');
      expect(await ipOf(proxied.body.sessionId)).toBe('203.0.113.9');
      // The gateway's own hand-over of the address cannot be forged, over REST or Connect.
      const forged = { 'grpc-metadata-x-gateway-client-address': '6.6.6.6', 'x-gateway-client-address': '6.6.6.6' };
      const rest = await restFrom('127.0.0.1', '/v2/sessions', { userAgent: { description: 'forged' } }, forged);
      expect(await ipOf(rest.body.sessionId)).toBe('127.0.0.1');
      const connect = await fetch(`${t.url}/zitadel.session.v2.SessionService/CreateSession`, {
        method: 'POST',
        headers: { authorization: `Bearer ${t.adminToken}`, 'content-type': 'application/json', ...forged, ...forwarded },
        body: JSON.stringify({ userAgent: { description: 'forged' } }),
      });
      expect(await ipOf(((await connect.json()) as any).sessionId)).toBe('127.0.0.1');
    });
  });

  describe('DeleteUser', () => {
    const message = (res: { body: any }) => res.body.message as string;

    it('deletes a user over REST (v2 and v2beta): NotFound after, its sessions end, its name is free again', async () => {
      const { userId } = await human('del-erin');
      const session = await call('POST', '/v2/sessions', t.adminToken, { checks: { user: { userId } } });
      expect(session.status).toBe(201);
      const sessionId = session.body.sessionId as string;

      const denied = await call('DELETE', `/v2/users/${userId}`, otherOrgManager.token);
      expect(denied.status).toBe(403);
      expect(message(denied)).toMatch(/\(AUTH-AWfge\)$/);
      const deleted = await call('DELETE', `/v2/users/${userId}`, t.adminToken);
      expect(deleted).toMatchObject({ status: 200, body: { details: { sequence: expect.any(String), changeDate: expect.any(String), resourceOwner: defaultOrg } } });

      // Already deleted: NotFound, on both versions.
      for (const path of [`/v2/users/${userId}`, `/v2beta/users/${userId}`]) {
        const again = await call('DELETE', path, t.adminToken);
        expect(again.status).toBe(404);
        expect(message(again)).toMatch(/\(COMMAND-bd4ir1mblj\)$/);
      }
      expect((await call('GET', `/v2/users/${userId}`, t.adminToken)).status).toBe(404);
      // As for any user that does not exist (ZITADEL's query finds no methods): 200, no types.
      const methods = await call('GET', `/v2/users/${userId}/authentication_methods`, t.adminToken);
      expect(methods.status).toBe(200);
      expect(methods.body.authMethodTypes ?? []).toEqual([]);
      const listed = await call('POST', '/v2/users', t.adminToken, { queries: [{ inUserIdsQuery: { userIds: [userId] } }] });
      expect(listed.body.result ?? []).toEqual([]);
      const otp = await call('POST', `/v2/users/${userId}/otp_email`, t.adminToken, {});
      expect(otp.status).toBe(404);

      // The user's session ended with it.
      const got = await call('GET', `/v2/sessions/${sessionId}`, t.adminToken);
      expect(got.status).toBe(404);
      expect(message(got)).toMatch(/\(QUERY-SFeaa\)$/);
      const set = await call('PATCH', `/v2/sessions/${sessionId}`, t.adminToken, { lifetime: '60s' });
      expect(set.status).toBe(400);
      expect(message(set)).toMatch(/\(COMMAND-Hewfq\)$/);
      const check = await call('POST', '/v2/sessions', t.adminToken, { checks: { user: { loginName: 'del-erin' } } });
      expect(check.status).toBe(404);

      // The username can be taken again, by a new user.
      const again = await human('DEL-ERIN');
      expect(again.userId).not.toBe(userId);
    });

    it('deletes a machine user over gRPC (v2); its personal access token stops working', async () => {
      const machine = await machineUser('ORG_USER_MANAGER');
      expect((await call('GET', `/v2/users/${machine.userId}`, machine.token)).status).toBe(200);
      const users = createUserServiceClient(createServerTransport(t.adminToken, { baseUrl: t.url }));
      const deleted = await users.deleteUser({ userId: machine.userId });
      expect(deleted.details?.resourceOwner).toBe(defaultOrg);
      expect(deleted.details?.sequence).toBeGreaterThan(0n);
      await expect(users.deleteUser({ userId: machine.userId })).rejects.toMatchObject({ code: 5, rawMessage: expect.stringMatching(/\(COMMAND-bd4ir1mblj\)$/) });
      const refused = await call('GET', `/v2/users/${defaultOrg}`, machine.token);
      expect(refused.status).toBe(401);
    });
  });
});
