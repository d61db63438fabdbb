import { hasPermission, type Caller } from '#access';
import { permissionDenied } from '#errors';
import { SessionErrorId, sessionTokenInvalid } from './errors.js';
import { isCurrentSessionToken } from './session-token.js';
import type { SessionState } from './session-state.js';

const denied = () => permissionDenied('AUTH-AWfge', 'Errors.Permission.Denied');

/** CreateSession: `session.write` on the instance (only instance-wide roles grant it). */
export function authorizeSessionCreate(caller: Caller): void {
  if (!hasPermission(caller, 'session.write', undefined)) throw denied();
}

/**
 * SetSession: `session.write` on the checked user's organization, or instance-wide; a session
 * without a user yet needs it instance-wide. The request's `session_token` is deprecated and
 * ignored, as in ZITADEL ("will be ignored when provided").
 */
export function authorizeSessionWrite(caller: Caller, session: SessionState): void {
  if (!hasPermission(caller, 'session.write', session.user?.orgId)) throw denied();
}

/**
 * GetSession, as ZITADEL's SessionByID: with a `session_token`, only the token counts (a
 * wrong or old one: PermissionDenied `QUERY-dsfr3`); without one, the session's creator, its
 * checked user, or `session.read` on the checked user's organization (or instance-wide).
 */
export function authorizeSessionRead(caller: Caller, session: SessionState, sessionToken?: string): void {
  if (sessionToken !== undefined && sessionToken !== '') {
    if (!isCurrentSessionToken(session.token, sessionToken)) throw permissionDenied(SessionErrorId.ReadTokenInvalid, 'Errors.Permission.Denied');
    return;
  }
  if (session.creator === caller.userId || session.user?.id === caller.userId) return;
  if (!hasPermission(caller, 'session.read', session.user?.orgId)) throw denied();
}

/**
 * DeleteSession, as ZITADEL's proto says ("no permission required for own sessions or when
 * providing the current session token"): with a `session_token`, it must be the current one
 * (else PermissionDenied `COMMAND-sGr42`); without one, the checked user themself, or the
 * `session.delete` on the checked user's organization (ZITADEL's checkSessionTerminationPermission).
 */
export function authorizeSessionDelete(caller: Caller, session: SessionState, sessionToken?: string): void {
  if (sessionToken !== undefined && sessionToken !== '') {
    if (!isCurrentSessionToken(session.token, sessionToken)) throw sessionTokenInvalid();
    return;
  }
  if (session.user?.id === caller.userId) return;
  if (!hasPermission(caller, 'session.delete', session.user?.orgId)) throw denied();
}
