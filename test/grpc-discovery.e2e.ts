import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createClient } from '@connectrpc/connect';
import { createGrpcTransport } from '@connectrpc/connect-node';
import { createServerTransport } from '@zitadel/client/node';
import { createUserServiceClient } from '@zitadel/client/v2';
import { Health, HealthCheckResponse_ServingStatus as ServingStatus, ServerReflectionV1 as ServerReflection } from '#api/testing';
import { startTestServer, storeKinds, type TestServer } from '#test-support';

describe.each(storeKinds())('the real server (%s): health and reflection as clients find them', (kind) => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer(kind);
  });
  afterAll(async () => {
    await server?.stop();
  });

  it('grpc.health.v1.Health says SERVING exactly when GET /readyz says ready', async () => {
    const readyz = await fetch(`${server.url}/readyz`);
    expect(readyz.status).toBe(200);
    const health = createClient(Health, createGrpcTransport({ baseUrl: server.url }));
    expect((await health.check({})).status).toBe(ServingStatus.SERVING);
  });

  it('reflection lists the API without a token, and the API itself still wants one', async () => {
    const reflection = createClient(ServerReflection, createGrpcTransport({ baseUrl: server.url }));
    const names: string[] = [];
    async function* ask() {
      yield { messageRequest: { case: 'listServices' as const, value: '' } };
    }
    for await (const res of reflection.serverReflectionInfo(ask())) {
      if (res.messageResponse.case === 'listServicesResponse') names.push(...res.messageResponse.value.service.map((s) => s.name));
    }
    expect(names).toEqual(expect.arrayContaining(['zitadel.user.v2.UserService', 'zitadel.session.v2.SessionService']));
    const users = createUserServiceClient(createServerTransport('not-a-token', { baseUrl: server.url }));
    await expect(users.addOTPEmail({ userId: '123' })).rejects.toMatchObject({ code: 16 });
  });
});
