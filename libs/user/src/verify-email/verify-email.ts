import { Command } from '@nestjs/cqrs';
import { constantTimeEqual, type EncryptedValue } from '#crypto';
import { failedPrecondition, invalidArgument, notFound, type DomainError } from '#errors';
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
 * No permission is checked, as in ZITADEL: the code is the proof. Because anyone with a token
 * may therefore guess, wrong codes are counted (`user.email.verification.failed`, written, the
 * error is the decision's result for the handler to throw afterwards) and the code is void
 * after MAX_EMAIL_VERIFICATION_ATTEMPTS of them (ZITADEL counts none). An expired code is
 * refused without writing; expiry is checked before the comparison, as ZITADEL does.
 */
export function decideVerifyEmail(
  state: UserState,
  input: VerifyEmailInput,
  decrypt: (value: EncryptedValue) => string,
  now: Date,
): Decision<DomainError | undefined, UserEvent> {
  if (!state.exists) throw notFound('COMMAND-4g3xq', 'Errors.NotFound');
  if (!input.code) throw invalidArgument('COMMAND-Gdsgs', 'Errors.User.Code.Empty');
  const pending = state.emailCode;
  if (!pending || !state.email || (pending.failedAttempts ?? 0) >= MAX_EMAIL_VERIFICATION_ATTEMPTS) {
    throw failedPrecondition('COMMAND-Dg2z5', 'Errors.User.Code.NotFound');
  }
  if (now.getTime() >= Date.parse(pending.expiresAt)) throw failedPrecondition('CODE-QvUQ4P', 'Errors.User.Code.Expired');
  const metadata = eventMetadata(input, state.orgId!);
  if (!constantTimeEqual(decrypt(pending.code), input.code)) {
    return { events: [{ type: UserEventType.EmailVerificationFailed, data: {}, metadata }], result: invalidArgument('CODE-woT0xc', 'Errors.User.Code.Invalid') };
  }
  return { events: [{ type: UserEventType.EmailVerified, data: { email: state.email }, metadata }], result: undefined };
}
