import { aborted, alreadyExists, invalidArgument } from '#errors';
import { WrongExpectedVersionError, type EventStore, type NewEvent, type RecordedEvent, type StreamAppend } from '#eventstore';
import { assertAppendable, decideOnStream, readStreamOf, type EventMetadata } from '#kernel';
import { UserEventType, userStream } from './events.js';

/**
 * Username claims: stream `username-<lowercased username>` says who holds a username (the
 * store keeps it under a keyed hash of the name, `username#<hmac>`: withPersonalDataSealing).
 * Usernames are unique in the instance and compared case-insensitively; a claim is appended
 * with the claim stream's expected revision, so of two concurrent claims exactly one wins.
 *
 * A claim and its user are two streams. Where the store appends several streams at once
 * (`appendMany`: PostgreSQL, PGlite) they are written together and a claim never exists without
 * its user. Elsewhere (EventStoreDB) a crash between the two leaves a claim whose user never
 * appears; such a claim holds the name for at most USERNAME_CLAIM_TTL_MS: after that the next
 * claimer fences the would-be user's stream (`user.registration.abandoned`, 'no_stream', so a
 * late append of that user fails) and takes the name.
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

/**
 * The holder gave the name back: its user could not be created, or (`abandoned`) its user never
 * appeared within USERNAME_CLAIM_TTL_MS and another user claims the name.
 */
export interface UsernameReleased {
  type: typeof UsernameEventType.UsernameReleased;
  data: { userId: string; abandoned?: boolean };
}

export type UsernameEvent = UsernameClaimed | UsernameReleased;

/** Stream names are at most 200 characters; `username-` takes 9 of them. */
export const MAX_USERNAME_LENGTH = 180;

/**
 * How long a claim whose user has not appeared holds its name. A registration writes its user
 * right after its claim, so only a crash (or a store outage) between the two takes this long.
 */
export const USERNAME_CLAIM_TTL_MS = 60_000;

export interface UsernameClaimState {
  /** The user who holds the name now; undefined when free. */
  holder?: string;
  /** When the holder's claim was recorded (the store's clock). */
  claimedAt?: Date;
  /** The name as the holder wrote it. */
  username?: string;
  version: number;
}

export function foldUsernameClaim(events: readonly RecordedEvent<UsernameEvent>[]): UsernameClaimState {
  let state: UsernameClaimState = { version: 0 };
  for (const event of events) {
    const version = event.sequence;
    if (event.type === UsernameEventType.UsernameClaimed) {
      state = { holder: event.data.userId, claimedAt: event.createdAt, username: event.data.username, version };
    }
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

export interface ClaimOptions {
  /** The command's clock. */
  now?: Date;
  /** Defaults to USERNAME_CLAIM_TTL_MS. */
  ttlMs?: number;
}

const usernameTaken = () => alreadyExists('V3-DKcYh', 'Errors.User.AlreadyExists');

/**
 * What became of the user a claim names: never created (its stream is empty or fenced off),
 * deleted (user.removed: its name is free at once), or here.
 */
async function holderStatus(store: EventStore, userId: string): Promise<{ neverAppeared: { fenced: boolean } } | 'removed' | 'present'> {
  const events = await store.readStream(userStream(userId));
  if (events.some((e) => e.type === UserEventType.Removed)) return 'removed';
  if (events.some((e) => e.type !== UserEventType.RegistrationAbandoned)) return 'present';
  return { neverAppeared: { fenced: events.length > 0 } };
}

/**
 * The appends that give `username` to `userId`, decided on the claim stream as it is now: none
 * when `userId` holds it already (a retried command), a claim when it is free, and when another
 * user's claim has outlived `ttlMs` without that user appearing: the fence on that user's
 * stream, then the release and the new claim. Otherwise AlreadyExists `V3-DKcYh`
 * Errors.User.AlreadyExists.
 */
export async function planUsernameClaim(
  store: EventStore,
  username: string,
  userId: string,
  metadata: EventMetadata,
  options: ClaimOptions = {},
): Promise<StreamAppend[]> {
  const name = assertUsername(username);
  const stream = usernameStream(name);
  const claim = foldUsernameClaim(await readStreamOf<UsernameEvent>(store, stream));
  if (claim.holder === userId) return [];
  const claimed: NewEvent<UsernameEvent> = { type: UsernameEventType.UsernameClaimed, data: { userId, username: name }, metadata };
  if (claim.holder === undefined) return [{ stream, events: [claimed], expectedRevision: claim.version }];

  const plan = await planAbandonedClaimRelease(store, stream, { ...claim, holder: claim.holder }, name, metadata, options, [claimed]);
  if ('keep' in plan) throw usernameTaken();
  return plan.release;
}

/**
 * What becomes of another user's claim: released at once when its user was deleted (DeleteUser
 * releases the name with the removal; where the store cannot write both at once a crash may
 * leave the claim of a deleted user behind: it holds nothing); kept while it is younger than
 * `ttlMs` or its user exists; otherwise released as abandoned: the fence on the holder's user
 * stream (unless it is there already), then `username.released {abandoned: true}`. `then` (a
 * new claim) follows on the claim stream, with the revision the claim was read at.
 */
export async function planAbandonedClaimRelease(
  store: EventStore,
  stream: string,
  claim: UsernameClaimState & { holder: string },
  username: string,
  metadata: EventMetadata,
  options: ClaimOptions = {},
  then: readonly NewEvent<UsernameEvent>[] = [],
): Promise<{ release: StreamAppend[] } | { keep: 'young' | 'held' }> {
  const holder = await holderStatus(store, claim.holder);
  if (holder === 'removed') {
    const released: NewEvent<UsernameEvent> = { type: UsernameEventType.UsernameReleased, data: { userId: claim.holder }, metadata };
    return { release: [{ stream, events: [released, ...then], expectedRevision: claim.version }] };
  }
  const now = options.now ?? new Date();
  const ttlMs = options.ttlMs ?? USERNAME_CLAIM_TTL_MS;
  if (!claim.claimedAt || claim.claimedAt.getTime() + ttlMs > now.getTime()) return { keep: 'young' };
  if (holder === 'present') return { keep: 'held' };
  return {
    release: [
      ...(holder.neverAppeared.fenced ? [] : [abandonedFence(claim.holder, username, metadata)]),
      {
        stream,
        events: [{ type: UsernameEventType.UsernameReleased, data: { userId: claim.holder, abandoned: true }, metadata }, ...then],
        expectedRevision: claim.version,
      },
    ],
  };
}

function abandonedFence(userId: string, username: string, metadata: EventMetadata): StreamAppend {
  return {
    stream: userStream(userId),
    events: [{ type: UserEventType.RegistrationAbandoned, data: { username }, metadata }],
    expectedRevision: 'no_stream',
  };
}

/**
 * Writes planned parts: all at once where the store can, else one after the other in the given
 * order (a fence before the claim it protects, a claim before its user).
 */
export async function appendParts(store: EventStore, parts: readonly StreamAppend[]): Promise<void> {
  if (parts.length === 0) return;
  assertAppendable(parts);
  if (store.appendMany) {
    await store.appendMany(parts);
    return;
  }
  for (const part of parts) await store.append(part.stream, part.events, part.expectedRevision);
}

const CLAIM_ATTEMPTS = 5;

/**
 * Reserves `username` (case-insensitively, in the whole instance) for `userId` before the
 * user's stream is written (see planUsernameClaim). Claiming a name the same user already holds
 * is a no-op (a retried start-up, a retried command). A name held by another user is
 * AlreadyExists `V3-DKcYh` Errors.User.AlreadyExists (ZITADEL's unique
 * constraint on the username answers so).
 */
export async function claimUsername(
  store: EventStore,
  username: string,
  userId: string,
  metadata: EventMetadata,
  options: ClaimOptions = {},
): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      await appendParts(store, await planUsernameClaim(store, username, userId, metadata, options));
      return;
    } catch (err) {
      if (!(err instanceof WrongExpectedVersionError)) throw err;
      if (attempt >= CLAIM_ATTEMPTS) throw aborted('COMMAND-Conc1', 'Errors.ConcurrentWrite');
    }
  }
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

/**
 * The append that gives `username` back when its holder `userId` is deleted: none when the name
 * is not (or no longer) held by that user.
 */
export async function planUsernameRelease(store: EventStore, username: string, userId: string, metadata: EventMetadata): Promise<StreamAppend[]> {
  const stream = usernameStream(username);
  const claim = foldUsernameClaim(await readStreamOf<UsernameEvent>(store, stream));
  if (claim.holder !== userId) return [];
  return [{ stream, events: [{ type: UsernameEventType.UsernameReleased, data: { userId }, metadata }], expectedRevision: claim.version }];
}

/** Who holds a name now (undefined: free). */
export async function usernameHolder(store: EventStore, username: string): Promise<string | undefined> {
  return foldUsernameClaim(await readStreamOf<UsernameEvent>(store, usernameStream(normalizeUsername(username)))).holder;
}
