import { Command } from '@nestjs/cqrs';
import { constantTimeEqual, type EncryptedValue } from '#crypto';
import { invalidArgument, type DomainError } from '#errors';
import { assertEmailUser } from '../set-email/set-email.js';
import { eventMetadata, type CommandContext, type Decision } from '#kernel';
import { UserEventType, type UserEvent } from '../events.js';
import type { ObjectDetails } from '#kernel';
import type { UserState } from '../user-state.js';

export interface VerifyEmailInput extends CommandContext {
  userId: string;
  code: string;
}

/** Verifies the current address with the code sent or returned by SetEmail / AddHumanUser. */
export class VerifyEmailCommand extends Command<ObjectDetails> {
  constructor(readonly input: VerifyEmailInput) {
    super();
  }
}

/** Wrong codes one pending code survives; then it is void and only a new code (SetEmail) helps. */
export const MAX_EMAIL_VERIFICATION_ATTEMPTS = 5;

/**
 * As ZITADEL's VerifyCode: the user must be an existing human (NotFound `COMMAND-ieJ2e`); an
 * empty code is InvalidArgument `COMMAND-Fia4a`; a wrong or expired code, or none pending, is
 * InvalidArgument `COMMAND-eis9R` "Code is invalid" whatever the reason, so the answer tells
 * nothing about the pending code. No permission is checked, as in ZITADEL: the code is the
 * proof. Because anyone with a token may therefore guess, wrong codes are counted
 * (`user.email.verification.failed`, written; the error is the decision's result for the
 * handler to throw afterwards) and the code is void after MAX_EMAIL_VERIFICATION_ATTEMPTS of
 * them (ZITADEL counts none). An expired code is refused without writing.
 */
export function decideVerifyEmail(
  state: UserState,
  input: VerifyEmailInput,
  decrypt: (value: EncryptedValue) => string,
  now: Date,
): Decision<DomainError | undefined, UserEvent> {
  assertEmailUser(state);
  if (!input.code) throw invalidArgument('COMMAND-Fia4a', 'Errors.User.Code.Empty');
  const pending = state.emailCode;
  const invalid = () => invalidArgument('COMMAND-eis9R', 'Errors.User.Code.Invalid');
  if (!pending || !state.email || (pending.failedAttempts ?? 0) >= MAX_EMAIL_VERIFICATION_ATTEMPTS) throw invalid();
  if (now.getTime() >= Date.parse(pending.expiresAt)) throw invalid();
  const metadata = eventMetadata(input, state.orgId!);
  if (!constantTimeEqual(decrypt(pending.code), input.code)) {
    return { events: [{ type: UserEventType.EmailVerificationFailed, data: {}, metadata }], result: invalid() };
  }
  return { events: [{ type: UserEventType.EmailVerified, data: { email: state.email }, metadata }], result: undefined };
}
