import { DomainError, failedPrecondition, invalidArgument, notFound, permissionDenied } from '#errors';

/**
 * The session flow's error ids. ZITADEL's where ZITADEL has one (grep-able in its code), ours
 * (prefix SESSION-) where it has none or where ours differs in meaning.
 */
export const SessionErrorId = {
  /** ZITADEL's session query: GetSession of a session that does not exist (or was terminated). */
  NotFound: 'QUERY-SFeaa',
  /** ZITADEL's CheckNotInvalidated: SetSession on a terminated session. */
  Terminated: 'COMMAND-Hewfq',
  /** ZITADEL's CheckNotInvalidated: SetSession on a session whose lifetime ran out. */
  Expired: 'COMMAND-Hkl3d',
  /** ZITADEL's session token verifier: a wrong or old token on DeleteSession. */
  TokenInvalid: 'COMMAND-sGr42',
  /** ZITADEL's SessionByID: a wrong or old token on GetSession. */
  ReadTokenInvalid: 'QUERY-dsfr3',
  /** Ours: checks.user names no user (ZITADEL's user query has its own NotFound). */
  UserNotFound: 'SESSION-UsrNf',
  /** Ours: checks.user without user_id or login_name. */
  UserMissing: 'SESSION-UsrMis',
  /** ZITADEL's: the checked user is not active (locked). */
  UserNotActive: 'SESSION-Gj4ko',
  /** Ours (ZITADEL throws it without an id): checks.user names another user than the session's. */
  UserChange: 'SESSION-UsrChg',
  /** Ours: the send rate limit of OTP emails (ZITADEL issue #12622). */
  OtpEmailSendLimit: 'SESSION-OtpLim',
  /** Ours: a check or challenge this service does not implement (password, passkey, TOTP, SMS, IdP intent, metadata). */
  Unimplemented: 'SESSION-Unimpl',
  /** ZITADEL's: an unknown OTP Email delivery type. */
  UnknownDelivery: 'SESSION-k3ng0',
} as const;

export const sessionNotFound = () => notFound(SessionErrorId.NotFound, 'Errors.Session.NotExisting');
export const sessionTerminated = () => failedPrecondition(SessionErrorId.Terminated, 'Errors.Session.Terminated');
export const sessionExpiredError = () => failedPrecondition(SessionErrorId.Expired, 'Errors.Session.Expired');
export const sessionTokenInvalid = (id: string = SessionErrorId.TokenInvalid) => permissionDenied(id, 'Errors.Session.Token.Invalid');
export const userChangeNotPossible = () => invalidArgument(SessionErrorId.UserChange, 'Errors.Session.UserChangeNotPossible');
export const unimplemented = (id: string = SessionErrorId.Unimplemented) => new DomainError('Unimplemented', id, 'Errors.Session.Unimplemented');
