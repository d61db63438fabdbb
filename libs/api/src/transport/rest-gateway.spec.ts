import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { request } from 'node:http';
import { SessionService } from '@zitadel/proto/zitadel/session/v2/session_service_pb.js';
import { UserService } from '@zitadel/proto/zitadel/user/v2/user_service_pb.js';
import { matchPathTemplate, restRoutesOf, RouteIndex, templateRoute } from './rest-gateway.js';
import { SERVED_SERVICES } from './routes.js';
import { CHANGE_DATE, stubServices } from '#api/testing';
import { GOOD_TOKEN, STUB_CALLER, startTestServer, stubAuthenticator, type TestServer } from '#api/testing';
import { eventually } from '#test-kit';

describe('REST routes from the descriptors', () => {
  const routes = restRoutesOf([UserService, SessionService]);
  const find = (name: string) => routes.find((r) => r.method.name === name)!;

  it('reads verb, path template, body and ZITADEL success code from the options', () => {
    expect(find('AddOTPEmail')).toMatchObject({ verb: 'POST', template: '/v2/users/{user_id}/otp_email', body: '*', successCode: 200, pathFields: [['user_id']] });
    expect(find('RemoveOTPEmail')).toMatchObject({ verb: 'DELETE', template: '/v2/users/{user_id}/otp_email', body: '' });
    expect(find('GetSession')).toMatchObject({ verb: 'GET', template: '/v2/sessions/{session_id}', body: '' });
    expect(find('SetSession')).toMatchObject({ verb: 'PATCH', body: '*' });
    expect(find('CreateSession').successCode).toBe(201);
    // The descriptors of @zitadel/proto 1.3.1 say 200 for AddHumanUser (not 201).
    expect(find('AddHumanUser').successCode).toBe(200);
    // Methods without a google.api.http option (CreateUser, AddKey, ...) have no REST route.
    expect(routes.find((r) => r.method.name === 'CreateUser')).toBeUndefined();
  });
});

describe('path templates', () => {
  const match = (template: string, path: string) => matchPathTemplate(template, path.slice(1).split('/'));

  it('match literals and single variables component by component', () => {
    expect(match('/v2/users/{user_id}/otp_email', '/v2/users/123/otp_email')).toEqual(['123']);
    expect(match('/v2/users/{user_id}/otp_email', '/v2/users/123/otp_email/')).toBeUndefined();
    expect(match('/v2/users/{user_id}/otp_email', '/v2/users/123')).toBeUndefined();
    expect(match('/v2/users/{user_id}/otp_email', '/v2beta/users/123/otp_email')).toBeUndefined();
    expect(match('/v2/users/{user_id}', '/v2/users/')).toEqual(['']);
  });

  it('match a `**` of any length, with literals after it and a `:verb` on the last component', () => {
    const template = '/v1/{name=projects/*/locations/**}:get';
    expect(match(template, '/v1/projects/p/locations/a/b:get')).toEqual(['projects/p/locations/a/b']);
    expect(match(template, '/v1/projects/p/locations:get')).toEqual(['projects/p/locations']);
    expect(match(template, '/v1/projects/p/locations/a')).toBeUndefined();
    expect(match(template, '/v1/projects/p/zones/a:get')).toBeUndefined();
    // The `**` may take nothing, so the `:verb` sits on a literal.
    expect(match('/v1/a/**:x', '/v1/a:x')).toEqual([]);
    expect(match('/v1/a/**/b', '/v1/a/b')).toEqual([]);
    expect(match('/v1/a/**/b', '/v1/a/1/2/b')).toEqual([]);
    expect(match('/v1/a/**/b', '/v1/a/1/2/c')).toBeUndefined();
    // A fixed template's last literal carries the `:verb`.
    expect(match('/v1/items:batchGet', '/v1/items:batchGet')).toEqual([]);
    expect(match('/v1/items:batchGet', '/v1/items')).toBeUndefined();
    expect(match('/v1/{id}:undelete', '/v1/42:undelete')).toEqual(['42']);
    expect(match('/v1/{id}:undelete', '/v1/:undelete')).toBeUndefined();
  });
});

describe('the route index', () => {
  // The served routes (in the gateway's order) and templates of every other kind the matcher knows.
  const templates = [
    ...restRoutesOf(SERVED_SERVICES).reverse().map((route) => route.template),
    '/v1/{name=projects/*/locations/**}:get',
    '/v1/a/**:x',
    '/v1/a/**/b',
    '/v1/items:batchGet',
    '/v1/{id}:undelete',
    '/v1/items',
    '/v1/{id}',
    '/v1/items/{id}/sub',
    '/v1/items/{id}/{other}',
    '/{any=**}',
  ];
  const routes = templates.map(templateRoute);
  const index = new RouteIndex(routes);
  const firstMatch = (candidates: readonly { template: string }[], components: string[]) =>
    candidates.find((route) => matchPathTemplate(route.template, components) !== undefined)?.template;

  /** Paths each template matches, and near misses: one component more or less, another last component, another verb. */
  const pathsOf = (template: string): string[] => {
    const filled = template.replace(/\{[^}=]+=([^}]*)\}/g, (_, inner: string) => inner.replace(/\*\*/g, 'x/y').replace(/\*/g, 'p')).replace(/\{[^}]+\}/g, 'id-1');
    const path = filled.replace(/\*\*/g, 'r/s').replace(/\*/g, 'q');
    const [base, verb] = path.split(':') as [string, string | undefined];
    const withVerb = (p: string) => (verb === undefined ? p : `${p}:${verb}`);
    return [path, base, withVerb(`${base}/extra`), withVerb(base.replace(/\/[^/]*$/, '')), withVerb(base.replace(/[^/]*$/, 'other')), `${base}:nope`, `${path}/`, '/', ''];
  };

  it('finds for every path the route a full scan finds first', () => {
    const paths = [...new Set(templates.flatMap(pathsOf)), '/v9/unknown/path/with/many/components/indeed', '/v2/users//otp_email'];
    expect(paths.length).toBeGreaterThan(300);
    for (const path of paths) {
      const components = path.slice(1).split('/');
      expect([path, firstMatch(index.candidates(components), components)]).toEqual([path, firstMatch(routes, components)]);
    }
  });

  it('tries a path only against the routes of its length ending in its last component or a variable, and the `**` ones', () => {
    const components = '/v2/users/id-1/otp_email'.slice(1).split('/');
    expect(index.candidates(components).map((route) => route.template)).toEqual([
      // AddOTPEmail and RemoveOTPEmail, v2beta and v2, in the gateway's order
      '/v2beta/users/{user_id}/otp_email',
      '/v2beta/users/{user_id}/otp_email',
      '/v2/users/{user_id}/otp_email',
      '/v2/users/{user_id}/otp_email',
      '/v2/users/human/{user_id}',
      '/v1/{name=projects/*/locations/**}:get',
      '/v1/a/**:x',
      '/v1/a/**/b',
      '/v1/items/{id}/{other}',
      '/{any=**}',
    ]);
    expect(templates.length).toBeGreaterThan(100);
  });
});

describe('REST gateway (grpc-gateway mapping) with test doubles for the Authenticator and the services', () => {
  let server: TestServer;
  const stubs = stubServices();
  const auth = { authorization: `Bearer ${GOOD_TOKEN}` };

  beforeAll(async () => {
    server = await startTestServer({ userService: stubs.userService, sessionService: stubs.sessionService, authenticator: stubAuthenticator });
  });
  afterAll(async () => {
    await server.close();
  });

  const call = async (method: string, path: string, body?: string, headers: Record<string, string> = auth) => {
    const res = await fetch(`${server.url}${path}`, { method, headers: { 'content-type': 'application/json', ...headers }, body });
    return { status: res.status, text: await res.text(), headers: res.headers };
  };
  const lastReceived = () => stubs.received[stubs.received.length - 1]!;

  it('POST /v2/users/123/otp_email answers 200 with exactly the protojson body; the stub got the path id and the caller', async () => {
    const res = await call('POST', '/v2/users/123/otp_email', '{}');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/json');
    expect(res.text).toBe(`{"details":{"sequence":"7","changeDate":"${CHANGE_DATE}","resourceOwner":"org"}}`);
    expect(lastReceived()).toMatchObject({ method: 'AddOTPEmail', request: { userId: '123' }, caller: STUB_CALLER });
  });

  it('accepts an empty body, ignores unknown JSON fields (as ZITADEL, protojson DiscardUnknown), and lets the path win over the body', async () => {
    expect((await call('POST', '/v2/users/123/otp_email')).status).toBe(200);
    const res = await call('POST', '/v2/users/123/otp_email', '{"userId":"999","user_id":"998","notAField":{"x":1}}');
    expect(res.status).toBe(200);
    expect(lastReceived().request.userId).toBe('123');
  });

  it('GET maps query parameters (proto or JSON names, nested with dots) and path parameters to the request', async () => {
    const res = await call('GET', '/v2/users/u%201/authentication_methods?domainQuery.includeWithoutDomain=true&domain_query.domain=example.com&unknown=1');
    expect(res.status).toBe(200);
    expect(JSON.parse(res.text)).toEqual({ details: { totalResult: '1' }, authMethodTypes: ['AUTHENTICATION_METHOD_TYPE_OTP_EMAIL'] });
    expect(lastReceived().request).toMatchObject({ userId: 'u 1', domainQuery: { includeWithoutDomain: true, domain: 'example.com' } });

    const session = await call('GET', '/v2/sessions/s-1?sessionToken=tok&session_id=ignored');
    expect(session.status).toBe(200);
    expect(JSON.parse(session.text)).toEqual({ session: { id: 's-1' } });
    expect(lastReceived().request).toMatchObject({ sessionId: 's-1', sessionToken: 'tok' });
  });

  it("aborts the call's signal when the client goes away before the answer", async () => {
    const client = new AbortController();
    const pending = fetch(`${server.url}/v2/users/until-aborted/otp_email`, { method: 'POST', headers: { 'content-type': 'application/json', ...auth }, body: '{}', signal: client.signal });
    pending.catch(() => undefined);
    await eventually(() => expect(lastReceived().request.userId).toBe('until-aborted'));
    expect(stubs.aborted).toEqual([]);
    client.abort();
    await eventually(() => expect(stubs.aborted).toEqual(['AddOTPEmail']));
  });

  it("answers with the method's success code from ZITADEL's option (CreateSession → 201)", async () => {
    const res = await call('POST', '/v2/sessions', '{}');
    expect(res.status).toBe(201);
    expect(JSON.parse(res.text)).toMatchObject({ sessionId: 'session-1', sessionToken: 'session-token' });
  });

  it.each([
    ['not-ready', 400, 9, "Multifactor OTP (OneTimePassword) isn't ready", 'COMMAND-KLJ2d'],
    ['exists', 409, 6, 'Multifactor OTP (OneTimePassword) is already set up', 'COMMAND-MKL2s'],
    ['missing', 404, 5, 'Not found', 'COMMAND-4g3xq'],
    ['denied', 403, 7, 'No matching permissions found', 'AUTH-AWfge'],
    ['limited', 429, 8, 'Too many codes sent, please wait before asking for another one', 'COMMAND-stub8'],
  ])('a DomainError from the stub (%s) becomes HTTP %i with code %i, "<text> (<id>)" and one ErrorDetail', async (userId, status, code, text, id) => {
    const res = await call('POST', `/v2/users/${userId}/otp_email`, '{}');
    expect(res.status).toBe(status);
    expect(JSON.parse(res.text)).toEqual({
      code,
      message: `${text} (${id})`,
      details: [{ '@type': 'type.googleapis.com/zitadel.v1.ErrorDetail', id, message: text }],
    });
  });

  it('without a token, or with a bad one, answers 401 code 16', async () => {
    const none = await call('POST', '/v2/users/123/otp_email', '{}', {});
    expect(none.status).toBe(401);
    // ZITADEL's auth interceptor: a plain status without an ErrorDetail, so no `details`.
    expect(JSON.parse(none.text)).toEqual({ code: 16, message: 'auth header missing' });
    expect(none.headers.get('www-authenticate')).toBe('auth header missing');
    const bad = await call('POST', '/v2/users/123/otp_email', '{}', { authorization: 'Bearer nope' });
    expect(bad.status).toBe(401);
    expect(JSON.parse(bad.text)).toMatchObject({ code: 16, details: [{ id: 'AUTH-stub01' }] });
    expect(bad.headers.get('www-authenticate')).toBe('Errors.Token.Invalid (AUTH-stub01)');
  });

  it("a validation failure is 400 code 3 with PGV's message and no details", async () => {
    const res = await call('POST', `/v2/users/${'x'.repeat(201)}/otp_email`, '{}');
    expect(res.status).toBe(400);
    expect(JSON.parse(res.text)).toEqual({
      code: 3,
      message: 'invalid AddOTPEmailRequest.UserId: value length must be between 1 and 200 runes, inclusive',
    });
  });

  it('unknown route → 404 code 5; known path with a wrong verb → 405 code 12', async () => {
    const unknown = await call('GET', '/v2/nothing/here');
    expect(unknown.status).toBe(404);
    expect(JSON.parse(unknown.text)).toEqual({ code: 5, message: 'Not Found' });
    const wrongVerb = await call('GET', '/v2/users/123/otp_email');
    expect(wrongVerb.status).toBe(405);
    expect(JSON.parse(wrongVerb.text)).toEqual({ code: 12, message: 'Method Not Allowed' });
  });

  it('leaves paths outside its prefix to the app (health stays, other paths get the app 404)', async () => {
    const health = await call('GET', '/healthz', undefined, {});
    expect(health.status).toBe(200);
    expect(JSON.parse(health.text)).toEqual({ status: 'ok' });
    expect((await call('GET', '/elsewhere')).status).toBe(404);
  });

  it('a body over 1 MiB → 413 code 8', async () => {
    const big = JSON.stringify({ userId: 'x'.repeat(1024 * 1024) });
    const res = await call('POST', '/v2/users/123/otp_email', big);
    expect(res.status).toBe(413);
    expect(JSON.parse(res.text)).toMatchObject({ code: 8 });
  });

  it('a chunked body (no Content-Length) over 1 MiB → 413 code 8 as well', async () => {
    const { status, text } = await new Promise<{ status: number; text: string }>((resolve, reject) => {
      const req = request(`${server.url}/v2/users/123/otp_email`, { method: 'POST', headers: auth }, (res) => {
        let text = '';
        res.on('data', (c: Buffer) => (text += c.toString()));
        res.on('end', () => resolve({ status: res.statusCode!, text }));
      });
      req.on('error', reject);
      const chunk = Buffer.alloc(64 * 1024, 'x');
      for (let i = 0; i < 20; i++) req.write(chunk);
      req.end();
    });
    expect(status).toBe(413);
    expect(JSON.parse(text)).toMatchObject({ code: 8 });
  });

  it('malformed JSON or a wrong type → 400 code 3, without a stack', async () => {
    const malformed = await call('POST', '/v2/users/123/otp_email', '{"userId":');
    expect(malformed.status).toBe(400);
    expect(JSON.parse(malformed.text)).toMatchObject({ code: 3 });
    const wrongType = await call('POST', '/v2/sessions', '{"lifetime":true}');
    expect(wrongType.status).toBe(400);
    expect(JSON.parse(wrongType.text)).toMatchObject({ code: 3 });
    const notObject = await call('POST', '/v2/sessions', '[1,2]');
    expect(notObject.status).toBe(400);
    const badBool = await call('GET', '/v2/users/1/authentication_methods?domainQuery.includeWithoutDomain=maybe');
    expect(badBool.status).toBe(400);
    for (const r of [malformed, wrongType, notObject, badBool]) expect(r.text).not.toMatch(/\n\s+at /);
  });

  it('a method the implementation leaves out answers 501 code 12', async () => {
    const res = await call('DELETE', '/v2/users/1/otp_email');
    expect(res.status).toBe(501);
    expect(JSON.parse(res.text)).toEqual({ code: 12, message: 'zitadel.user.v2.UserService.RemoveOTPEmail is not implemented' });
  });

  it('routes overlapping templates as grpc-gateway does (the later declared method first)', async () => {
    // POST /v2/users/{user_id}/passkeys/registration_link also matches /passkeys/{passkey_id}.
    const res = await call('POST', '/v2/users/1/passkeys/registration_link', '{}');
    expect(JSON.parse(res.text).message).toBe('zitadel.user.v2.UserService.CreatePasskeyRegistrationLink is not implemented');
  });

  it('a plain Error (a bug) → 500 "Internal error" with nothing of its message; the log has it', async () => {
    const res = await call('POST', '/v2/users/bug/otp_email', '{}');
    expect(res.status).toBe(500);
    expect(JSON.parse(res.text)).toEqual({ code: 13, message: 'Internal error' });
    expect(res.text).not.toContain('hunter2');
    const logged = server.logs.find((l) => l.msg === 'unhandled error in a service method');
    expect(logged).toMatchObject({ level: 'error', procedure: 'zitadel.user.v2.UserService/AddOTPEmail' });
    expect(logged?.err?.stack).toContain('hunter2');
  });
});
