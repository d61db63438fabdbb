import { Command } from '@nestjs/cqrs';
import { alreadyExists, failedPrecondition } from '#errors';
import type { NewEvent } from '#eventstore';
import { authorizeOnUser } from '../authorize.js';
import { eventMetadata, type CommandContext } from '#kernel';
import { UserEventType, type UserEvent } from '../events.js';
import type { ObjectDetails } from '#kernel';
import type { UserState } from '../user-state.js';

export interface AddOtpEmailInput extends CommandContext {
  userId: string;
}

/** Adds OTP Email as a second factor (ZITADEL's AddOTPEmail). */
export class AddOtpEmailCommand extends Command<ObjectDetails> {
  constructor(readonly input: AddOtpEmailInput) {
    super();
  }
}

/** ZITADEL's order of checks (internal/command/user_human_otp.go): permission, already added, email verified. */
export function decideAddOtpEmail(state: UserState, input: AddOtpEmailInput): NewEvent<UserEvent>[] {
  authorizeOnUser(input.caller, input.userId, state, 'user.credential.write');
  if (state.otpEmailAdded) throw alreadyExists('COMMAND-MKL2s', 'Errors.User.MFA.OTP.AlreadyReady');
  // Machine users have no email, so they end here too.
  if (!state.emailEverVerified) throw failedPrecondition('COMMAND-KLJ2d', 'Errors.User.MFA.OTP.NotReady');
  return [{ type: UserEventType.OtpEmailAdded, data: {}, metadata: eventMetadata(input, state.orgId!) }];
}
