import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { writeFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { exportJWK, generateKeyPair, SignJWT } from 'jose';
import { restClient, startTestServer, type TestServer } from '#test-support';

// An end user acting as themselves with an access token from an external OIDC issuer.
describe('end users with a JWT access token', () => {
  let t: TestServer;
  let call: ReturnType<typeof restClient>;
  let sign: (sub: string, overrides?: { issuer?: string; audience?: string }) => Promise<string>;

  beforeAll(async () => {
    const { publicKey, privateKey } = await generateKeyPair('ES256');
    const jwks = join(mkdtempSync(join(tmpdir(), 'jwks-')), 'jwks.json');
    writeFileSync(jwks, JSON.stringify({ keys: [{ ...(await exportJWK(publicKey)), kid: 'k1', alg: 'ES256', use: 'sig' }] }));
    sign = (sub, overrides = {}) =>
      new SignJWT({})
        .setProtectedHeader({ alg: 'ES256', kid: 'k1' })
        .setSubject(sub)
        .setIssuer(overrides.issuer ?? 'https://issuer.example')
        .setAudience(overrides.audience ?? 'identity-api')
        .setIssuedAt()
        .setExpirationTime('5m')
        .sign(privateKey);
    t = await startTestServer('pglite', { OIDC_ISSUER: 'https://issuer.example', OIDC_JWKS_URL: jwks, OIDC_AUDIENCE: 'identity-api' });
    call = restClient(t.url);
  });
  afterAll(async () => {
    await t?.stop();
  });

  async function verifiedUser(name: string): Promise<string> {
    const res = await call('POST', '/v2/users/human', t.adminToken, {
      username: name,
      profile: { givenName: name, familyName: 'Test' },
      email: { email: `${name}@example.com`, isVerified: true },
    });
    expect(res.status).toBe(200);
    return res.body.userId;
  }

  it('adds and removes OTP Email for oneself without any role, and nobody else’s', async () => {
    const me = await verifiedUser('selfie');
    const other = await verifiedUser('other');
    const token = await sign(me);

    const added = await call('POST', `/v2/users/${me}/otp_email`, token, {});
    expect(added.status).toBe(200);
    expect((await call('GET', `/v2/users/${me}/authentication_methods`, token)).body.authMethodTypes).toEqual([
      'AUTHENTICATION_METHOD_TYPE_OTP_EMAIL',
    ]);
    const foreign = await call('POST', `/v2/users/${other}/otp_email`, token, {});
    expect(foreign.status).toBe(403);
    expect(foreign.body.details[0].id).toBe('AUTH-AWfge');
    expect((await call('DELETE', `/v2/users/${me}/otp_email`, token)).status).toBe(200);
  });

  it('refuses a token of another issuer or audience with 401', async () => {
    const me = await verifiedUser('wrongiss');
    expect((await call('POST', `/v2/users/${me}/otp_email`, await sign(me, { issuer: 'https://evil.example' }), {})).status).toBe(401);
    expect((await call('POST', `/v2/users/${me}/otp_email`, await sign(me, { audience: 'other-api' }), {})).status).toBe(401);
  });
});
