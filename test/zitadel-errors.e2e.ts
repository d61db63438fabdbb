import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { create } from '@bufbuild/protobuf';
import { durationFromMs, timestampDate } from '@bufbuild/protobuf/wkt';
import { Code, ConnectError, createClient, type Interceptor } from '@connectrpc/connect';
import { createGrpcTransport } from '@connectrpc/connect-node';
import { createServerTransport } from '@zitadel/client/node';
import { createSessionServiceClient, createUserServiceClient } from '@zitadel/client/v2';
import { ErrorDetailSchema } from '@zitadel/proto/zitadel/message_pb.js';
import { ReturnEmailVerificationCodeSchema, SendEmailVerificationCodeSchema } from '@zitadel/proto/zitadel/user/v2/email_pb.js';
import { Gender } from '@zitadel/proto/zitadel/user/v2/user_pb.js';
import { UserService } from '@zitadel/proto/zitadel/user/v2/user_service_pb.js';
import { restClient, startTestServer, storeKinds, type TestServer } from '#test-support';

/**
 * Every error id this service shares with ZITADEL, asked over REST AND over gRPC (the
 * @zitadel/client transport), with the status, the code, the id and ZITADEL's text.
 */
type Expected = { status: number; code: Code; id?: string; text: string };
interface Fixture {
  url: string;
  admin: string;
  /** A verified human: its id, username and address. */
  user: { id: string; username: string; email: string };
  terminatedSession: string;
  expiredSession: string;
  liveSession: string;
}
interface Case {
  name: string;
  expected: Expected;
  rest(f: Fixture): Promise<{ status: number; body: any }>;
  grpc(f: Fixture): Promise<unknown>;
}

const UNKNOWN = '123456789012345678';
const returnCode = () => ({ case: 'returnCode' as const, value: create(ReturnEmailVerificationCodeSchema) });
const sendCode = (urlTemplate: string) => ({ case: 'sendCode' as const, value: create(SendEmailVerificationCodeSchema, { urlTemplate }) });

const users = (f: Fixture) => createUserServiceClient(createServerTransport(f.admin, { baseUrl: f.url }));
const sessions = (f: Fixture) => createSessionServiceClient(createServerTransport(f.admin, { baseUrl: f.url }));
const rest = (f: Fixture, method: string, path: string, body?: unknown) => restClient(f.url)(method, path, f.admin, body);

/** A gRPC client whose Authorization header is exactly `authorization` (or absent). */
function rawUsers(f: Fixture, authorization?: string) {
  const header: Interceptor = (next) => (req) => {
    if (authorization !== undefined) req.header.set('authorization', authorization);
    return next(req);
  };
  return createClient(UserService, createGrpcTransport({ baseUrl: f.url, interceptors: [header] }));
}
async function restWith(f: Fixture, authorization: string | undefined, method: string, path: string, body: unknown) {
  const res = await fetch(`${f.url}${path}`, {
    method,
    headers: { 'content-type': 'application/json', ...(authorization !== undefined ? { authorization } : {}) },
    body: JSON.stringify(body),
  });
  return { status: res.status, body: (await res.json()) as any };
}

const cases: Case[] = [
  {
    name: 'AddHumanUser with a taken username',
    expected: { status: 409, code: Code.AlreadyExists, id: 'V3-DKcYh', text: 'User already exists' },
    rest: (f) => rest(f, 'POST', '/v2/users/human', { username: f.user.username, profile: { givenName: 'A', familyName: 'B' }, email: { email: 'a@example.com', returnCode: {} } }),
    grpc: (f) => users(f).addHumanUser({ username: f.user.username, profile: { givenName: 'A', familyName: 'B' }, email: { email: 'a@example.com', verification: returnCode() } }),
  },
  {
    name: 'AddHumanUser with a urlTemplate naming an unknown field',
    expected: { status: 400, code: Code.InvalidArgument, id: 'DOMAIN-ieYa7', text: 'URL Template is invalid' },
    rest: (f) => rest(f, 'POST', '/v2/users/human', { username: 'tmpl-rest', profile: { givenName: 'A', familyName: 'B' }, email: { email: 'a@example.com', sendCode: { urlTemplate: 'https://a/{{.Nope}}' } } }),
    grpc: (f) => users(f).addHumanUser({ username: 'tmpl-grpc', profile: { givenName: 'A', familyName: 'B' }, email: { email: 'a@example.com', verification: sendCode('https://a/{{.Nope}}') } }),
  },
  {
    name: 'SetEmail with a urlTemplate naming an unknown field',
    expected: { status: 400, code: Code.InvalidArgument, id: 'DOMAIN-ieYa7', text: 'URL Template is invalid' },
    rest: (f) => rest(f, 'POST', `/v2/users/${f.user.id}/email`, { email: 'other@example.com', sendCode: { urlTemplate: 'https://a/{{.LoginName}}' } }),
    grpc: (f) => users(f).setEmail({ userId: f.user.id, email: 'other@example.com', verification: sendCode('https://a/{{.LoginName}}') }),
  },
  {
    name: 'SetEmail with the same address',
    expected: { status: 400, code: Code.FailedPrecondition, id: 'COMMAND-Uch5e', text: 'Email not changed' },
    rest: (f) => rest(f, 'POST', `/v2/users/${f.user.id}/email`, { email: f.user.email, returnCode: {} }),
    grpc: (f) => users(f).setEmail({ userId: f.user.id, email: f.user.email, verification: returnCode() }),
  },
  {
    name: 'SetEmail of a user that does not exist',
    expected: { status: 404, code: Code.NotFound, id: 'COMMAND-ieJ2e', text: 'Email not found' },
    rest: (f) => rest(f, 'POST', `/v2/users/${UNKNOWN}/email`, { email: 'x@example.com', returnCode: {} }),
    grpc: (f) => users(f).setEmail({ userId: UNKNOWN, email: 'x@example.com', verification: returnCode() }),
  },
  {
    name: 'VerifyEmail of a user that does not exist',
    expected: { status: 404, code: Code.NotFound, id: 'COMMAND-ieJ2e', text: 'Email not found' },
    rest: (f) => rest(f, 'POST', `/v2/users/${UNKNOWN}/email/verify`, { verificationCode: 'ABCDEF' }),
    grpc: (f) => users(f).verifyEmail({ userId: UNKNOWN, verificationCode: 'ABCDEF' }),
  },
  {
    name: 'VerifyEmail with no code pending (the address is verified)',
    expected: { status: 400, code: Code.InvalidArgument, id: 'COMMAND-eis9R', text: 'Code is invalid' },
    rest: (f) => rest(f, 'POST', `/v2/users/${f.user.id}/email/verify`, { verificationCode: 'ABCDEF' }),
    grpc: (f) => users(f).verifyEmail({ userId: f.user.id, verificationCode: 'ABCDEF' }),
  },
  {
    name: 'GetSession of a session that does not exist',
    expected: { status: 404, code: Code.NotFound, id: 'QUERY-SFeaa', text: 'Session does not exist' },
    rest: (f) => rest(f, 'GET', `/v2/sessions/${UNKNOWN}`),
    grpc: (f) => sessions(f).getSession({ sessionId: UNKNOWN }),
  },
  {
    name: 'SetSession on a terminated session',
    expected: { status: 400, code: Code.FailedPrecondition, id: 'COMMAND-Hewfq', text: 'Session already terminated' },
    rest: (f) => rest(f, 'PATCH', `/v2/sessions/${f.terminatedSession}`, { challenges: { otpEmail: { returnCode: {} } } }),
    grpc: (f) => sessions(f).setSession({ sessionId: f.terminatedSession, challenges: { otpEmail: { deliveryType: { case: 'returnCode', value: {} } } } }),
  },
  {
    name: 'SetSession on an expired session',
    expected: { status: 400, code: Code.FailedPrecondition, id: 'COMMAND-Hkl3d', text: 'Session has expired' },
    rest: (f) => rest(f, 'PATCH', `/v2/sessions/${f.expiredSession}`, { challenges: { otpEmail: { returnCode: {} } } }),
    grpc: (f) => sessions(f).setSession({ sessionId: f.expiredSession, challenges: { otpEmail: { deliveryType: { case: 'returnCode', value: {} } } } }),
  },
  {
    name: 'SetSession with an OTP Email check on a session that does not exist',
    expected: { status: 400, code: Code.InvalidArgument, id: 'COMMAND-S453v', text: 'User ID missing' },
    rest: (f) => rest(f, 'PATCH', `/v2/sessions/${UNKNOWN}`, { checks: { otpEmail: { code: '12345678' } } }),
    grpc: (f) => sessions(f).setSession({ sessionId: UNKNOWN, checks: { otpEmail: { code: '12345678' } } }),
  },
  {
    name: 'DeleteSession with a wrong session token',
    expected: { status: 403, code: Code.PermissionDenied, id: 'COMMAND-sGr42', text: 'Session Token is invalid' },
    rest: (f) => rest(f, 'DELETE', `/v2/sessions/${f.liveSession}`, { sessionToken: 'not-the-token' }),
    grpc: (f) => sessions(f).deleteSession({ sessionId: f.liveSession, sessionToken: 'not-the-token' }),
  },
  {
    name: 'any method without an Authorization header',
    expected: { status: 401, code: Code.Unauthenticated, text: 'auth header missing' },
    rest: (f) => restWith(f, undefined, 'POST', `/v2/users/${f.user.id}/otp_email`, {}),
    grpc: (f) => rawUsers(f).addOTPEmail({ userId: f.user.id }),
  },
  {
    name: 'any method with a lowercase "bearer" scheme',
    expected: { status: 401, code: Code.Unauthenticated, id: 'AUTH-7fs1e', text: 'invalid auth header' },
    rest: (f) => restWith(f, `bearer ${f.admin}`, 'POST', `/v2/users/${f.user.id}/otp_email`, {}),
    grpc: (f) => rawUsers(f, `bearer ${f.admin}`).addOTPEmail({ userId: f.user.id }),
  },
  {
    name: 'any method with a token that is not valid',
    expected: { status: 401, code: Code.Unauthenticated, id: 'AUTH-7fs1e', text: 'Errors.Token.Invalid' },
    rest: (f) => restWith(f, 'Bearer pat_nope', 'POST', `/v2/users/${f.user.id}/otp_email`, {}),
    grpc: (f) => rawUsers(f, 'Bearer pat_nope').addOTPEmail({ userId: f.user.id }),
  },
];

describe.each(storeKinds())('ZITADEL’s error ids over REST and gRPC (%s)', (kind) => {
  let t: TestServer;
  let f: Fixture;

  beforeAll(async () => {
    t = await startTestServer(kind);
    const base = { url: t.url, admin: t.adminToken };
    const u = createUserServiceClient(createServerTransport(t.adminToken, { baseUrl: t.url }));
    const s = createSessionServiceClient(createServerTransport(t.adminToken, { baseUrl: t.url }));
    const username = 'wire-errors';
    const email = 'wire-errors@example.com';
    const added = await u.addHumanUser({ username, profile: { givenName: 'Wire', familyName: 'Errors' }, email: { email, verification: returnCode() } });
    await u.verifyEmail({ userId: added.userId, verificationCode: added.emailCode! });
    const terminated = await s.createSession({ checks: { user: { search: { case: 'userId', value: added.userId } } } });
    await s.deleteSession({ sessionId: terminated.sessionId });
    const live = await s.createSession({ checks: { user: { search: { case: 'userId', value: added.userId } } } });
    const expiring = await s.createSession({ checks: { user: { search: { case: 'userId', value: added.userId } } }, lifetime: durationFromMs(50) });
    // Wait until the server's clock has passed the session's expiration, as GetSession reports it.
    const { session } = await s.getSession({ sessionId: expiring.sessionId });
    const expiresAt = Number(session!.expirationDate!.seconds) * 1000 + Math.floor(session!.expirationDate!.nanos / 1e6);
    while (Date.now() <= expiresAt) await new Promise((resolve) => setTimeout(resolve, 10));
    f = { ...base, user: { id: added.userId, username, email }, terminatedSession: terminated.sessionId, expiredSession: expiring.sessionId, liveSession: live.sessionId };
  });
  afterAll(async () => {
    await t?.stop();
  });

  it.each(cases)('$name: REST', async ({ expected, rest: send }) => {
    const res = await send(f);
    expect(res.status).toBe(expected.status);
    expect(res.body.code).toBe(expected.code);
    if (expected.id) {
      expect(res.body.message).toBe(`${expected.text} (${expected.id})`);
      expect(res.body.details).toEqual([{ '@type': 'type.googleapis.com/zitadel.v1.ErrorDetail', id: expected.id, message: expected.text }]);
    } else {
      // No ErrorDetail behind it: the body has no `details` at all.
      expect(res.body).toEqual({ code: expected.code, message: expected.text });
    }
  });

  it.each(cases)('$name: gRPC', async ({ expected, grpc }) => {
    const err = await grpc(f).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(ConnectError);
    const connectError = err as ConnectError;
    expect(connectError.code).toBe(expected.code);
    if (expected.id) {
      expect(connectError.rawMessage).toBe(`${expected.text} (${expected.id})`);
      expect(connectError.findDetails(ErrorDetailSchema).map((d) => d.id)).toEqual([expected.id]);
    } else {
      expect(connectError.rawMessage).toBe(expected.text);
      expect(connectError.findDetails(ErrorDetailSchema)).toEqual([]);
    }
  });

  it('writes nothing for a refused urlTemplate: the username stays free', async () => {
    const u = users(f);
    const again = await u.addHumanUser({ username: 'tmpl-grpc', profile: { givenName: 'A', familyName: 'B' }, email: { email: 'a@example.com', verification: returnCode() } });
    expect(again.userId).toMatch(/^\d+$/);
    const viaRest = await rest(f, 'POST', '/v2/users/human', { username: 'tmpl-rest', profile: { givenName: 'A', familyName: 'B' }, email: { email: 'a@example.com', returnCode: {} } });
    expect(viaRest.status).toBe(200);
  });

  it('answers DeleteSession and an empty SetSession on an unknown id with 200 and empty details, as ZITADEL', async () => {
    const deleted = await rest(f, 'DELETE', `/v2/sessions/${UNKNOWN}`, {});
    // Sequence 0 is proto3's default, left out of the JSON; no change date either.
    expect(deleted).toEqual({ status: 200, body: { details: { resourceOwner: expect.any(String) } } });
    const set = await rest(f, 'PATCH', `/v2/sessions/${UNKNOWN}`, {});
    expect(set.status).toBe(200);
    expect(set.body.details).not.toHaveProperty('changeDate');
    const viaGrpc = await sessions(f).deleteSession({ sessionId: UNKNOWN });
    expect(viaGrpc.details?.sequence).toBe(0n);
    expect(viaGrpc.details?.changeDate).toBeUndefined();
  });

  it('answers GetUserByID with ZITADEL’s whole user: creation date, every profile field set, phone {}, over REST and gRPC', async () => {
    const res = await rest(f, 'GET', `/v2/users/${f.user.id}`);
    expect(res.status).toBe(200);
    const details = { sequence: expect.stringMatching(/^\d+$/), changeDate: expect.any(String), creationDate: expect.any(String), resourceOwner: expect.any(String) };
    expect(res.body).toEqual({
      details,
      user: {
        userId: f.user.id,
        details,
        state: 'USER_STATE_ACTIVE',
        username: f.user.username,
        loginNames: [f.user.username],
        preferredLoginName: f.user.username,
        human: {
          // ZITADEL's converter sets the optional fields even when empty: "" and GENDER_UNSPECIFIED are on the wire.
          profile: { givenName: 'Wire', familyName: 'Errors', nickName: '', displayName: 'Wire Errors', preferredLanguage: 'und', gender: 'GENDER_UNSPECIFIED' },
          email: { email: f.user.email, isVerified: true },
          phone: {},
        },
      },
    });
    expect(res.body.user.details).toEqual(res.body.details);
    // Created by the first event (AddHumanUser), changed by the last (VerifyEmail).
    expect(Date.parse(res.body.details.creationDate)).toBeLessThan(Date.parse(res.body.details.changeDate));

    const { user, details: grpcDetails } = await users(f).getUserByID({ userId: f.user.id });
    expect(grpcDetails?.creationDate).toEqual(user?.details?.creationDate);
    expect(timestampDate(grpcDetails!.creationDate!).toISOString()).toBe(new Date(res.body.details.creationDate).toISOString());
    expect(user?.type.case).toBe('human');
    const profile = user?.type.case === 'human' ? user.type.value.profile : undefined;
    expect(profile).toMatchObject({ nickName: '', displayName: 'Wire Errors', preferredLanguage: 'und', gender: Gender.UNSPECIFIED });
  });

  it('keeps AddHumanUser’s gender: GetUserByID and ListUsers answer it, over REST and gRPC', async () => {
    const u = users(f);
    const viaGrpc = await u.addHumanUser({ username: 'gender-grpc', profile: { givenName: 'G', familyName: 'R', gender: Gender.FEMALE }, email: { email: 'g@example.com', verification: returnCode() } });
    const viaRest = await rest(f, 'POST', '/v2/users/human', { username: 'gender-rest', profile: { givenName: 'G', familyName: 'R', gender: 'GENDER_DIVERSE' }, email: { email: 'g@example.com', returnCode: {} } });
    expect(viaRest.status).toBe(200);
    const got = await u.getUserByID({ userId: viaGrpc.userId });
    expect(got.user?.type.case === 'human' && got.user.type.value.profile?.gender).toBe(Gender.FEMALE);
    expect((await rest(f, 'GET', `/v2/users/${viaRest.body.userId}`)).body.user.human.profile.gender).toBe('GENDER_DIVERSE');
    const listed = await rest(f, 'POST', '/v2/users', { queries: [{ inUserIdsQuery: { userIds: [viaGrpc.userId, viaRest.body.userId] } }], sortingColumn: 'USER_FIELD_NAME_USER_NAME', query: { asc: true } });
    expect(listed.status).toBe(200);
    expect(listed.body.result.map((r: any) => [r.username, r.human.profile.gender, typeof r.details.creationDate])).toEqual([
      ['gender-grpc', 'GENDER_FEMALE', 'string'],
      ['gender-rest', 'GENDER_DIVERSE', 'string'],
    ]);
  });

  it('answers ListAuthenticationMethodTypes for a user that does not exist with 200 and no types, as ZITADEL', async () => {
    const res = await rest(f, 'GET', `/v2/users/${UNKNOWN}/authentication_methods`);
    // totalResult 0 and the empty list are proto3 defaults, left out of the JSON.
    expect(res).toEqual({ status: 200, body: { details: { timestamp: expect.any(String) } } });
    const viaGrpc = await users(f).listAuthenticationMethodTypes({ userId: UNKNOWN });
    expect(viaGrpc.authMethodTypes).toEqual([]);
    expect(viaGrpc.details?.totalResult).toBe(0n);
  });
});
