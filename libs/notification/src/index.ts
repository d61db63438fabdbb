export { Notifier, DEFAULT_NOTIFIER_NAME, emailCodeSent, type NotifierOptions, type NotifierStatus, type NotifierState } from './notifier.js';
export { NotifierCheckpoint } from './checkpoint.js';
export { mailerFromConfig, smtpMailer, outboxMailer, DEFAULT_SMTP_FROM, type Mailer, type OutgoingEmail, type Delivery } from './mailer.js';
export { notifierMetrics, type NotifierMetrics, type SkipReason } from './metrics.js';
export { renderMessage, chooseLanguage, SUPPORTED_LANGUAGES, type MessageKind, type Language, type RenderedMessage } from './templates.js';
export { defaultEmailVerificationUrlTemplate, emailVerificationLink, otpEmailLink, LinkTemplateError } from './links.js';
export * from './notification.module.js';
export * from './schema.js';
