export { SessionModule } from './session.module.js';
export * from './events.js';
export { SessionErrorId } from './errors.js';
export { foldSession, evolveSession, initialSessionState, sessionExpired, type SessionState, type OtpEmailChallenge } from './session-state.js';
export { CreateSessionCommand, type CreateSessionInput } from './create-session/create-session.js';
export { SetSessionCommand, type SetSessionInput } from './set-session/set-session.js';
export { DeleteSessionCommand, type DeleteSessionInput } from './delete-session/delete-session.js';
export { GetSessionQuery, type GetSessionInput, type SessionView } from './get-session/get-session.js';
export type { SessionChanges, SessionChangeResult, UserSearch } from './session-changes.js';
export type { OtpEmailDelivery } from './otp-email-challenge/otp-email-challenge.js';
export { SessionServiceImplementation } from './session-service.js';
export {
  renderUrlTemplate,
  assertUrlTemplate,
  parseUrlTemplate,
  defaultOtpEmailUrlTemplate,
  URL_TEMPLATE_FIELDS,
  type UrlTemplateData,
  type UrlTemplateField,
} from './url-template.js';
export { recordOtpEmailSent, otpEmailAlreadySent } from './otp-email-sent.js';
export { SESSION_SETTINGS, SESSION_CLOCK, sessionSettingsFrom, DEFAULT_SESSION_SETTINGS, type SessionSettings, type Clock } from './settings.js';
export { hashSessionToken, isCurrentSessionToken } from './session-token.js';
