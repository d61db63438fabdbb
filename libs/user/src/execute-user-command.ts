import { internal, invalidArgument } from '#errors';
import type { EventStore, NewEvent } from '#eventstore';
import { decideOnStream } from '#kernel';
import { userStream, type UserEvent } from './events.js';
import type { ObjectDetails } from '#kernel';
import { foldUser, type UserState } from './user-state.js';

/**
 * The shape of every command on one user's stream: refuse an empty id, load, decide,
 * append, and answer with the details of the last appended event.
 *
 * `personalData: false` for a decision that never looks at the user's names or addresses: the
 * stream is then read with them sealed (no data key, no decryption), and the state's username,
 * profile, email and verifiedEmail are undefined.
 */
export async function executeUserCommand(
  store: EventStore,
  userId: string,
  missingIdErrorId: string,
  decide: (state: UserState) => NewEvent<UserEvent>[],
  { personalData = true }: { personalData?: boolean } = {},
): Promise<{ details: ObjectDetails; state: UserState }> {
  if (!userId) throw invalidArgument(missingIdErrorId, 'Errors.User.UserIDMissing');
  const decision = (s: UserState) => ({ events: decide(s), result: undefined });
  const { state, appended } = await decideOnStream(store, userStream(userId), foldUser, decision, { read: { personalData } });
  const last = appended[appended.length - 1];
  if (!last || !state.orgId) throw internal('COMMAND-NoEv1', 'Errors.Internal');
  return { details: { sequence: last.sequence, changeDate: last.createdAt, resourceOwner: state.orgId }, state };
}
