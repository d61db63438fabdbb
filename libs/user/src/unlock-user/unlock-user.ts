import { Command } from '@nestjs/cqrs';
import { failedPrecondition, notFound } from '#errors';
import { authorizeOnUser } from '../authorize.js';
import type { NewEvent } from '#eventstore';
import { eventMetadata, type CommandContext } from '#kernel';
import { UserEventType, type UserEvent } from '../events.js';
import type { ObjectDetails } from '#kernel';
import type { UserState } from '../user-state.js';

export interface UnlockUserInput extends CommandContext {
  userId: string;
}

/** Unlocks a user that too many failed OTP checks locked (ZITADEL's v2 UnlockUser, `POST /v2/users/{userId}/unlock`). */
export class UnlockUserCommand extends Command<ObjectDetails> {
  constructor(readonly input: UnlockUserInput) {
    super();
  }
}

/** ZITADEL's ids for UnlockUserV2 ([internal/command/user_v2.go]). */
export const UNLOCK_USER_MISSING_ID = 'COMMAND-a9ld4xckax';
export const UNLOCK_USER_NOT_FOUND = 'COMMAND-x377t913pw';
export const UNLOCK_USER_NOT_LOCKED = 'COMMAND-olb9vb0oca';

/**
 * ZITADEL's UnlockUserV2, in its order: unknown → NotFound, not locked → FailedPrecondition,
 * then checkPermissionUpdateUser (the user themself, or `user.write` on the user's
 * organization). `user.unlocked` resets the failure count.
 */
export function decideUnlockUser(state: UserState, input: UnlockUserInput): NewEvent<UserEvent>[] {
  if (!state.exists) throw notFound(UNLOCK_USER_NOT_FOUND, 'Errors.User.NotFound');
  if (!state.locked) throw failedPrecondition(UNLOCK_USER_NOT_LOCKED, 'Errors.User.NotLocked');
  authorizeOnUser(input.caller, input.userId, state, 'user.write');
  return [{ type: UserEventType.Unlocked, data: {}, metadata: eventMetadata(input, state.orgId!) }];
}
