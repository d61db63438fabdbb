import { onAppended, type EventStore } from '#eventstore';
import { readStreamOf, systemClock, type Clock } from '#kernel';
import { foldUser, userStream, type UserEvent, type UserState } from '#user';

/** What authentication needs of a user: the folded state and the instance of its first event. */
export interface AuthUser {
  readonly state: UserState;
  readonly instanceId?: string;
}

/** A user's current state by id, read or remembered. */
export type UserLookup = (userId: string) => Promise<AuthUser>;

/** Reads and folds the user's stream every time: no cache. */
export const readUserFrom =
  (store: EventStore): UserLookup =>
  async (userId) => {
    const events = await readStreamOf<UserEvent>(store, userStream(userId));
    const instanceId = events[0]?.metadata.instanceId;
    return { state: foldUser(events), ...(typeof instanceId === 'string' ? { instanceId } : {}) };
  };

export interface AuthenticatedUsersOptions {
  /**
   * How long a user read for authentication is used without reading it again: the longest a
   * change made by another process (a token revoked or a role removed through the CLI or another
   * server) may go unnoticed here. 0 reads on every request.
   */
  ttlMs: number;
  /** How many users are remembered at most (the oldest go first). */
  limit?: number;
  clock?: Clock;
}

interface Entry {
  user: AuthUser;
  until: number;
}
/** A read in flight: its result is kept only if nothing was appended to the stream meanwhile. */
interface Pending {
  pending: true;
}

const DEFAULT_LIMIT = 10_000;

/**
 * The users that authenticate, remembered for a short time, so that a caller's stream is not
 * read and folded on every request. Bounded staleness:
 *  - an append this process makes to a user's stream (revoking a token, removing a role,
 *    deleting the user) forgets that user at once, also when the append failed, and a read that
 *    was in flight meanwhile is not kept;
 *  - a change another process makes is seen at the latest `ttlMs` after it.
 * Only existing users are kept (an unknown id is read every time, so random ids cannot fill
 * the cache and a user created later is found). Each token is still checked in full on every
 * request (its hash in constant time, its expiry against the clock): what is remembered is the
 * user's state, never a verdict on a token.
 */
export class AuthenticatedUsers {
  private readonly entries = new Map<string, Entry | Pending>();
  private readonly read: UserLookup;
  private readonly limit: number;
  private readonly clock: Clock;
  readonly stop: () => void;

  constructor(
    store: EventStore,
    private readonly options: AuthenticatedUsersOptions,
  ) {
    this.read = readUserFrom(store);
    this.limit = options.limit ?? DEFAULT_LIMIT;
    this.clock = options.clock ?? systemClock;
    this.stop = onAppended(store, (streams) => {
      for (const stream of streams) this.entries.delete(stream);
    });
  }

  readonly lookup: UserLookup = async (userId) => {
    if (this.options.ttlMs <= 0) return this.read(userId);
    const stream = userStream(userId);
    const now = this.clock.now().getTime();
    const known = this.entries.get(stream);
    if (known && !('pending' in known) && known.until > now) return known.user;
    const marker: Pending = { pending: true };
    this.entries.delete(stream);
    this.entries.set(stream, marker);
    let user: AuthUser;
    try {
      user = await this.read(userId);
    } catch (err) {
      if (this.entries.get(stream) === marker) this.entries.delete(stream);
      throw err;
    }
    if (this.entries.get(stream) !== marker) return user;
    if (!user.state.exists) {
      this.entries.delete(stream);
      return user;
    }
    this.entries.set(stream, { user, until: now + this.options.ttlMs });
    // The Map keeps insertion order: the first entry is the oldest.
    while (this.entries.size > this.limit) this.entries.delete(this.entries.keys().next().value!);
    return user;
  };
}
