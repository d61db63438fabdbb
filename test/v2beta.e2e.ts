import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createAccessTokenInterceptor, createSessionClient, createUserClient } from '@zitadel/node/dist/api/index.js';
import { restClient, startTestServer, storeKinds, type TestServer } from '#test-support';

// v2beta beside v2: the clients of @zitadel/node speak only v2beta (over gRPC), and ZITADEL's
// REST gateway answers /v2beta/... with the same success codes as its descriptors say.
describe.each(storeKinds())('v2beta (%s)', (kind) => {
  let t: TestServer;
  beforeAll(async () => {
    t = await startTestServer(kind);
  });
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
});
