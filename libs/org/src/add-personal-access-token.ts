import { Command } from '@nestjs/cqrs';
import { requirePermission } from '#access';
import { failedPrecondition, invalidArgument, notFound } from '#errors';
import type { EventStore, NewEvent } from '#eventstore';
import { eventMetadata, type CommandContext, type EventMetadata } from '#kernel';
import { decideOnStream, newCorrelationId } from '#kernel';
import { UserEventType, userStream, type UserEvent } from '#user';
import type { ObjectDetails } from '#kernel';
import { foldUser } from '#user';
import { issuePat } from './pat-format.js';
import { requireMightOver } from './revoke.js';

export interface AddPersonalAccessTokenInput {
  userId: string;
  /** Unset: the token does not expire. */
  expiresAt?: Date;
  context: CommandContext;
}

export interface AddPersonalAccessTokenResult {
  tokenId: string;
  /** Returned once, here; only its hash is stored. */
  token: string;
  expiresAt?: Date;
  details: ObjectDetails;
}

/**
 * Adds a personal access token to a machine user: `user.pat.added {tokenId, hash, expiresAt?}`.
 * Needs `user.write` on the user's organization, also for one's own user: a token may not
 * mint its own successors (its expiry would mean nothing); and the right to grant each of the
 * user's roles (requireMightOver), so nobody gets a token mightier than themselves.
 */
export class AddPersonalAccessTokenCommand extends Command<AddPersonalAccessTokenResult> {
  constructor(readonly input: AddPersonalAccessTokenInput) {
    super();
  }
}

export const patAddedEvent = (pat: { tokenId: string; hash: string; expiresAt?: Date | undefined }, metadata: EventMetadata): NewEvent<UserEvent> => ({
  type: UserEventType.PatAdded,
  data: { tokenId: pat.tokenId, hash: pat.hash, ...(pat.expiresAt ? { expiresAt: pat.expiresAt.toISOString() } : {}) },
  metadata,
});

/** `now` (the Clock's) decides whether `expiresAt` is in the future. */
export async function addPersonalAccessToken(store: EventStore, input: AddPersonalAccessTokenInput, now: Date): Promise<AddPersonalAccessTokenResult> {
  const userId = input.userId?.trim();
  if (!userId) throw invalidArgument('COMMAND-P4tId', 'Errors.User.UserIDMissing');
  const expiresAt = input.expiresAt;
  if (expiresAt !== undefined && !(expiresAt.getTime() > now.getTime())) {
    throw invalidArgument('COMMAND-P4tEx', 'Errors.Token.Expiration.Invalid');
  }
  const context = { ...input.context, correlationId: input.context.correlationId ?? newCorrelationId() };
  const pat = issuePat(userId);
  const { state, appended } = await decideOnStream(store, userStream(userId), foldUser, (user) => {
    if (!user.exists || !user.orgId) throw notFound('COMMAND-P4tNf', 'Errors.User.NotFound');
    requirePermission(context.caller, 'user.write', user.orgId);
    requireMightOver(context.caller, user);
    if (user.kind !== 'machine') throw failedPrecondition('COMMAND-P4tMc', 'Errors.User.NotMachine');
    return { events: [patAddedEvent({ ...pat, expiresAt }, eventMetadata(context, user.orgId))], result: undefined };
  });
  const last = appended[appended.length - 1]!;
  return {
    tokenId: pat.tokenId,
    token: pat.token,
    ...(expiresAt ? { expiresAt } : {}),
    details: { sequence: last.sequence, changeDate: last.createdAt, resourceOwner: state.orgId! },
  };
}
