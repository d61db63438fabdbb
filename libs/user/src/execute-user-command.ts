import { internal, invalidArgument } from '#errors';
import type { EventStore, NewEvent } from '#eventstore';
import { decideOnStream } from '#kernel';
import { userStream, type UserEvent } from './events.js';
import type { ObjectDetails } from '#kernel';
import { foldUser, type UserState } from './user-state.js';

/**
 * The shape of every command on one user's stream: refuse an empty id, load, decide,
 * append, and answer with the details of the last appended event.
 */
export async function executeUserCommand(
  store: EventStore,
  userId: string,
  missingIdErrorId: string,
  decide: (state: UserState) => NewEvent<UserEvent>[],
): Promise<{ details: ObjectDetails; state: UserState }> {
  if (!userId) throw invalidArgument(missingIdErrorId, 'Errors.User.UserIDMissing');
  const { state, appended } = await decideOnStream(store, userStream(userId), foldUser, (s) => ({ events: decide(s), result: undefined }));
  const last = appended[appended.length - 1];
  if (!last || !state.orgId) throw internal('COMMAND-NoEv1', 'Errors.Internal');
  return { details: { sequence: last.sequence, changeDate: last.createdAt, resourceOwner: state.orgId }, state };
}
