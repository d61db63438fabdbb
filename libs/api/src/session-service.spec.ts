import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { create } from '@bufbuild/protobuf';
import { DurationSchema } from '@bufbuild/protobuf/wkt';
import { ChecksSchema } from '@zitadel/proto/zitadel/session/v2/session_service_pb.js';
import { RequestChallengesSchema } from '@zitadel/proto/zitadel/session/v2/challenge_pb.js';
import type { Authenticator } from '#auth';
import { unauthenticated } from '#errors';
import { SessionServiceImplementation } from './session-service.js';
import { startTestServer, type TestServer } from '#api/testing';
import { fromProtoUserAgent, toProtoUserAgent, toSessionChanges, toSessionFilter } from './session-service.js';
import { SearchQuerySchema } from '@zitadel/proto/zitadel/session/v2/session_pb.js';
import { UserAgentSchema } from '@zitadel/proto/zitadel/session/v2/session_pb.js';
import { callerWith, startSessionTestApp, type SessionTestApp } from '#session/testing';

const fails = (fn: () => unknown, kind: string, id: string) => expect(fn).toThrow(expect.objectContaining({ name: 'DomainError', kind, id }));

describe('toSessionFilter (ListSessions queries)', () => {
  const filter = (query: Parameters<typeof create<typeof SearchQuerySchema>>[1]) => () => toSessionFilter(create(SearchQuerySchema, query), 'caller-1');

  it('maps each query as ZITADEL does: a creator query without an id is the caller', () => {
    expect(filter({ query: { case: 'idsQuery', value: { ids: ['a', 'b'] } } })()).toEqual({ ids: ['a', 'b'] });
    expect(filter({ query: { case: 'userIdQuery', value: { id: 'u' } } })()).toEqual({ userId: 'u' });
    expect(filter({ query: { case: 'creatorQuery', value: {} } })()).toEqual({ creator: 'caller-1' });
    expect(filter({ query: { case: 'creatorQuery', value: { id: 'c' } } })()).toEqual({ creator: 'c' });
    expect(filter({ query: { case: 'userAgentQuery', value: { fingerprintId: 'fp' } } })()).toEqual({ fingerprintId: 'fp' });
    expect(filter({ query: { case: 'creationDateQuery', value: { creationDate: { seconds: 60n }, method: 3 } } })()).toEqual({ creationDate: new Date(60_000), method: 'less' });
  });

  it('refuses an empty creator id, a user agent query without a fingerprint, a date outside Timestamp\'s range, and no query', () => {
    fails(filter({ query: { case: 'creatorQuery', value: { id: '' } } }), 'InvalidArgument', 'GRPC-x8n24uh');
    fails(filter({ query: { case: 'userAgentQuery', value: {} } }), 'InvalidArgument', 'GRPC-x8n23uh');
    fails(filter({ query: { case: 'creationDateQuery', value: { creationDate: { seconds: 10n ** 15n }, method: 0 } } }), 'InvalidArgument', 'SESSION-QryTs');
    fails(filter({}), 'InvalidArgument', 'GRPC-Sfefs');
  });
});

describe('the user agent on the wire', () => {
  it('crosses from the request to the domain and back unchanged', () => {
    const wire = create(UserAgentSchema, { fingerprintId: 'fp', ip: '192.0.2.1', description: 'd', header: { accept: { values: ['a', 'b'] } } });
    const domain = fromProtoUserAgent(wire);
    expect(domain).toEqual({ fingerprintId: 'fp', ip: '192.0.2.1', description: 'd', header: { accept: ['a', 'b'] } });
    expect(create(UserAgentSchema, toProtoUserAgent(domain!))).toEqual(wire);
    expect(fromProtoUserAgent(undefined)).toBeUndefined();
  });
});

describe('toSessionChanges', () => {
  it('maps the user check, the OTP Email check and challenge, and the lifetime', () => {
    expect(
      toSessionChanges(
        create(ChecksSchema, { user: { search: { case: 'loginName', value: 'ada' } }, otpEmail: { code: '12345678' } }),
        create(RequestChallengesSchema, { otpEmail: { deliveryType: { case: 'sendCode', value: { urlTemplate: 'https://a/{{.Code}}' } } } }),
        create(DurationSchema, { seconds: 90n, nanos: 500_000_000 }),
        {},
      ),
    ).toEqual({
      checks: { user: { loginName: 'ada' }, otpEmail: { code: '12345678' } },
      challenges: { otpEmail: { kind: 'send', urlTemplate: 'https://a/{{.Code}}' } },
      lifetimeMs: 90_500,
    });
  });

  it('sends with the default link when no delivery type is given; returnCode returns it', () => {
    expect(toSessionChanges(undefined, create(RequestChallengesSchema, { otpEmail: {} }), undefined, {})).toEqual({
      challenges: { otpEmail: { kind: 'send' } },
    });
    expect(
      toSessionChanges(undefined, create(RequestChallengesSchema, { otpEmail: { deliveryType: { case: 'returnCode', value: {} } } }), undefined, {}),
    ).toEqual({ challenges: { otpEmail: { kind: 'return' } } });
    expect(
      toSessionChanges(undefined, create(RequestChallengesSchema, { otpEmail: { deliveryType: { case: 'sendCode', value: {} } } }), undefined, {}),
    ).toEqual({ challenges: { otpEmail: { kind: 'send' } } });
  });

  it('refuses what this service does not implement, instead of ignoring it', () => {
    fails(() => toSessionChanges(create(ChecksSchema, { password: { password: 'x' } }), undefined, undefined, {}), 'Unimplemented', 'SESSION-Unimpl');
    fails(() => toSessionChanges(create(ChecksSchema, { totp: { code: '1' } }), undefined, undefined, {}), 'Unimplemented', 'SESSION-Unimpl');
    fails(() => toSessionChanges(undefined, create(RequestChallengesSchema, { otpSms: {} }), undefined, {}), 'Unimplemented', 'SESSION-Unimpl');
    fails(() => toSessionChanges(create(ChecksSchema, { user: {} }), undefined, undefined, {}), 'InvalidArgument', 'SESSION-UsrMis');
  });

  it('passes metadata on, empty values included (they remove keys)', () => {
    const metadata = { key: new Uint8Array([1]), gone: new Uint8Array() };
    expect(toSessionChanges(undefined, undefined, undefined, metadata)).toEqual({ metadata });
  });
});

describe('SessionService over REST (the production transport)', () => {
  let app: SessionTestApp;
  let server: TestServer;
  const loginClient = callerWith([{ role: 'IAM_LOGIN_CLIENT' }], '900000000000000010');
  const authenticator: Authenticator = {
    async authenticate(authorization) {
      if (authorization !== 'Bearer login-client') throw unauthenticated('AUTH-stub01', 'Errors.Token.Invalid');
      return loginClient;
    },
  };
  const call = async (method: string, path: string, body?: unknown) => {
    const res = await fetch(`${server.url}${path}`, {
      method,
      headers: { authorization: 'Bearer login-client', 'content-type': 'application/json' },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
    return { status: res.status, body: (await res.json()) as any };
  };

  beforeAll(async () => {
    app = await startSessionTestApp('pglite');
    server = await startTestServer({ sessionService: new SessionServiceImplementation(app.commands, app.queries).impl, authenticator });
    const metadata = { instanceId: 'instance-1', resourceOwner: '100000000000000001', editor: 'system', correlationId: 'seed' };
    await app.store.append('username-grace', [{ type: 'username.claimed', data: { userId: '200000000000000042', username: 'grace' }, metadata }], 'no_stream');
    await app.store.append(
      'user-200000000000000042',
      [
        {
          type: 'user.human.added',
          data: {
            username: 'grace',
            orgId: '100000000000000001',
            profile: { givenName: 'Grace', familyName: 'Hopper', displayName: 'Grace Hopper', preferredLanguage: 'en' },
            email: 'grace@example.com',
          },
          metadata,
        },
        { type: 'user.email.verified', data: { email: 'grace@example.com' }, metadata },
        { type: 'user.otp.email.added', data: {}, metadata },
      ],
      'no_stream',
    );
  });
  afterAll(async () => {
    await server?.close();
    await app?.close();
  });

  it('creates (201), checks (200), reads and deletes a session in ZITADEL’s JSON shapes', async () => {
    const created = await call('POST', '/v2/sessions', { checks: { user: { loginName: 'grace' } }, challenges: { otpEmail: { returnCode: {} } } });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({
      details: { sequence: '4', resourceOwner: 'instance-1' },
      sessionId: expect.stringMatching(/^\d+$/),
      sessionToken: expect.stringMatching(/^[A-Za-z0-9_-]{43}$/),
      challenges: { otpEmail: expect.stringMatching(/^\d{8}$/) },
    });
    const { sessionId } = created.body;

    const wrong = await call('PATCH', `/v2/sessions/${sessionId}`, { checks: { otpEmail: { code: 'x' } } });
    expect(wrong.status).toBe(400);
    expect(wrong.body).toMatchObject({ code: 3, message: 'Code is invalid (CODE-woT0xc)' });

    const checked = await call('PATCH', `/v2/sessions/${sessionId}`, { checks: { otpEmail: { code: created.body.challenges.otpEmail } } });
    expect(checked.status).toBe(200);
    expect(checked.body.sessionToken).not.toBe(created.body.sessionToken);

    const read = await call('GET', `/v2/sessions/${sessionId}`);
    expect(read.status).toBe(200);
    expect(read.body.session).toMatchObject({
      id: sessionId,
      sequence: '6',
      factors: {
        user: { id: '200000000000000042', loginName: 'grace', displayName: 'Grace Hopper', organizationId: '100000000000000001' },
        otpEmail: { verifiedAt: expect.any(String) },
      },
    });

    const deleted = await call('DELETE', `/v2/sessions/${sessionId}`, {});
    expect(deleted.status).toBe(200);
    expect((await call('GET', `/v2/sessions/${sessionId}`)).status).toBe(404);
    const again = await call('PATCH', `/v2/sessions/${sessionId}`, { challenges: { otpEmail: {} } });
    expect(again.status).toBe(400);
    expect(again.body).toMatchObject({ code: 9, message: 'Session already terminated (COMMAND-Hewfq)' });
  });

  it('answers the sixth email within the window with HTTP 429, gRPC code 8', async () => {
    const created = await call('POST', '/v2/sessions', { checks: { user: { userId: '200000000000000042' } } });
    const sessionId = created.body.sessionId;
    for (let i = 0; i < 5; i++) expect((await call('PATCH', `/v2/sessions/${sessionId}`, { challenges: { otpEmail: { sendCode: {} } } })).status).toBe(200);
    const limited = await call('PATCH', `/v2/sessions/${sessionId}`, { challenges: { otpEmail: {} } });
    expect(limited.status).toBe(429);
    expect(limited.body).toMatchObject({
      code: 8,
      message: expect.stringContaining('(SESSION-OtpLim)'),
      details: [expect.objectContaining({ '@type': 'type.googleapis.com/zitadel.v1.ErrorDetail', id: 'SESSION-OtpLim' })],
    });
    const badTemplate = await call('PATCH', `/v2/sessions/${sessionId}`, { challenges: { otpEmail: { sendCode: { urlTemplate: 'https://a/{{.Nope}}' } } } });
    expect(badTemplate.status).toBe(400);
    expect(badTemplate.body).toMatchObject({ code: 3, message: 'URL Template is invalid (DOMAIN-ieYa7)' });
  });
});
