import { Command } from '@nestjs/cqrs';
import { requirePermission } from '#access';
import { aborted } from '#errors';
import { comparePositions, START, WrongExpectedVersionError, type EventStore, type Position } from '#eventstore';
import { eventMetadata, readStreamOf, type CommandContext } from '#kernel';
import { UserEventType, userStream } from '../events.js';
import {
  appendParts,
  foldUsernameClaim,
  planAbandonedClaimRelease,
  UsernameEventType,
  type ClaimOptions,
  type UsernameEvent,
} from '../usernames.js';

/** A claim the sweep looked at: the name, the user it names, when it was recorded. */
export interface SweptClaim {
  username: string;
  userId: string;
  claimedAt: string;
}

export interface UsernameSweep {
  /** Claims without their user, older than the TTL: released now (the name is free again). */
  released: SweptClaim[];
  /** Claims without their user (yet), younger than the TTL: kept; a registration may still be writing its user. */
  pending: SweptClaim[];
}

/**
 * Frees, once, every username claim whose user never appeared (`npm run cli -- usernames
 * sweep`, POST /admin/v1/usernames/sweep). Needs `iam.write`: usernames belong to the instance.
 */
export class SweepUsernameClaimsCommand extends Command<UsernameSweep> {
  constructor(readonly input: CommandContext) {
    super();
  }
}

const PAGE = 5000;
const ATTEMPTS = 5;

/**
 * Claims without a user come from a crash between the claim and the user on a store without
 * multi-stream appends (EventStoreDB), or from data written before the claim and the user
 * were one append. The next claimer of such a name frees it anyway (planUsernameClaim); this
 * frees them all at once, so that they stop showing as taken (login by name, the operator's
 * own checks).
 *
 * One pass over the store, up to its head when the sweep starts, finds the claims held by a
 * user that has no event of its own. Each
 * is then decided again on its claim stream and its user stream as they are now, exactly as
 * the next claimer would decide: older than `ttlMs` (USERNAME_CLAIM_TTL_MS) and still without
 * its user → the fence on the user's stream (`user.registration.abandoned`, 'no_stream': a late
 * append of that user fails) and `username.released {abandoned: true}`, with the revisions read;
 * younger → kept, reported as pending. A conflict (a registration or a claimer acting at the
 * same moment) decides again. Running it again finds nothing more to do: it is idempotent.
 */
export async function sweepOrphanedUsernameClaims(store: EventStore, context: CommandContext, options: ClaimOptions = {}): Promise<UsernameSweep> {
  requirePermission(context.caller, 'iam.write', undefined);
  const metadata = eventMetadata(context, context.caller.instanceId);

  // Everything committed before the sweep started is read: readAll holds back events behind a
  // transaction still open anywhere on the server, so an empty page before the head waits.
  const head = await store.headPosition();
  const holders = new Map<string, string | undefined>();
  const users = new Set<string>();
  for (let after: Position = START; comparePositions(after, head) < 0; ) {
    const page = await store.readAll({ after, limit: PAGE });
    if (page.length === 0) {
      await store.waitForEvents(after, { timeoutMs: 1_000 });
      continue;
    }
    for (const event of page) {
      if (event.type === UsernameEventType.UsernameClaimed) holders.set(event.stream, String(event.data.userId));
      else if (event.type === UsernameEventType.UsernameReleased) holders.set(event.stream, undefined);
      else if (event.stream.startsWith('user-') && event.type !== UserEventType.RegistrationAbandoned) users.add(event.stream);
    }
    after = page[page.length - 1]!.position;
  }

  const sweep: UsernameSweep = { released: [], pending: [] };
  for (const [stream, holder] of holders) {
    if (holder === undefined || users.has(userStream(holder))) continue;
    for (let attempt = 1; ; attempt++) {
      const claim = foldUsernameClaim(await readStreamOf<UsernameEvent>(store, stream));
      if (claim.holder === undefined) break; // released meanwhile: the name is free
      const username = claim.username ?? stream.slice('username-'.length);
      const swept: SweptClaim = { username, userId: claim.holder, claimedAt: claim.claimedAt?.toISOString() ?? '' };
      const plan = await planAbandonedClaimRelease(store, stream, { ...claim, holder: claim.holder }, username, metadata, options);
      if ('keep' in plan) {
        if (plan.keep === 'young') sweep.pending.push(swept);
        break;
      }
      try {
        await appendParts(store, plan.release);
        sweep.released.push(swept);
        break;
      } catch (err) {
        if (!(err instanceof WrongExpectedVersionError)) throw err;
        if (attempt >= ATTEMPTS) throw aborted('COMMAND-Conc1', 'Errors.ConcurrentWrite');
      }
    }
  }
  return sweep;
}
