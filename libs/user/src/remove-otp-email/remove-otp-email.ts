import { Command } from '@nestjs/cqrs';
import { notFound } from '#errors';
import type { NewEvent } from '#eventstore';
import { authorizeOnUser } from '../authorize.js';
import { eventMetadata, type CommandContext } from '#kernel';
import { UserEventType, type UserEvent } from '../events.js';
import type { ObjectDetails } from '#kernel';
import type { UserState } from '../user-state.js';

export interface RemoveOtpEmailInput extends CommandContext {
  userId: string;
}

/** Removes the OTP Email factor (ZITADEL's RemoveOTPEmail). */
export class RemoveOtpEmailCommand extends Command<ObjectDetails> {
  constructor(readonly input: RemoveOtpEmailInput) {
    super();
  }
}

/** Reference 2.2: self or user.write (not user.credential.write), then the factor must exist. */
export function decideRemoveOtpEmail(state: UserState, input: RemoveOtpEmailInput): NewEvent<UserEvent>[] {
  authorizeOnUser(input.caller, input.userId, state, 'user.write');
  if (!state.otpEmailAdded) throw notFound('COMMAND-b312D', 'Errors.User.MFA.OTP.NotExisting');
  return [{ type: UserEventType.OtpEmailRemoved, data: {}, metadata: eventMetadata(input, state.orgId!) }];
}
