import { invalidArgument } from '#errors';
import { type EncryptedValue } from '#crypto';

/** How long an email verification code is valid (ZITADEL's default: one hour). */
export const EMAIL_CODE_TTL_MS = 60 * 60 * 1000;
/** ZITADEL's default email code: 6 characters, upper-case letters and digits. */
export const EMAIL_CODE_LENGTH = 6;

/** A freshly generated code: the plain text goes back to the caller (returnCode) or to the notifier, never into an event. */
export interface NewCode {
  plain: string;
  encrypted: EncryptedValue;
}

/** How the new address is to be verified. */
export type EmailVerification = { kind: 'send'; urlTemplate?: string } | { kind: 'return' } | { kind: 'verified' };

// Pragmatic, like ZITADEL's check: one @, something on both sides, a dot in the domain, no spaces.
const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;

export function assertEmail(email: string): string {
  const trimmed = email.trim();
  if (!trimmed) throw invalidArgument('EMAIL-spblu', 'Errors.User.Email.Empty');
  if (!EMAIL.test(trimmed)) throw invalidArgument('EMAIL-599BI', 'Errors.User.Email.Invalid');
  return trimmed;
}
