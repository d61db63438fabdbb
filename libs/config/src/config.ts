import { createHash } from 'node:crypto';
import { isIP } from 'node:net';
import { z } from 'zod';
import { parseRolePermissions } from '#access';

/** A strict duration: a whole number and a unit (ms, s, m, h), e.g. "5m". */
const duration = z
  .string()
  .regex(/^\d+(ms|s|m|h)$/, 'expected a duration such as 500ms, 30s, 5m or 1h')
  .transform((text) => {
    const [, amount, unit] = /^(\d+)(ms|s|m|h)$/.exec(text)!;
    const factor = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000 }[unit as 'ms' | 's' | 'm' | 'h'];
    return Number(amount) * factor;
  })
  .refine((ms) => ms > 0, 'must be longer than zero');

/** A whole number in a range, said so in one message whatever is wrong ("abc", "1.5", "70000"). */
const integer = (min: number, max: number) => {
  const message = `expected a whole number between ${min} and ${max}`;
  return z
    .string()
    .trim()
    .regex(/^\d+$/, message)
    .transform(Number)
    .pipe(z.number().min(min, message).max(max, message));
};
const optionalText = z.string().trim().min(1).optional();

const encryptionKey = z
  .string()
  .refine((text) => /^[A-Za-z0-9+/]+={0,2}$/.test(text) && Buffer.from(text, 'base64').length === 32, {
    message: 'expected 32 bytes in base64 (generate one with: openssl rand -base64 32)',
  })
  .transform((text) => Buffer.from(text, 'base64'));

/** The id a key without a name gets (as libs/crypto names it): the first 12 hex digits of its SHA-256. */
const fingerprint = (key: Buffer) => createHash('sha256').update(key).digest('hex').slice(0, 12);

const KEY_ID = /^[A-Za-z0-9._-]{1,64}$/;

/** `id1:base64,id2:base64`: the keys that open encrypted values (rotation). */
const encryptionKeys = z.string().transform((text, ctx) => {
  const keys: { id: string; key: Buffer }[] = [];
  for (const [index, entry] of text.split(',').map((e) => e.trim()).entries()) {
    const colon = entry.indexOf(':');
    const id = colon > 0 ? entry.slice(0, colon).trim() : '';
    const base64 = colon > 0 ? entry.slice(colon + 1).trim() : '';
    // The message names the entry by position and id, never its key.
    if (!KEY_ID.test(id)) {
      ctx.addIssue({ code: 'custom', message: `entry ${index + 1}: expected id:base64 with an id of letters, digits, ".", "_" or "-" (at most 64)` });
    } else if (!(/^[A-Za-z0-9+/]+={0,2}$/.test(base64) && Buffer.from(base64, 'base64').length === 32)) {
      ctx.addIssue({ code: 'custom', message: `key "${id}": expected 32 bytes in base64 (openssl rand -base64 32)` });
    } else if (keys.some((k) => k.id === id)) {
      ctx.addIssue({ code: 'custom', message: `key "${id}" is listed twice` });
    } else {
      keys.push({ id, key: Buffer.from(base64, 'base64') });
    }
  }
  return keys;
});

/**
 * `10.0.0.1,10.1.0.0/16,fd00::/8`: the proxies whose X-Forwarded-For names the client. Each
 * entry an IPv4 or IPv6 address, or one with a prefix length (CIDR).
 */
const addressList = z.string().transform((text, ctx) => {
  const entries: string[] = [];
  for (const entry of text.split(',').map((e) => e.trim()).filter(Boolean)) {
    const [address, prefix, ...rest] = entry.split('/');
    const kind = isIP(address ?? '');
    const max = kind === 4 ? 32 : 128;
    const prefixOk = prefix === undefined || (/^\d{1,3}$/.test(prefix) && Number(prefix) <= max);
    if (kind === 0 || !prefixOk || rest.length > 0) {
      ctx.addIssue({ code: 'custom', message: `"${entry}" is not an IP address or CIDR range (e.g. 10.0.0.1 or 10.0.0.0/8)` });
    } else {
      entries.push(entry);
    }
  }
  return entries;
});

/** ZITADEL's RolePermissionMappings as JSON: replaces the whole default table of #access. */
const rolePermissions = z.string().transform((text, ctx) => {
  try {
    return parseRolePermissions(text);
  } catch (err) {
    ctx.addIssue({ code: 'custom', message: (err as Error).message });
    return z.NEVER;
  }
});

const schema = z
  .object({
    PORT: integer(0, 65535).default(8080),
    /** The address to listen on: 0.0.0.0 (every IPv4 interface, the default), 127.0.0.1 (this machine only), :: (IPv6 too). */
    HOST: z.string().trim().min(1).default('0.0.0.0'),
    /** How long the start waits for server PostgreSQL to answer (it may start after this process). */
    DATABASE_WAIT: duration.default(60_000),
    DATA_DIR: z.string().trim().min(1).default('./data'),
    /** The embedded database's page cache (PostgreSQL's shared_buffers), in MB. */
    EMBEDDED_SHARED_BUFFERS_MB: integer(1, 65_536).default(32),
    // Slow and numerous clients: a request's headers must arrive within HTTP_HEADERS_TIMEOUT_MS,
    // the whole request within HTTP_REQUEST_TIMEOUT_MS; past HTTP_MAX_CONNECTIONS open
    // connections a new one is closed at once.
    HTTP_HEADERS_TIMEOUT_MS: integer(1_000, 600_000).default(10_000),
    HTTP_REQUEST_TIMEOUT_MS: integer(1_000, 3_600_000).default(30_000),
    HTTP_MAX_CONNECTIONS: integer(1, 1_000_000).default(1_000),
    // How long a caller's user (its tokens, roles, organization) is used for authentication
    // without reading its stream again: the longest a token revoked or a role removed by another
    // process goes unnoticed here (this process's own changes count at once). 0: read every time.
    AUTH_CACHE_TTL_MS: integer(0, 60_000).default(1_000),
    DATABASE_URL: z
      .string()
      .regex(/^postgres(ql)?:\/\//, 'expected a postgres:// or postgresql:// connection URL')
      .optional(),
    EVENTSTORE: z.enum(['postgres', 'eventstoredb']).default('postgres'),
    EVENTSTORE_CONNECTION_STRING: z
      .string()
      .regex(/^(esdb|esdb\+discover|kurrentdb|kurrentdb\+discover|kdb|kdb\+discover):\/\//, 'expected an esdb:// connection string')
      .optional(),
    ENCRYPTION_KEY: encryptionKey.optional(),
    ENCRYPTION_KEYS: encryptionKeys.optional(),
    ENCRYPTION_KEY_ID: z.string().trim().regex(KEY_ID, 'expected a key id of letters, digits, ".", "_" or "-"').optional(),
    OIDC_ISSUER: optionalText,
    OIDC_JWKS_URL: optionalText,
    OIDC_AUDIENCE: optionalText,
    PUBLIC_URL: z.url({ protocol: /^https?$/ }).optional(),
    SMTP_URL: z.string().regex(/^smtps?:\/\//, 'expected an smtp:// or smtps:// URL').optional(),
    SMTP_FROM: optionalText,
    OTP_EMAIL_CODE_LENGTH: integer(6, 12).default(8),
    OTP_EMAIL_CODE_TTL: duration.default(300_000),
    LOCKOUT_MAX_OTP_ATTEMPTS: integer(0, 1000).default(5),
    OTP_EMAIL_MAX_SENDS_PER_WINDOW: integer(1, 1000).default(5),
    OTP_EMAIL_SEND_WINDOW: duration.default(600_000),
    ROLE_PERMISSIONS: rolePermissions.optional(),
    /** Proxies trusted to name the client in X-Forwarded-For (sessions' userAgent.ip); none by default. */
    TRUSTED_PROXIES: addressList.default([]),
    LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  })
  .superRefine((env, ctx) => {
    if (env.EVENTSTORE === 'eventstoredb' && !env.EVENTSTORE_CONNECTION_STRING) {
      ctx.addIssue({ code: 'custom', path: ['EVENTSTORE_CONNECTION_STRING'], message: 'is required when EVENTSTORE=eventstoredb' });
    }
    if (env.DATABASE_URL && !env.ENCRYPTION_KEY && !env.ENCRYPTION_KEYS) {
      ctx.addIssue({
        code: 'custom',
        path: ['ENCRYPTION_KEY'],
        message: 'is required with DATABASE_URL (the key is only generated for the embedded store): openssl rand -base64 32',
      });
    }
    const ids = [...(env.ENCRYPTION_KEY ? [fingerprint(env.ENCRYPTION_KEY)] : []), ...(env.ENCRYPTION_KEYS ?? []).map((k) => k.id)];
    if (env.ENCRYPTION_KEY_ID && ids.length === 0) {
      ctx.addIssue({ code: 'custom', path: ['ENCRYPTION_KEY_ID'], message: 'names the sealing key of ENCRYPTION_KEYS (or ENCRYPTION_KEY): set them too' });
    } else if (env.ENCRYPTION_KEY_ID && !ids.includes(env.ENCRYPTION_KEY_ID)) {
      ctx.addIssue({ code: 'custom', path: ['ENCRYPTION_KEY_ID'], message: `is not among the configured keys (${ids.join(', ')})` });
    }
    if (!env.ENCRYPTION_KEY_ID && !env.ENCRYPTION_KEY && (env.ENCRYPTION_KEYS?.length ?? 0) > 1) {
      ctx.addIssue({ code: 'custom', path: ['ENCRYPTION_KEY_ID'], message: 'is required with several ENCRYPTION_KEYS: it says which key seals new codes' });
    }
    const oidc = [env.OIDC_ISSUER, env.OIDC_JWKS_URL, env.OIDC_AUDIENCE].filter(Boolean).length;
    if (oidc !== 0 && oidc !== 3) {
      for (const name of ['OIDC_ISSUER', 'OIDC_JWKS_URL', 'OIDC_AUDIENCE'] as const) {
        if (!env[name]) ctx.addIssue({ code: 'custom', path: [name], message: 'is required when any OIDC_* variable is set' });
      }
    }
  }, { when: () => true }); // also when another variable is bad: report every problem at once

export type Config = z.infer<typeof schema> & { PUBLIC_URL: string };

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  constructor(
    /** One line per problem: `NAME: what is wrong (got "value")`. */
    readonly problems: string[],
  ) {
    super(`invalid configuration:\n  ${problems.join('\n  ')}`);
  }
}

/** Reads and checks the environment; a bad value throws a ConfigError naming each variable. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  // An empty variable means "not set", as in a .env file with `SMTP_URL=`.
  const present = Object.fromEntries(Object.entries(env).filter(([, value]) => value !== undefined && value !== ''));
  const result = schema.safeParse(present);
  if (!result.success) {
    const lines = result.error.issues.map((issue) => {
      const name = String(issue.path[0] ?? 'environment');
      const value = present[name];
      const shown = value === undefined || /KEY|URL|SECRET|TOKEN|PASSWORD/.test(name) ? '' : ` (got "${value}")`;
      return `${name}: ${issue.message}${shown}`;
    });
    throw new ConfigError(lines);
  }
  const config = result.data;
  return { ...config, PUBLIC_URL: config.PUBLIC_URL ?? `http://localhost:${config.PORT}` };
}

export const CONFIG = Symbol('Config');
