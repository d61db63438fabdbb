import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey, type JWK } from 'jose';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { JsonObject } from '#eventstore';
import { testBackend, type TestStores } from '#eventstore/testing';
import { userStream } from '#user';
import { JwtVerifier, jwtSettingsFrom } from './jwt.js';
import { TokenAuthenticator } from './token-authenticator.js';

const ISSUER = 'https://issuer.example.com';
const AUDIENCE = 'otp-email-identity';
const INSTANCE = '300000000000000001';
const ORG = '300000000000000002';
const HUMAN = '300000000000000010';
const MACHINE = '300000000000000011';

interface KeyPair {
  privateKey: CryptoKey;
  jwk: JWK;
}

async function keyPair(kid: string): Promise<KeyPair> {
  const { privateKey, publicKey } = await generateKeyPair('ES256');
  return { privateKey, jwk: { ...(await exportJWK(publicKey)), kid, alg: 'ES256', use: 'sig' } };
}

function sign(key: KeyPair, claims: { sub?: string; iss?: string; aud?: string; exp?: number | string } = {}) {
  const jwt = new SignJWT({})
    .setProtectedHeader({ alg: 'ES256', kid: key.jwk.kid!, typ: 'at+jwt' })
    .setIssuedAt()
    .setIssuer(claims.iss ?? ISSUER)
    .setAudience(claims.aud ?? AUDIENCE)
    .setExpirationTime(claims.exp ?? '5m');
  if (claims.sub !== '') jwt.setSubject(claims.sub ?? HUMAN);
  return jwt.sign(key.privateKey);
}

async function refusal(promise: Promise<unknown>) {
  return promise.then(
    () => {
      throw new Error('expected a refusal');
    },
    (err: unknown) => err as Record<string, unknown>,
  );
}

describe('end-user JWTs', () => {
  let t: TestStores;
  let dir: string;
  let key: KeyPair;
  let stranger: KeyPair;
  let server: Server;
  let jwksUrl: string;
  let jwksFile: string;

  beforeAll(async () => {
    t = await testBackend('pglite').open();
    const metadata = { instanceId: INSTANCE, resourceOwner: ORG, editor: 'test', correlationId: 'c' } as JsonObject;
    await t.store.append(
      userStream(HUMAN),
      [
        {
          type: 'user.human.added',
          data: { username: 'ada', orgId: ORG, profile: { givenName: 'Ada', familyName: 'L', displayName: 'Ada L' }, email: 'ada@example.com' },
          metadata,
        },
        { type: 'user.member.role.granted', data: { role: 'ORG_USER_MANAGER', orgId: ORG }, metadata },
        { type: 'user.locked', data: {}, metadata },
      ],
      'no_stream',
    );
    await t.store.append(
      userStream(MACHINE),
      [
        { type: 'user.machine.added', data: { username: 'robot', orgId: ORG, name: 'Robot' }, metadata },
        { type: 'user.member.role.granted', data: { role: 'IAM_OWNER' }, metadata },
      ],
      'no_stream',
    );
    key = await keyPair('key-1');
    stranger = await keyPair('key-1'); // the same kid, another key: only the signature tells
    dir = mkdtempSync(join(tmpdir(), 'jwks-'));
    jwksFile = join(dir, 'jwks.json');
    writeFileSync(jwksFile, JSON.stringify({ keys: [key.jwk] }));
    server = createServer((req, res) => {
      if (req.url !== '/keys') {
        res.writeHead(404).end();
        return;
      }
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ keys: [key.jwk] }));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    jwksUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/keys`;
  });

  afterAll(async () => {
    await new Promise((resolve) => server.close(resolve));
    rmSync(dir, { recursive: true, force: true });
    await t.cleanup();
  });

  it('is off unless all three OIDC variables are set', () => {
    expect(jwtSettingsFrom({})).toBeUndefined();
    expect(jwtSettingsFrom({ OIDC_ISSUER: ISSUER, OIDC_AUDIENCE: AUDIENCE })).toBeUndefined();
    expect(jwtSettingsFrom({ OIDC_ISSUER: ISSUER, OIDC_AUDIENCE: AUDIENCE, OIDC_JWKS_URL: jwksFile })).toEqual({
      issuer: ISSUER,
      audience: AUDIENCE,
      jwksUrl: jwksFile,
    });
  });

  it('refuses every JWT when OIDC is off', async () => {
    const authenticator = new TokenAuthenticator(t.store);
    expect(await refusal(authenticator.authenticate(`Bearer ${await sign(key)}`))).toMatchObject({ kind: 'Unauthenticated', id: 'AUTH-7fs1e' });
  });

  describe.each([
    ['a JWK Set file', () => jwksFile],
    ['a JWK Set file: URL', () => pathToFileURL(jwksFile).href],
    ['a JWKS served over http', () => jwksUrl],
  ])('with keys from %s', (_name, source) => {
    let authenticator: TokenAuthenticator;
    beforeAll(() => {
      authenticator = new TokenAuthenticator(t.store, { jwt: new JwtVerifier({ issuer: ISSUER, audience: AUDIENCE, jwksUrl: source() }) });
    });

    it('turns a valid token into the Caller of its sub, with the roles from the user stream', async () => {
      const caller = await authenticator.authenticate(`Bearer ${await sign(key)}`);
      expect(caller).toEqual({ userId: HUMAN, orgId: ORG, instanceId: INSTANCE, kind: 'human', roles: [{ role: 'ORG_USER_MANAGER', orgId: ORG }] });
    });

    it.each([
      ['a wrong issuer', () => sign(key, { iss: 'https://evil.example.com' })],
      ['a wrong audience', () => sign(key, { aud: 'someone-else' })],
      ['an expired token', () => sign(key, { exp: Math.floor(Date.now() / 1000) - 60 })],
      ['a token signed by another key', () => sign(stranger)],
      ['an unknown sub', () => sign(key, { sub: '399999999999999999' })],
      ['no sub', () => sign(key, { sub: '' })],
      ['a sub naming a machine user (the external issuer speaks for humans only)', () => sign(key, { sub: MACHINE })],
      ['a sub with NUL', () => sign(key, { sub: 'a\u0000b' })],
      ['a sub with a lone surrogate', () => sign(key, { sub: 'a\ud800b' })],
      ['a sub over 200 characters', () => sign(key, { sub: '3'.repeat(201) })],
      ['a tampered payload', async () => {
        const [header, , signature] = (await sign(key)).split('.');
        const payload = Buffer.from(JSON.stringify({ sub: HUMAN, iss: ISSUER, aud: AUDIENCE, exp: 9999999999 })).toString('base64url');
        return `${header}.${payload}.${signature}`;
      }],
      ['alg none', async () => {
        const header = Buffer.from(JSON.stringify({ alg: 'none' })).toString('base64url');
        const payload = Buffer.from(JSON.stringify({ sub: HUMAN, iss: ISSUER, aud: AUDIENCE, exp: 9999999999 })).toString('base64url');
        return `${header}.${payload}.`;
      }],
    ])('refuses %s as Unauthenticated', async (_case, token) => {
      expect(await refusal(authenticator.authenticate(`Bearer ${await token()}`))).toMatchObject({
        kind: 'Unauthenticated',
        id: 'AUTH-7fs1e',
        key: 'Errors.Token.Invalid',
      });
    });
  });

  it('answers Unavailable, not Unauthenticated, when the keys cannot be had', async () => {
    const authenticator = new TokenAuthenticator(t.store, {
      jwt: new JwtVerifier({ issuer: ISSUER, audience: AUDIENCE, jwksUrl: join(dir, 'missing.json') }),
    });
    expect(await refusal(authenticator.authenticate(`Bearer ${await sign(key)}`))).toMatchObject({ kind: 'Unavailable', id: 'AUTH-Jwks5' });
    const notServed = new TokenAuthenticator(t.store, {
      jwt: new JwtVerifier({ issuer: ISSUER, audience: AUDIENCE, jwksUrl: jwksUrl.replace('/keys', '/nothing') }),
    });
    expect(await refusal(notServed.authenticate(`Bearer ${await sign(key)}`))).toMatchObject({ kind: 'Unavailable' });
  });

  it('reads the JWK Set file again when it changes (key rotation)', async () => {
    const rotated = await keyPair('key-2');
    const file = join(dir, 'rotating.json');
    writeFileSync(file, JSON.stringify({ keys: [key.jwk] }));
    const authenticator = new TokenAuthenticator(t.store, { jwt: new JwtVerifier({ issuer: ISSUER, audience: AUDIENCE, jwksUrl: file }) });
    await expect(authenticator.authenticate(`Bearer ${await sign(key)}`)).resolves.toMatchObject({ userId: HUMAN });
    writeFileSync(file, JSON.stringify({ keys: [key.jwk, rotated.jwk] }));
    await expect(authenticator.authenticate(`Bearer ${await sign(rotated)}`)).resolves.toMatchObject({ userId: HUMAN });
  });
});
