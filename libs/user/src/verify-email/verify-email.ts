import { Command } from '@nestjs/cqrs';
import { constantTimeEqual, type EncryptedValue } from '#crypto';
import { failedPrecondition, invalidArgument } from '#errors';
import type { NewEvent } from '#eventstore';
import { authorizeOnUser } from '../authorize.js';
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
 * A wrong or expired code is refused and writes nothing: the address simply stays
 * unverified. Expiry is checked before the comparison, as ZITADEL does.
 */
export function decideVerifyEmail(
  state: UserState,
  input: VerifyEmailInput,
  decrypt: (value: EncryptedValue) => string,
  now: Date,
): NewEvent<UserEvent>[] {
  authorizeOnUser(input.caller, input.userId, state, 'user.write');
  if (!input.code) throw invalidArgument('COMMAND-Gdsgs', 'Errors.User.Code.Empty');
  const pending = state.emailCode;
  if (!pending || !state.email) throw failedPrecondition('COMMAND-Dg2z5', 'Errors.User.Code.NotFound');
  if (now.getTime() >= Date.parse(pending.expiresAt)) throw failedPrecondition('CODE-QvUQ4P', 'Errors.User.Code.Expired');
  if (!constantTimeEqual(decrypt(pending.code), input.code)) throw invalidArgument('CODE-woT0xc', 'Errors.User.Code.Invalid');
  return [{ type: UserEventType.EmailVerified, data: { email: state.email }, metadata: eventMetadata(input, state.orgId!) }];
}
