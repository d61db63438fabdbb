import { Command } from '@nestjs/cqrs';
import { constantTimeEqual, type EncryptedValue } from '#crypto';
import { invalidArgument } from '#errors';
import type { NewEvent } from '#eventstore';
import { authorizeOnUser } from '../authorize.js';
import { assertEmailUser } from '../set-email/set-email.js';
import { eventMetadata, type CommandContext } from '#kernel';
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

/**
 * As ZITADEL's VerifyCode: the user must be an existing human (NotFound `COMMAND-ieJ2e`); an
 * empty code is InvalidArgument `COMMAND-Fia4a`; a wrong or expired code, or none pending, is
 * InvalidArgument `COMMAND-eis9R` "Code is invalid" whatever the reason, so the answer tells
 * nothing about the pending code. The refusal writes nothing (ZITADEL records a
 * `verification.failed` event; the address simply stays unverified here).
 */
export function decideVerifyEmail(
  state: UserState,
  input: VerifyEmailInput,
  decrypt: (value: EncryptedValue) => string,
  now: Date,
): NewEvent<UserEvent>[] {
  assertEmailUser(state);
  authorizeOnUser(input.caller, input.userId, state, 'user.write');
  if (!input.code) throw invalidArgument('COMMAND-Fia4a', 'Errors.User.Code.Empty');
  const pending = state.emailCode;
  const invalid = () => invalidArgument('COMMAND-eis9R', 'Errors.User.Code.Invalid');
  if (!pending || !state.email) throw invalid();
  if (now.getTime() >= Date.parse(pending.expiresAt)) throw invalid();
  if (!constantTimeEqual(decrypt(pending.code), input.code)) throw invalid();
  return [{ type: UserEventType.EmailVerified, data: { email: state.email }, metadata: eventMetadata(input, state.orgId!) }];
}
