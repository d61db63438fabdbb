/**
 * English texts of the message keys, as ZITADEL's internal/static/i18n/en.yaml has them
 * where ZITADEL has the key. An unknown key is returned as it is (as ZITADEL does).
 */
const en: Record<string, string> = {
  'Errors.Internal': 'Internal error',
  'Errors.NotFound': 'Not found',
  'Errors.AlreadyExists': 'Already exists',
  'Errors.ConcurrentWrite': 'The object was changed concurrently, please retry',
  'Errors.Token.Invalid': 'Token is invalid',
  'Errors.Token.Missing': 'Authorization header is missing',
  'Errors.Permission.Denied': 'No matching permissions found',
  'Errors.User.UserIDMissing': 'User ID missing',
  'Errors.User.NotFound': 'User could not be found',
  'Errors.User.AlreadyExists': 'User already exists',
  'Errors.User.UsernameTaken': 'Username is already taken',
  'Errors.User.NotHuman': 'The User is not a human',
  'Errors.User.Locked': 'User is locked',
  'Errors.User.NotLocked': 'User is not locked',
  'Errors.User.NotActive': 'User is not active',
  'Errors.User.Profile.Invalid': 'Profile is invalid',
  'Errors.User.Email.Empty': 'Email is empty',
  'Errors.User.Email.Invalid': 'Email is invalid',
  'Errors.User.Email.AlreadyVerified': 'Email is already verified',
  'Errors.User.Email.NotChanged': 'Email not changed',
  'Errors.User.Code.Empty': 'Code is empty',
  'Errors.User.Code.NotFound': 'Code not found',
  'Errors.User.Code.Expired': 'Code is expired',
  'Errors.User.Code.Invalid': 'Code is invalid',
  'Errors.User.InvalidURLTemplate': 'URL Template is invalid',
  'Errors.User.MFA.OTP.AlreadyReady': 'Multifactor OTP (OneTimePassword) is already set up',
  'Errors.User.MFA.OTP.NotReady': "Multifactor OTP (OneTimePassword) isn't ready",
  'Errors.User.MFA.OTP.NotExisting': "Multifactor OTP (OneTimePassword) doesn't exist",
  'Errors.User.MFA.OTP.SendLimit': 'Too many codes sent, please wait before asking for another one',
  'Errors.Org.NotFound': 'Organisation not found',
  'Errors.Session.NotFound': 'Session does not exist',
  'Errors.Session.Terminated': 'Session already terminated',
  'Errors.Session.Token.Invalid': 'Session token is invalid',
};

export function translate(key: string): string {
  return en[key] ?? key;
}
