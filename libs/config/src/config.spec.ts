import { createHash } from 'node:crypto';
import { describe, expect, it } from '@jest/globals';
import { ConfigError, loadConfig } from './config.js';

const key = Buffer.alloc(32, 7).toString('base64');

function errorOf(env: Record<string, string>): string {
  try {
    loadConfig(env);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as Error).message;
  }
  throw new Error('expected a ConfigError');
}

describe('loadConfig', () => {
  it('applies the documented defaults to an empty environment', () => {
    const config = loadConfig({});
    expect(config).toMatchObject({
      PORT: 8080,
      DATA_DIR: './data',
      EVENTSTORE: 'postgres',
      PUBLIC_URL: 'http://localhost:8080',
      OTP_EMAIL_CODE_LENGTH: 8,
      OTP_EMAIL_CODE_TTL: 300_000,
      LOCKOUT_MAX_OTP_ATTEMPTS: 5,
      OTP_EMAIL_MAX_SENDS_PER_WINDOW: 5,
      OTP_EMAIL_SEND_WINDOW: 600_000,
      LOG_LEVEL: 'info',
      HTTP_HEADERS_TIMEOUT_MS: 10_000,
      HTTP_REQUEST_TIMEOUT_MS: 30_000,
      HTTP_MAX_CONNECTIONS: 1_000,
      AUTH_CACHE_TTL_MS: 1_000,
      EMBEDDED_SHARED_BUFFERS_MB: 32,
      HOST: '0.0.0.0',
      DATABASE_WAIT: 60_000,
    });
    expect(config.DATABASE_URL).toBeUndefined();
  });

  it('parses durations, numbers and the key', () => {
    const config = loadConfig({ PORT: '9000', OTP_EMAIL_CODE_TTL: '90s', DATABASE_URL: 'postgres://h/db', ENCRYPTION_KEY: key });
    expect(config.PORT).toBe(9000);
    expect(config.OTP_EMAIL_CODE_TTL).toBe(90_000);
    expect(config.ENCRYPTION_KEY).toEqual(Buffer.alloc(32, 7));
    expect(config.PUBLIC_URL).toBe('http://localhost:9000');
    expect(loadConfig({ AUTH_CACHE_TTL_MS: '0' }).AUTH_CACHE_TTL_MS).toBe(0);
    expect(() => loadConfig({ AUTH_CACHE_TTL_MS: '60001' })).toThrow(/AUTH_CACHE_TTL_MS/);
  });

  it('reads TRUSTED_PROXIES as a list of addresses and CIDR ranges, none by default', () => {
    expect(loadConfig({}).TRUSTED_PROXIES).toEqual([]);
    expect(loadConfig({ TRUSTED_PROXIES: '10.0.0.1, 10.1.0.0/16,fd00::/8' }).TRUSTED_PROXIES).toEqual(['10.0.0.1', '10.1.0.0/16', 'fd00::/8']);
  });

  it('treats an empty variable as unset', () => {
    expect(loadConfig({ SMTP_URL: '', PORT: '' }).PORT).toBe(8080);
  });

  it.each([
    [{ PORT: 'eighty' }, /PORT: .*"eighty"/],
    [{ TRUSTED_PROXIES: '10.0.0.1, 10.0.0.0/40' }, /TRUSTED_PROXIES: "10.0.0.0\/40" is not an IP address or CIDR range/],
    [{ TRUSTED_PROXIES: 'proxy.local' }, /TRUSTED_PROXIES: "proxy.local" is not an IP address/],
    [{ PORT: '70000' }, /PORT:/],
    [{ OTP_EMAIL_CODE_TTL: '5 minutes' }, /OTP_EMAIL_CODE_TTL: expected a duration/],
    [{ LOG_LEVEL: 'loud' }, /LOG_LEVEL:/],
    [{ EVENTSTORE: 'mongo' }, /EVENTSTORE:/],
    [{ EVENTSTORE: 'eventstoredb' }, /EVENTSTORE_CONNECTION_STRING: is required when EVENTSTORE=eventstoredb/],
    [{ DATABASE_URL: 'mysql://x' }, /DATABASE_URL: expected a postgres/],
    [{ DATABASE_URL: 'postgres://h/db' }, /ENCRYPTION_KEY: is required with DATABASE_URL/],
    [{ ENCRYPTION_KEY: 'c2hvcnQ=' }, /ENCRYPTION_KEY: expected 32 bytes/],
    [{ OIDC_ISSUER: 'https://issuer' }, /OIDC_JWKS_URL: is required.*\n.*OIDC_AUDIENCE: is required/],
    [{ LOCKOUT_MAX_OTP_ATTEMPTS: '-1' }, /LOCKOUT_MAX_OTP_ATTEMPTS:/],
  ])('names the variable in the error for %j', (env, message) => {
    expect(errorOf(env)).toMatch(message);
  });

  it.each(['abc', '1.5', '70000', '-1'])('says what a number must be, in words, for PORT=%s', (port) => {
    const err = (() => {
      try {
        loadConfig({ PORT: port });
      } catch (e) {
        return e as ConfigError;
      }
      throw new Error('expected a ConfigError');
    })();
    expect(err.problems).toEqual([`PORT: expected a whole number between 0 and 65535 (got "${port}")`]);
  });

  it('reads several encryption keys and the sealing one; ENCRYPTION_KEYS alone satisfies DATABASE_URL', () => {
    const a = Buffer.alloc(32, 1).toString('base64');
    const b = Buffer.alloc(32, 2).toString('base64');
    const config = loadConfig({ DATABASE_URL: 'postgres://h/db', ENCRYPTION_KEYS: `old:${a}, new:${b}`, ENCRYPTION_KEY_ID: 'new' });
    expect(config.ENCRYPTION_KEYS).toEqual([{ id: 'old', key: Buffer.alloc(32, 1) }, { id: 'new', key: Buffer.alloc(32, 2) }]);
    expect(config.ENCRYPTION_KEY_ID).toBe('new');
    // ENCRYPTION_KEY's id is its fingerprint: it may be named as the sealing key.
    const fingerprint = createHash('sha256').update(Buffer.alloc(32, 7)).digest('hex').slice(0, 12);
    expect(loadConfig({ ENCRYPTION_KEY: key, ENCRYPTION_KEYS: `new:${b}`, ENCRYPTION_KEY_ID: fingerprint }).ENCRYPTION_KEY_ID).toBe(fingerprint);
  });

  it.each([
    [{ ENCRYPTION_KEYS: 'nocolon' }, /ENCRYPTION_KEYS: entry 1: expected id:base64/],
    [{ ENCRYPTION_KEYS: 'a:c2hvcnQ=' }, /ENCRYPTION_KEYS: key "a": expected 32 bytes/],
    [{ ENCRYPTION_KEYS: `a:${key},a:${key}` }, /key "a" is listed twice/],
    [{ ENCRYPTION_KEYS: `a:${key},b:${key}` }, /ENCRYPTION_KEY_ID: is required with several ENCRYPTION_KEYS/],
    [{ ENCRYPTION_KEYS: `a:${key}`, ENCRYPTION_KEY_ID: 'b' }, /ENCRYPTION_KEY_ID: is not among the configured keys \(a\)/],
    [{ ENCRYPTION_KEY_ID: 'a' }, /ENCRYPTION_KEY_ID: names the sealing key/],
  ])('checks the key ring: %j', (env, message) => {
    expect(errorOf(env)).toMatch(message);
    expect(errorOf(env)).not.toContain(key);
  });

  it('never echoes a secret value in the error', () => {
    expect(errorOf({ ENCRYPTION_KEY: 'not-a-key-secret' })).not.toContain('not-a-key-secret');
  });

  it('ROLE_PERMISSIONS replaces the role table; a malformed one stops the start with the reason', () => {
    expect(loadConfig({}).ROLE_PERMISSIONS).toBeUndefined();
    const config = loadConfig({ ROLE_PERMISSIONS: '[{"role": "IAM_LOGIN_CLIENT", "permissions": ["session.write"]}]' });
    expect(config.ROLE_PERMISSIONS?.IAM_LOGIN_CLIENT).toEqual(['session.write']);
    expect(config.ROLE_PERMISSIONS?.IAM_OWNER).toEqual([]);
    expect(errorOf({ ROLE_PERMISSIONS: 'iam' })).toMatch(/^invalid configuration:\n  ROLE_PERMISSIONS: expected JSON/);
    expect(errorOf({ ROLE_PERMISSIONS: '[{"role": "ROOT", "permissions": []}]' })).toMatch(/ROLE_PERMISSIONS: entry 0: "ROOT" is not a role/);
  });
});
