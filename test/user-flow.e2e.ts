import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { create } from '@bufbuild/protobuf';
import { createServerTransport } from '@zitadel/client/node';
import { createUserServiceClient } from '@zitadel/client/v2';
import { AuthenticationMethodType } from '@zitadel/proto/zitadel/user/v2/user_service_pb.js';
import { ReturnEmailVerificationCodeSchema } from '@zitadel/proto/zitadel/user/v2/email_pb.js';
import { startTestServer, storeKinds, type TestServer } from '#test-support';

// The user half of the acceptance flow, through clients this project did not write.
describe.each(storeKinds())('the user flow (%s)', (kind) => {
  let t: TestServer;
  beforeAll(async () => {
    t = await startTestServer(kind);
  });
  afterAll(async () => {
    await t?.stop();
  });

  it('runs through @zitadel/client over gRPC (h2c)', async () => {
    const users = createUserServiceClient(createServerTransport(t.adminToken, { baseUrl: t.url }));
    const added = await users.addHumanUser({
      username: 'grace',
      profile: { givenName: 'Grace', familyName: 'Hopper' },
      email: { email: 'grace@example.com', verification: { case: 'returnCode', value: create(ReturnEmailVerificationCodeSchema) } },
    });
    expect(added.userId).toMatch(/^\d{18,19}$/);
    const userId = added.userId;

    const set = await users.setEmail({ userId, email: 'grace.hopper@example.com', verification: { case: 'returnCode', value: create(ReturnEmailVerificationCodeSchema) } });
    expect(set.verificationCode).toBeTruthy();
    await users.verifyEmail({ userId, verificationCode: set.verificationCode! });

    const otp = await users.addOTPEmail({ userId });
    expect(typeof otp.details?.sequence).toBe('bigint');
    expect(otp.details?.resourceOwner).toBe(added.details?.resourceOwner);

    const methods = await users.listAuthenticationMethodTypes({ userId });
    expect(methods.authMethodTypes).toContain(AuthenticationMethodType.OTP_EMAIL);

    const removed = await users.removeOTPEmail({ userId });
    expect(removed.details!.sequence).toBe(otp.details!.sequence + 1n);
    const after = await users.listAuthenticationMethodTypes({ userId });
    expect(after.authMethodTypes).not.toContain(AuthenticationMethodType.OTP_EMAIL);

    const user = await users.getUserByID({ userId });
    expect(user.user?.username).toBe('grace');
    expect(user.details?.sequence).toBe(removed.details!.sequence);
  });

  it('runs through plain fetch over Connect JSON, as the OpenAPI SDKs send it', async () => {
    const rpc = async (method: string, body: unknown) => {
      const res = await fetch(`${t.url}/zitadel.user.v2.UserService/${method}`, {
        method: 'POST',
        headers: { authorization: `Bearer ${t.adminToken}`, 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
      const json = (await res.json()) as any;
      expect({ method, status: res.status, json }).toMatchObject({ status: 200 });
      return json;
    };
    const added = await rpc('AddHumanUser', {
      username: 'katherine',
      profile: { givenName: 'Katherine', familyName: 'Johnson' },
      email: { email: 'katherine@example.com', returnCode: {} },
    });
    const userId = added.userId as string;
    const set = await rpc('SetEmail', { userId, email: 'kj@example.com', returnCode: {} });
    await rpc('VerifyEmail', { userId, verificationCode: set.verificationCode });
    const otp = await rpc('AddOTPEmail', { userId });
    expect(otp).toEqual({ details: { sequence: expect.stringMatching(/^\d+$/), changeDate: expect.any(String), resourceOwner: added.details.resourceOwner } });
    const methods = await rpc('ListAuthenticationMethodTypes', { userId });
    expect(methods.authMethodTypes).toEqual(['AUTHENTICATION_METHOD_TYPE_OTP_EMAIL']);
    const removed = await rpc('RemoveOTPEmail', { userId });
    expect(Number(removed.details.sequence)).toBe(Number(otp.details.sequence) + 1);
    const again = await rpc('ListAuthenticationMethodTypes', { userId });
    expect(again.authMethodTypes ?? []).toEqual([]);
  });
});
