import { DomainError, unauthenticated } from '#errors';
import type { EventStore } from '#eventstore';
import { systemClock, type Clock } from '#kernel';
import type { Logger } from '#logging';
import { InstanceCache } from '#org';
import type { UserState } from '#user';
import { AuthenticatedUsers, readUserFrom, type UserLookup } from './authenticated-users.js';
import type { Authenticator } from './authenticator.js';
import type { Caller } from '#access';
import { JwtKeysUnavailableError, JwtRejectedError, looksLikeJwt, type JwtVerifier } from './jwt.js';
import { looksLikePat } from '#org';
import { verifyPat } from './pat.js';

/** Every refused token: one id and one text, whatever the reason, so nothing can be probed. */
export const tokenInvalid = () => unauthenticated('AUTH-7fs1e', 'Errors.Token.Invalid');
/** ZITADEL's text for a header without the `Bearer ` prefix (a plain text, not a message key). */
export const invalidAuthHeader = () => unauthenticated('AUTH-7fs1e', 'invalid auth header');
const BEARER_PREFIX = 'Bearer ';
export const tokenMissing = () => unauthenticated('AUTH-Mz7q2', 'Errors.Token.Missing');
export const keysUnavailable = () => new DomainError('Unavailable', 'AUTH-Jwks5', 'Errors.Token.KeysUnavailable');

export interface TokenAuthenticatorOptions {
  /** End-user JWTs; undefined when OIDC_* are unset (then every JWT is refused). */
  jwt?: JwtVerifier;
  logger?: Logger;
  /** When a personal access token expires, and when a remembered user is read again. Default: the system clock. */
  clock?: Clock;
  /**
   * How long a caller's user is used without reading its stream again (AuthenticatedUsers: a
   * change this process appends is seen at once, another process's within this). Default 0:
   * read on every request.
   */
  userCacheTtlMs?: number;
}

/**
 * `Authorization: Bearer <token>` → Caller. The token's shape picks the check:
 *   - `pat_...` → a machine user's personal access token (pat.ts);
 *   - three dot-separated base64url parts → an end user's JWT (jwt.ts), when OIDC is set up;
 * anything else is refused. The user's stream gives the organization, kind and roles (a PAT's
 * user from the token, a JWT's from `sub`). A locked user still authenticates: locking stops
 * the OTP factor, not the caller. A JWT's `sub` must name a human user: the external issuer
 * never speaks for a machine user. Refusals are Unauthenticated: `AUTH-Mz7q2`
 * Errors.Token.Missing without a header (the API answers that case before, as ZITADEL does),
 * `AUTH-7fs1e` "invalid auth header" without the case-sensitive `Bearer ` prefix,
 * `AUTH-7fs1e` Errors.Token.Invalid otherwise (the key itself is the text: ZITADEL's
 * authorization runs before its translation). When the
 * issuer's keys cannot be had, Unavailable `AUTH-Jwks5`. The reason goes to the debug log,
 * with the user id and token id, never the token.
 */
export class TokenAuthenticator implements Authenticator {
  private readonly instance: InstanceCache;
  private readonly clock: Clock;
  private readonly users: UserLookup;

  constructor(
    store: EventStore,
    private readonly options: TokenAuthenticatorOptions = {},
  ) {
    this.instance = new InstanceCache(store);
    this.clock = options.clock ?? systemClock;
    const ttlMs = options.userCacheTtlMs ?? 0;
    this.users = ttlMs > 0 ? new AuthenticatedUsers(store, { ttlMs, clock: this.clock }).lookup : readUserFrom(store);
  }

  async authenticate(authorization: string | undefined): Promise<Caller> {
    if (authorization === undefined || authorization.trim() === '') throw tokenMissing();
    // ZITADEL's extractBearerToken: split on the case-sensitive "Bearer " prefix; anything else is an invalid header.
    const parts = authorization.split(BEARER_PREFIX);
    if (parts.length !== 2) {
      this.options.logger?.debug({ reason: 'not a bearer token' }, 'authentication refused');
      throw invalidAuthHeader();
    }
    const token = parts[1]!.trim();
    if (looksLikePat(token)) return this.fromPat(token);
    if (looksLikeJwt(token)) return this.fromJwt(token);
    return this.refuse('unknown token shape');
  }

  private async fromPat(token: string): Promise<Caller> {
    const result = await verifyPat(this.users, token, this.clock.now());
    if (!result.ok) return this.refuse(`personal access token: ${result.reason}`, { userId: result.userId, tokenId: result.tokenId });
    return this.callerOf(result.userId, result.state, result.instanceId);
  }

  private async fromJwt(token: string): Promise<Caller> {
    const jwt = this.options.jwt;
    if (!jwt) return this.refuse('a JWT, but OIDC_* are not configured');
    let subject: string;
    try {
      ({ subject } = await jwt.verify(token));
    } catch (err) {
      if (err instanceof JwtKeysUnavailableError) {
        this.options.logger?.warn({ err: { message: err.message } }, 'cannot verify access tokens: issuer keys unavailable');
        throw keysUnavailable();
      }
      return this.refuse(`JWT: ${err instanceof JwtRejectedError ? err.reason : 'invalid'}`);
    }
    const { state, instanceId } = await this.users(subject);
    if (!state.exists) return this.refuse('JWT: unknown sub', { userId: subject });
    // The external issuer speaks for end users only: a machine user authenticates with its own
    // personal access token, never through a `sub` another system chose.
    if (state.kind !== 'human') return this.refuse('JWT: sub is not a human user', { userId: subject });
    return this.callerOf(subject, state, instanceId);
  }

  /** The instance id comes from the user's first event's metadata, else from the instance stream. */
  private async callerOf(userId: string, state: UserState, instanceHint: string | undefined): Promise<Caller> {
    const instanceId = instanceHint ?? (await this.instance.get())?.instanceId;
    if (!state.orgId || !state.kind || !instanceId) return this.refuse('user without organization or instance', { userId });
    return { userId, orgId: state.orgId, instanceId, kind: state.kind, roles: state.roles };
  }

  private refuse(reason: string, ids: { userId?: string | undefined; tokenId?: string | undefined } = {}): never {
    this.options.logger?.debug({ reason, ...ids }, 'authentication refused');
    throw tokenInvalid();
  }
}
