import { readFile, stat } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import {
  createLocalJWKSet,
  createRemoteJWKSet,
  errors as joseErrors,
  jwtVerify,
  type JSONWebKeySet,
  type JWTHeaderParameters,
  type FlattenedJWSInput,
  type CryptoKey,
} from 'jose';

/**
 * End users' access tokens: JWTs from an external OIDC issuer, checked with jose's jwtVerify
 * (signature against the issuer's keys, `iss`, `aud`, `exp`, `nbf`). `sub` is the user id.
 *
 * Keys (`OIDC_JWKS_URL`):
 *   - an http(s) URL: the issuer's JWKS endpoint (createRemoteJWKSet: cached, fetched again
 *     when a token names an unknown key, at most every 30 s);
 *   - anything else is a JWK Set file (a path, or a file: URL), read with createLocalJWKSet
 *     and read again when the file changes.
 * Off (undefined) unless OIDC_ISSUER, OIDC_JWKS_URL and OIDC_AUDIENCE are all set (the config
 * refuses a partial set).
 */
export interface JwtSettings {
  issuer: string;
  audience: string;
  jwksUrl: string;
  /** Seconds of clock skew tolerated on exp/nbf/iat. Default 5. */
  clockToleranceSeconds?: number;
}

export function jwtSettingsFrom(config: {
  OIDC_ISSUER?: string | undefined;
  OIDC_AUDIENCE?: string | undefined;
  OIDC_JWKS_URL?: string | undefined;
}): JwtSettings | undefined {
  const { OIDC_ISSUER: issuer, OIDC_AUDIENCE: audience, OIDC_JWKS_URL: jwksUrl } = config;
  return issuer && audience && jwksUrl ? { issuer, audience, jwksUrl } : undefined;
}

/** The token is fine as far as we know, but its keys could not be had (issuer down, bad file). */
export class JwtKeysUnavailableError extends Error {
  override readonly name = 'JwtKeysUnavailableError';
}

/** The token was refused; `reason` is for logs (it never contains the token). */
export class JwtRejectedError extends Error {
  override readonly name = 'JwtRejectedError';
  constructor(readonly reason: string) {
    super(`access token refused: ${reason}`);
  }
}

/** Errors of the key lookup that are the token's fault (its header), not the key source's. */
const TOKEN_FAULTS = [
  joseErrors.JWKSNoMatchingKey,
  joseErrors.JWKSMultipleMatchingKeys,
  joseErrors.JOSENotSupported,
  joseErrors.JOSEAlgNotAllowed,
  joseErrors.JWSInvalid,
  joseErrors.JWTInvalid,
];

type KeyResolver = (header: JWTHeaderParameters, input: FlattenedJWSInput) => Promise<CryptoKey>;

export class JwtVerifier {
  private readonly keys: KeyResolver;

  constructor(private readonly settings: JwtSettings) {
    this.keys = /^https?:\/\//i.test(settings.jwksUrl)
      ? (createRemoteJWKSet(new URL(settings.jwksUrl)) as KeyResolver)
      : localKeys(settings.jwksUrl.startsWith('file:') ? fileURLToPath(settings.jwksUrl) : settings.jwksUrl);
  }

  /** The verified `sub`. Throws JwtRejectedError or JwtKeysUnavailableError. */
  async verify(token: string): Promise<{ subject: string }> {
    const keys = this.keys;
    const resolve: KeyResolver = async (header, input) => {
      try {
        return await keys(header, input);
      } catch (err) {
        if (TOKEN_FAULTS.some((fault) => err instanceof fault)) throw err; // the token's header asked for something we do not have
        throw new JwtKeysUnavailableError(`the keys at OIDC_JWKS_URL could not be loaded: ${(err as Error).message}`, { cause: err });
      }
    };
    try {
      const { payload } = await jwtVerify(token, resolve, {
        issuer: this.settings.issuer,
        audience: this.settings.audience,
        requiredClaims: ['sub', 'exp'],
        clockTolerance: this.settings.clockToleranceSeconds ?? 5,
      });
      const subject = payload.sub;
      if (!isUserId(subject)) throw new JwtRejectedError('unusable sub');
      return { subject };
    } catch (err) {
      if (err instanceof JwtKeysUnavailableError || err instanceof JwtRejectedError) throw err;
      if (err instanceof joseErrors.JOSEError) throw new JwtRejectedError(err.code);
      throw new JwtRejectedError((err as Error).name ?? 'invalid');
    }
  }
}

/** A JWK Set file, read again whenever its modification time or size changes. */
function localKeys(path: string): KeyResolver {
  let loaded: { stamp: string; resolve: KeyResolver } | undefined;
  return async (header, input) => {
    const info = await stat(path);
    const stamp = `${info.mtimeMs}:${info.size}`;
    if (loaded?.stamp !== stamp) {
      const jwks = JSON.parse(await readFile(path, 'utf8')) as JSONWebKeySet;
      loaded = { stamp, resolve: createLocalJWKSet(jwks) as KeyResolver };
    }
    return loaded.resolve(header, input);
  };
}

/**
 * A `sub` that can name a user: a user id is 1 to 200 characters (ZITADEL's custom ids), and
 * only text the store can hold (no NUL, no lone surrogate) can name anything stored.
 */
export function isUserId(value: unknown): value is string {
  if (typeof value !== 'string' || value === '') return false;
  if (/\u0000|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/.test(value)) return false;
  return [...value].length <= 200;
}

/** Three base64url segments: the compact JWS form of a JWT. */
export function looksLikeJwt(token: string): boolean {
  return /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/.test(token);
}
