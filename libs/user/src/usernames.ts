import { alreadyExists, invalidArgument } from '#errors';
import type { EventStore, RecordedEvent } from '#eventstore';
import { decideOnStream, readStreamOf, type EventMetadata } from '#kernel';

/**
 * Username claims: stream `username-<lowercased username>` says who holds a username.
 * Usernames are unique in the instance and compared case-insensitively; the first
 * `username.claimed` is appended with 'no_stream', so of two concurrent claims exactly one wins.
 */
export const usernameStream = (username: string) => `username-${normalizeUsername(username)}`;

/** How usernames are compared: trimmed, lower case (ZITADEL compares them case-insensitively). */
export const normalizeUsername = (username: string) => username.trim().toLowerCase();

export const UsernameEventType = {
  UsernameClaimed: 'username.claimed',
  UsernameReleased: 'username.released',
} as const;

/** `username` is the name as the user wrote it (the stream name holds the compared form). */
export interface UsernameClaimed {
  type: typeof UsernameEventType.UsernameClaimed;
  data: { userId: string; username: string };
}

/** The holder gave the name back (its user could not be created, or later: was renamed or removed). */
export interface UsernameReleased {
  type: typeof UsernameEventType.UsernameReleased;
  data: { userId: string };
}

export type UsernameEvent = UsernameClaimed | UsernameReleased;

/** Stream names are at most 200 characters; `username-` takes 9 of them. */
export const MAX_USERNAME_LENGTH = 180;

export interface UsernameClaimState {
  /** The user who holds the name now; undefined when free. */
  holder?: string;
  version: number;
}

export function foldUsernameClaim(events: readonly RecordedEvent<UsernameEvent>[]): UsernameClaimState {
  let state: UsernameClaimState = { version: 0 };
  for (const event of events) {
    const version = event.sequence;
    if (event.type === UsernameEventType.UsernameClaimed) state = { holder: event.data.userId, version };
    else if (event.type === UsernameEventType.UsernameReleased) state = { version };
    else state = { ...state, version }; // a type written by a newer version: nothing we know changes
  }
  return state;
}

/**
 * Refuses a username that cannot be one: empty, too long for its stream, or with white space
 * or control characters inside.
 */
export function assertUsername(username: string): string {
  const trimmed = username.trim();
  if (trimmed === '' || trimmed.length > MAX_USERNAME_LENGTH || /[\s\p{Cc}]/u.test(trimmed)) {
    throw invalidArgument('USER-Us3rn', 'Errors.User.Username.Invalid');
  }
  return trimmed;
}

/**
 * Reserves `username` (case-insensitively, in the whole instance) for `userId` before the
 * user's stream is written: `username.claimed` on `username-<lowercased>`, appended to an empty
 * stream ('no_stream'), so of two concurrent claims exactly one wins. Claiming a name the same
 * user already holds is a no-op (a retried start-up, a retried command). A name held by
 * another user is AlreadyExists `V3-DKcYh` Errors.User.AlreadyExists (ZITADEL's unique
 * constraint on the username answers so).
 */
export async function claimUsername(store: EventStore, username: string, userId: string, metadata: EventMetadata): Promise<void> {
  const name = assertUsername(username);
  await decideOnStream(store, usernameStream(name), foldUsernameClaim, (state) => {
    if (state.holder === userId) return { events: [], result: undefined };
    if (state.holder !== undefined) throw alreadyExists('V3-DKcYh', 'Errors.User.AlreadyExists');
    return {
      events: [{ type: UsernameEventType.UsernameClaimed, data: { userId, username: name }, metadata }],
      result: undefined,
    };
  });
}

/**
 * Gives a name back, when the user that claimed it could not be created. Only the holder can
 * release it; for anyone else (or a free name) nothing happens.
 */
export async function releaseUsername(store: EventStore, username: string, userId: string, metadata: EventMetadata): Promise<void> {
  await decideOnStream(store, usernameStream(username), foldUsernameClaim, (state) => ({
    events: state.holder === userId ? [{ type: UsernameEventType.UsernameReleased, data: { userId }, metadata }] : [],
    result: undefined,
  }));
}

/** Who holds a name now (undefined: free). */
export async function usernameHolder(store: EventStore, username: string): Promise<string | undefined> {
  return foldUsernameClaim(await readStreamOf<UsernameEvent>(store, usernameStream(normalizeUsername(username)))).holder;
}
