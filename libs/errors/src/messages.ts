/**
 * English texts of the message keys, as ZITADEL's internal/static/i18n/en.yaml has them
 * where ZITADEL has the key. An unknown key is returned as it is (as ZITADEL does).
 * `Errors.Token.Invalid` is deliberately absent: ZITADEL refuses a token before its translation
 * step runs, so its answer carries the key itself ("Errors.Token.Invalid (AUTH-7fs1e)"). A text may
 * name parameters as `{name}`; the error that uses the key supplies them.
 */
const en: Record<string, string> = {
  'Errors.Internal': 'An internal error occurred',
  'Errors.NotFound': 'Not found',
  'Errors.AlreadyExists': 'Already exists',
  'Errors.ConcurrentWrite': 'The object was changed concurrently, please retry',
  'Errors.Token.Missing': 'Authorization header is missing',
  'Errors.Permission.Denied': 'No matching permissions found',
  'Errors.User.UserIDMissing': 'User ID missing',
  'Errors.User.NotFound': 'User could not be found',
  'Errors.User.AlreadyExists': 'User already exists',
  'Errors.User.NotHuman': 'The User must be personal',
  'Errors.User.Locked': 'User is locked',
  'Errors.User.NotLocked': 'User is not locked',
  'Errors.User.NotActive': 'User is not active',
  'Errors.User.Erase.StoreUnsupported': 'This event store cannot rewrite events in place; see docs/privacy.md for EventStoreDB',
  'Errors.User.Erase.KeysUnavailable': 'The personal data keys are not available in this process',
  'Errors.User.Profile.Invalid': 'Profile is invalid',
  'Errors.User.Email.Empty': 'Email is empty',
  'Errors.User.Email.Invalid': 'Email is invalid',
  'Errors.User.Email.AlreadyVerified': 'Email is already verified',
  'Errors.User.Email.NotChanged': 'Email not changed',
  'Errors.User.Email.NotFound': 'Email not found',
  'Errors.User.Code.Empty': 'Code is empty',
  'Errors.User.Code.NotFound': 'Code not found',
  'Errors.User.Code.Expired': 'Code is expired',
  'Errors.User.Code.Invalid': 'Code is invalid',
  'Errors.User.InvalidURLTemplate': 'URL Template is invalid',
  'Errors.User.MFA.OTP.AlreadyReady': 'Multifactor OTP (OneTimePassword) is already set up',
  'Errors.User.MFA.OTP.NotReady': "Multifactor OTP (OneTimePassword) isn't ready",
  'Errors.User.MFA.OTP.NotExisting': "Multifactor OTP (OneTimePassword) doesn't exist",
  'Errors.User.MFA.OTP.SendLimit': 'Too many codes sent, please wait before asking for another one',
  'Errors.Org.Invalid': 'Organisation is invalid',
  'Errors.Org.AlreadyExists': 'Organisation already exists',
  'Errors.User.Username.Invalid': 'Username is invalid',
  'Errors.User.Machine.Invalid': 'Machine user is invalid',
  'Errors.User.Role.Invalid': 'Role is invalid',
  'Errors.User.NotMachine': 'The user is not a machine user',
  'Errors.User.PAT.NotFound': 'Personal Access Token not found',
  'Errors.User.PAT.IDMissing': 'Personal Access Token ID missing',
  'Errors.User.Role.NotFound': 'The user does not hold this role there',
  'Errors.User.Role.OwnLastOwner': 'You cannot take your own IAM_OWNER role: the instance could be left without an owner; let another owner do it',
  'Errors.Token.Expiration.Invalid': 'Expiration date is invalid',
  'Errors.Token.KeysUnavailable': "The token issuer's keys are unavailable",
  'Errors.Org.NotFound': 'Organisation not found',
  'Errors.Org.NotExisting': "Organisation doesn't exist",
  'Errors.Session.NotFound': 'Session does not exist',
  'Errors.Session.NotExisting': 'Session does not exist',
  'Errors.Session.Terminated': 'Session already terminated',
  'Errors.Session.Token.Invalid': 'Session Token is invalid',
  'Errors.Session.Expired': 'Session has expired',
  'Errors.Session.UserChangeNotPossible': 'User change not possible',
  'Errors.Session.Lifetime.Invalid': 'Session lifetime must be longer than zero',
  'Errors.Session.Unimplemented': 'This check or challenge is not implemented by this service',
  'Errors.Session.UserAgent.TooLarge': 'The user agent is too large',
  'Errors.Crypto.UnknownKey': 'The code was sealed with a key this server does not have (key {keyId}); request a new code',
  'Errors.Crypto.DecryptFailed': 'A stored code could not be decrypted (key {keyId})',
  // The operators' admin routes (no ZITADEL counterpart).
  'Errors.Request.Invalid': 'invalid request: {problems}',
  'Errors.Query.OffsetTooLarge': 'Offset is too large',
  'Errors.Projection.NotFound': 'there is no projection "{name}"; the projections are: {known}',
  'Errors.Projection.NoReplay': 'no replay of {name} has run in this server process',
  'Errors.Projection.ReplayRunning': 'a replay of {name} is already running; follow it, or cancel it',
  'Errors.Projection.NotMigrated': 'the database is not migrated for the projection {name}: start the server (of this version) once, it applies the migrations',
};

export type MessageParams = Readonly<Record<string, string | number>>;

/** The text of `key` with its `{name}` parameters filled in; a parameter not given stays as written. */
export function translate(key: string, params: MessageParams = {}): string {
  const text = en[key] ?? key;
  return text.replace(/\{(\w+)\}/g, (placeholder, name: string) => (Object.hasOwn(params, name) ? String(params[name]) : placeholder));
}
