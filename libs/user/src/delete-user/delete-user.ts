import { Command } from '@nestjs/cqrs';
import { notFound } from '#errors';
import type { NewEvent } from '#eventstore';
import { eventMetadata, type CommandContext, type ObjectDetails } from '#kernel';
import { authorizeOnUser } from '../authorize.js';
import { UserEventType, type UserEvent } from '../events.js';
import type { UserState } from '../user-state.js';

export interface DeleteUserInput extends CommandContext {
  userId: string;
}

/** Deletes a user (ZITADEL's v2 DeleteUser, `DELETE /v2/users/{userId}`). */
export class DeleteUserCommand extends Command<ObjectDetails> {
  constructor(readonly input: DeleteUserInput) {
    super();
  }
}

/** ZITADEL's ids for RemoveUserV2 (internal/command/user_v2.go). */
export const DELETE_USER_MISSING_ID = 'COMMAND-vaipl7s13l';
export const DELETE_USER_NOT_FOUND = 'COMMAND-bd4ir1mblj';

/**
 * ZITADEL's RemoveUserV2, in its order: an unknown or already deleted user → NotFound
 * `COMMAND-bd4ir1mblj`, then checkPermissionDeleteUser (the user themself, or `user.delete` on
 * the user's organization). Humans and machine users alike. The username's release is decided
 * on the claim stream by the handler (planUsernameRelease), in the same append where the store
 * can.
 */
export function decideDeleteUser(state: UserState, input: DeleteUserInput): NewEvent<UserEvent>[] {
  if (!state.exists) throw notFound(DELETE_USER_NOT_FOUND, 'Errors.User.NotFound');
  authorizeOnUser(input.caller, input.userId, state, 'user.delete');
  return [{ type: UserEventType.Removed, data: {}, metadata: eventMetadata(input, state.orgId!) }];
}
