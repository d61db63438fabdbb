import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Code, ConnectError, createClient } from '@connectrpc/connect';
import { createConnectTransport, createGrpcTransport, createGrpcWebTransport } from '@connectrpc/connect-node';
import { OrganizationService } from '@zitadel/proto/zitadel/org/v2/org_service_pb.js';
import { UserService } from '@zitadel/proto/zitadel/user/v2/user_service_pb.js';
import { CHANGE_DATE, GOOD_TOKEN, h2Exchange, STUB_CALLER, startTestServer, stubAuthenticator, stubServices, type TestServer } from '#api/testing';
import { Health, HealthCheckResponse_ServingStatus as ServingStatus } from './gen/grpc/health/v1/health_pb.js';

/** The buf CLI (devDependency @bufbuild/buf); BUF_BIN points elsewhere when the install lacks it. */
const BUF = process.env.BUF_BIN ?? fileURLToPath(new URL('../../../../node_modules/.bin/buf', import.meta.url));

function buf(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  if (!existsSync(BUF)) throw new Error(`buf CLI not found at ${BUF} (install @bufbuild/buf or set BUF_BIN)`);
  return new Promise((resolve) => {
    execFile(BUF, ['curl', ...args], { timeout: 30_000 }, (err, stdout, stderr) => {
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
  });
}

/** A gRPC frame holding an empty message. */
const EMPTY_GRPC_FRAME = Buffer.from([0, 0, 0, 0, 0]);

/** Readiness that answers what the test says, as the process's Readiness would. */
function switchableReadiness(ready: boolean) {
  return {
    ready,
    async check() {
      return { ready: this.ready };
    },
  };
}

async function connectErrorOf(call: Promise<unknown>): Promise<ConnectError> {
  const err = await call.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(ConnectError);
  return err as ConnectError;
}

describe('around the API: server reflection, gRPC health and unknown routes, over h2c with real clients', () => {
  let server: TestServer;
  const stubs = stubServices();
  const readiness = switchableReadiness(true);

  beforeAll(async () => {
    server = await startTestServer({ userService: stubs.userService, sessionService: stubs.sessionService, authenticator: stubAuthenticator, readiness });
  });
  afterAll(async () => {
    await server.close();
  });

  describe('reflection (buf curl, no token)', () => {
    it.each(['grpc-v1', 'grpc-v1alpha'])('--list-services over %s lists the API, reflection and health', async (protocol) => {
      const out = await buf(['--http2-prior-knowledge', '--reflect-protocol', protocol, '--list-services', server.url]);
      expect(out.stderr).toBe('');
      expect(out.code).toBe(0);
      expect(out.stdout.trim().split('\n').sort()).toEqual(
        [
          'grpc.health.v1.Health',
          'grpc.reflection.v1.ServerReflection',
          'grpc.reflection.v1alpha.ServerReflection',
          'zitadel.session.v2.SessionService',
          'zitadel.user.v2.UserService',
          'zitadel.session.v2beta.SessionService',
          'zitadel.user.v2beta.UserService',
        ].sort(),
      );
    });

    it('--list-methods resolves every service to its methods through file descriptors and their imports', async () => {
      const out = await buf(['--http2-prior-knowledge', '--list-methods', server.url]);
      expect(out.stderr).toBe('');
      const methods = out.stdout.trim().split('\n');
      for (const m of UserService.methods) expect(methods).toContain(`zitadel.user.v2.UserService/${m.name}`);
      expect(methods).toContain('zitadel.session.v2.SessionService/CreateSession');
      expect(methods).toContain('grpc.health.v1.Health/Check');
      expect(methods).toContain('grpc.reflection.v1.ServerReflection/ServerReflectionInfo');
    });

    it('a call described by reflection alone reaches AddOTPEmail over gRPC, with the token sent only to the call', async () => {
      const before = stubs.received.length;
      const out = await buf([
        '--protocol',
        'grpc',
        '--http2-prior-knowledge',
        '-H',
        `Authorization: Bearer ${GOOD_TOKEN}`,
        '-d',
        '{"userId":"123"}',
        `${server.url}/zitadel.user.v2.UserService/AddOTPEmail`,
      ]);
      expect(out.stderr).toBe('');
      expect(out.code).toBe(0);
      expect(JSON.parse(out.stdout)).toEqual({ details: { sequence: '7', changeDate: CHANGE_DATE, resourceOwner: 'org' } });
      expect(stubs.received.slice(before)).toEqual([{ method: 'AddOTPEmail', request: expect.objectContaining({ userId: '123' }), caller: STUB_CALLER }]);
    });

    it('the same call without a token: reflection still answers, the API says Unauthenticated', async () => {
      const out = await buf(['--protocol', 'grpc', '--http2-prior-knowledge', '-d', '{"userId":"123"}', `${server.url}/zitadel.user.v2.UserService/AddOTPEmail`]);
      expect(out.code).not.toBe(0);
      expect(out.stderr).toMatch(/"code": "unauthenticated"/);
    });
  });

  describe('grpc.health.v1.Health, with no token', () => {
    const health = () => createClient(Health, createGrpcTransport({ baseUrl: server.url }));

    it('Check answers SERVING while ready and NOT_SERVING while not, for the server and for each service', async () => {
      readiness.ready = true;
      expect((await health().check({})).status).toBe(ServingStatus.SERVING);
      expect((await health().check({ service: 'zitadel.user.v2.UserService' })).status).toBe(ServingStatus.SERVING);
      readiness.ready = false;
      try {
        expect((await health().check({})).status).toBe(ServingStatus.NOT_SERVING);
        expect((await health().check({ service: 'zitadel.session.v2.SessionService' })).status).toBe(ServingStatus.NOT_SERVING);
      } finally {
        readiness.ready = true;
      }
    });

    it('Check of an unknown service is NOT_FOUND, as the health protocol says', async () => {
      const err = await connectErrorOf(health().check({ service: 'no.such.Service' }));
      expect(err.code).toBe(Code.NotFound);
      expect(err.rawMessage).toBe('unknown service');
    });

    it('List reports the server ("") and every service', async () => {
      const { statuses } = await health().list({});
      expect(Object.keys(statuses).sort()).toEqual(
        [
          '',
          'grpc.health.v1.Health',
          'grpc.reflection.v1.ServerReflection',
          'grpc.reflection.v1alpha.ServerReflection',
          'zitadel.session.v2.SessionService',
          'zitadel.user.v2.UserService',
          'zitadel.session.v2beta.SessionService',
          'zitadel.user.v2beta.UserService',
        ].sort(),
      );
      expect(Object.values(statuses).every((s) => s.status === ServingStatus.SERVING)).toBe(true);
    });

    it('buf curl reads Check through reflection, without a token', async () => {
      const out = await buf(['--protocol', 'grpc', '--http2-prior-knowledge', `${server.url}/grpc.health.v1.Health/Check`]);
      expect(out.stderr).toBe('');
      expect(JSON.parse(out.stdout)).toEqual({ status: 'SERVING' });
    });

    it('Watch of an unknown service sends SERVICE_UNKNOWN and stays open until the client leaves', async () => {
      const abort = new AbortController();
      const stream = health().watch({ service: 'no.such.Service' }, { signal: abort.signal });
      const first = await stream[Symbol.asyncIterator]().next();
      expect(first.value?.status).toBe(ServingStatus.SERVICE_UNKNOWN);
      abort.abort();
    });
  });

  describe('unknown services and methods', () => {
    it('gRPC over h2c: HTTP 200, grpc-status 12 and grpc-go wording, for an unknown service and an unknown method', async () => {
      const unknownService = await h2Exchange(
        server.url,
        { ':method': 'POST', ':path': '/no.such.Service/Call', 'content-type': 'application/grpc', te: 'trailers' },
        EMPTY_GRPC_FRAME,
      );
      expect(unknownService.headers[':status']).toBe(200);
      expect(unknownService.headers['content-type']).toBe('application/grpc');
      expect(unknownService.headers['grpc-status']).toBe('12');
      expect(unknownService.headers['grpc-message']).toBe('unknown service no.such.Service');
      expect(unknownService.body.length).toBe(0);

      const unknownMethod = await h2Exchange(
        server.url,
        { ':method': 'POST', ':path': '/zitadel.user.v2.UserService/NoSuchMethod', 'content-type': 'application/grpc+proto', te: 'trailers' },
        EMPTY_GRPC_FRAME,
      );
      expect(unknownMethod.headers[':status']).toBe(200);
      expect(unknownMethod.headers['grpc-status']).toBe('12');
      expect(unknownMethod.headers['grpc-message']).toBe('unknown method NoSuchMethod for service zitadel.user.v2.UserService');
    });

    it('a gRPC client calling a service that is not served gets Unimplemented (and no token is asked for first)', async () => {
      const orgs = createClient(OrganizationService, createGrpcTransport({ baseUrl: server.url }));
      const err = await connectErrorOf(orgs.listOrganizations({}));
      expect(err.code).toBe(Code.Unimplemented);
      expect(err.rawMessage).toBe('unknown service zitadel.org.v2.OrganizationService');
    });

    it('gRPC-Web over HTTP/1.1: Unimplemented the same way', async () => {
      const orgs = createClient(OrganizationService, createGrpcWebTransport({ baseUrl: server.url, httpVersion: '1.1' }));
      const err = await connectErrorOf(orgs.listOrganizations({}));
      expect(err.code).toBe(Code.Unimplemented);
      expect(err.rawMessage).toBe('unknown service zitadel.org.v2.OrganizationService');

      const res = await fetch(`${server.url}/no.such.Service/Call`, { method: 'POST', headers: { 'content-type': 'application/grpc-web+proto' }, body: EMPTY_GRPC_FRAME });
      expect(res.status).toBe(200);
      expect(res.headers.get('grpc-status')).toBe('12');
      expect(res.headers.get('grpc-message')).toBe('unknown service no.such.Service');
    });

    it('Connect keeps its own answer: HTTP 404, which Connect clients read as Unimplemented', async () => {
      for (const httpVersion of ['1.1', '2'] as const) {
        const orgs = createClient(OrganizationService, createConnectTransport({ baseUrl: server.url, httpVersion }));
        expect((await connectErrorOf(orgs.listOrganizations({}))).code).toBe(Code.Unimplemented);
      }
    });
  });

  describe('paths nothing serves answer the REST gateway 404, never Nest’s', () => {
    const NOT_FOUND = { code: 5, message: 'Not Found' };

    it.each([
      ['GET', '/v3alpha/users'],
      ['POST', '/v3alpha/users/123/otp_email'],
      ['GET', '/v2/no-such-resource'],
      ['GET', '/nowhere'],
      ['POST', '/healthz'],
      ['POST', '/zitadel.org.v2.OrganizationService/ListOrganizations'],
    ])('HTTP/1.1 %s %s', async (method, path) => {
      const res = await fetch(`${server.url}${path}`, { method, ...(method === 'POST' ? { headers: { 'content-type': 'application/json' }, body: '{}' } : {}) });
      expect(res.status).toBe(404);
      expect(res.headers.get('content-type')).toBe('application/json');
      expect(await res.json()).toEqual(NOT_FOUND);
    });

    it.each([
      ['GET', '/v3alpha/users'],
      ['GET', '/nowhere'],
    ])('HTTP/2 %s %s', async (method, path) => {
      const res = await h2Exchange(server.url, { ':method': method, ':path': path });
      expect(res.headers[':status']).toBe(404);
      expect(JSON.parse(res.body.toString())).toEqual(NOT_FOUND);
    });

    it('the app’s own routes still answer', async () => {
      const res = await fetch(`${server.url}/healthz`);
      expect(res.status).toBe(200);
      expect(await res.json()).toEqual({ status: 'ok' });
    });
  });
});

describe('health when the container has no readiness', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer({ authenticator: stubAuthenticator });
  });
  afterAll(async () => {
    await server.close();
  });

  it('answers NOT_SERVING (never ready by mistake) and says why at start', async () => {
    const health = createClient(Health, createGrpcTransport({ baseUrl: server.url }));
    expect((await health.check({})).status).toBe(ServingStatus.NOT_SERVING);
    expect(server.logs.some((l) => l.msg === 'transport: no READINESS provided, grpc.health.v1.Health will answer NOT_SERVING')).toBe(true);
  });
});
