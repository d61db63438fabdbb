import { Command, Query } from '@nestjs/cqrs';
import { INSTANCE_ROLES, requirePermission, ROLES, type Caller, type Role } from '#access';
import { failedPrecondition, invalidArgument, notFound } from '#errors';
import type { EventStore, NewEvent, RecordedEvent } from '#eventstore';
import { decideOnStream, eventMetadata, newCorrelationId, readStreamOf, type CommandContext, type ObjectDetails } from '#kernel';
import { foldUser, UserEventType, userStream, type UserEvent, type UserState } from '#user';

/** A personal access token as operators see it: never the token, never its hash. */
export interface PersonalAccessTokenInfo {
  tokenId: string;
  /** When `user.pat.added` was written. */
  createdAt: Date;
  /** Absent: the token does not expire. */
  expiresAt?: Date;
}

export interface ListPersonalAccessTokensInput {
  userId: string;
  context: CommandContext;
}

/** A machine user's live tokens (removed ones are gone), oldest first. Needs `user.read` on the user's organization. */
export class ListPersonalAccessTokensQuery extends Query<PersonalAccessTokenInfo[]> {
  constructor(readonly input: ListPersonalAccessTokensInput) {
    super();
  }
}

export interface RemovePersonalAccessTokenInput {
  userId: string;
  tokenId: string;
  context: CommandContext;
}

/**
 * Revokes a token: `user.pat.removed {tokenId}`. Every request reads the user's stream to
 * verify a token, so the next request with it is refused. Needs what adding one needs:
 * `user.write` on the user's organization and the right to grant each of the user's roles
 * (requireMightOver).
 */
export class RemovePersonalAccessTokenCommand extends Command<{ details: ObjectDetails }> {
  constructor(readonly input: RemovePersonalAccessTokenInput) {
    super();
  }
}

export interface RemoveMemberRoleInput {
  userId: string;
  role: Role;
  /** The organization of an organization role; defaults to the user's. Never given for an instance role. */
  orgId?: string;
  context: CommandContext;
}

/**
 * Takes a role away: `user.member.role.removed {role, orgId?}` removes every grant of that
 * role on that organization (or on the instance). Needs what granting needs: `iam.write` for
 * an instance role, `org.write` on the organization for an organization role. Nobody removes
 * their own IAM_OWNER: an instance whose owners did that would have nobody left to grant it.
 */
export class RemoveMemberRoleCommand extends Command<{ details: ObjectDetails }> {
  constructor(readonly input: RemoveMemberRoleInput) {
    super();
  }
}

const requireUserId = (userId: string | undefined): string => {
  const id = typeof userId === 'string' ? userId.trim() : '';
  if (!id) throw invalidArgument('COMMAND-4n8vs', 'Errors.User.UserIDMissing');
  return id;
};

/** The machine user of `state`, or NotFound / FailedPrecondition as adding a token answers. */
function requireMachineUser(state: UserState): string {
  if (!state.exists || !state.orgId) throw notFound('COMMAND-P4tNf', 'Errors.User.NotFound');
  if (state.kind !== 'machine') throw failedPrecondition('COMMAND-P4tMc', 'Errors.User.NotMachine');
  return state.orgId;
}

/**
 * A user's credentials are as mighty as the user's roles: whoever issues or revokes them must
 * be able to grant each of those roles (`iam.write` for an instance role, `org.write` on the
 * organization of an organization role). Without this, a user manager could mint a token for
 * an owner of its organization and act as that owner.
 */
export function requireMightOver(caller: Caller, user: Pick<UserState, 'roles'>): void {
  for (const grant of user.roles) {
    if (grant.orgId === undefined) requirePermission(caller, 'iam.write', undefined);
    else requirePermission(caller, 'org.write', grant.orgId);
  }
}

/** Pure: the live tokens of a user's events, with the time each was added. */
export function personalAccessTokensOf(events: readonly RecordedEvent<UserEvent>[]): PersonalAccessTokenInfo[] {
  const tokens = new Map<string, PersonalAccessTokenInfo>();
  for (const event of events) {
    if (event.type === UserEventType.PatAdded) {
      tokens.set(event.data.tokenId, {
        tokenId: event.data.tokenId,
        createdAt: event.createdAt,
        ...(event.data.expiresAt ? { expiresAt: new Date(event.data.expiresAt) } : {}),
      });
    } else if (event.type === UserEventType.PatRemoved) {
      tokens.delete(event.data.tokenId);
    }
  }
  return [...tokens.values()];
}

export async function listPersonalAccessTokens(store: EventStore, input: ListPersonalAccessTokensInput): Promise<PersonalAccessTokenInfo[]> {
  const userId = requireUserId(input.userId);
  const events = await readStreamOf<UserEvent>(store, userStream(userId));
  const state = foldUser(events);
  if (!state.exists || !state.orgId) throw notFound('COMMAND-P4tNf', 'Errors.User.NotFound');
  requirePermission(input.context.caller, 'user.read', state.orgId);
  requireMachineUser(state);
  return personalAccessTokensOf(events);
}

/** Pure: the decision of RemovePersonalAccessToken on the user's state. */
export function decideRemovePersonalAccessToken(state: UserState, input: RemovePersonalAccessTokenInput, context: CommandContext): NewEvent<UserEvent>[] {
  if (!state.exists || !state.orgId) throw notFound('COMMAND-P4tNf', 'Errors.User.NotFound');
  requirePermission(context.caller, 'user.write', state.orgId);
  requireMightOver(context.caller, state);
  requireMachineUser(state);
  if (!state.pats[input.tokenId]) throw notFound('COMMAND-4m77G', 'Errors.User.PAT.NotFound');
  return [{ type: UserEventType.PatRemoved, data: { tokenId: input.tokenId }, metadata: eventMetadata(context, state.orgId) }];
}

export async function removePersonalAccessToken(store: EventStore, input: RemovePersonalAccessTokenInput): Promise<{ details: ObjectDetails }> {
  const userId = requireUserId(input.userId);
  const tokenId = typeof input.tokenId === 'string' ? input.tokenId.trim() : '';
  if (!tokenId) throw invalidArgument('COMMAND-4m77F', 'Errors.User.PAT.IDMissing');
  const context = { ...input.context, correlationId: input.context.correlationId ?? newCorrelationId() };
  const { state, appended } = await decideOnStream(store, userStream(userId), foldUser, (user) => ({
    events: decideRemovePersonalAccessToken(user, { ...input, userId, tokenId }, context),
    result: undefined,
  }));
  const last = appended[appended.length - 1]!;
  return { details: { sequence: last.sequence, changeDate: last.createdAt, resourceOwner: state.orgId! } };
}

/** Pure: the decision of RemoveMemberRole on the user's state. */
export function decideRemoveMemberRole(state: UserState, input: RemoveMemberRoleInput, context: CommandContext): NewEvent<UserEvent>[] {
  if (!ROLES.includes(input.role)) throw invalidArgument('USER-R0le1', 'Errors.User.Role.Invalid');
  if (!state.exists || !state.orgId) throw notFound('COMMAND-P4tNf', 'Errors.User.NotFound');
  const instanceRole = INSTANCE_ROLES.includes(input.role);
  if (instanceRole && input.orgId) throw invalidArgument('USER-R0le1', 'Errors.User.Role.Invalid');
  const orgId = instanceRole ? undefined : input.orgId || state.orgId;
  if (orgId === undefined) requirePermission(context.caller, 'iam.write', undefined);
  else requirePermission(context.caller, 'org.write', orgId);
  if (!state.roles.some((grant) => grant.role === input.role && grant.orgId === orgId)) {
    throw notFound('COMMAND-R0lNf', 'Errors.User.Role.NotFound');
  }
  // Every grant of the role goes at once, so this is the caller's last IAM_OWNER grant.
  if (input.role === 'IAM_OWNER' && input.userId === context.caller.userId) {
    throw failedPrecondition('COMMAND-R0lSf', 'Errors.User.Role.OwnLastOwner');
  }
  return [
    {
      type: UserEventType.MemberRoleRemoved,
      data: { role: input.role, ...(orgId ? { orgId } : {}) },
      metadata: eventMetadata(context, state.orgId),
    },
  ];
}

export async function removeMemberRole(store: EventStore, input: RemoveMemberRoleInput): Promise<{ details: ObjectDetails }> {
  const userId = requireUserId(input.userId);
  const orgId = typeof input.orgId === 'string' && input.orgId.trim() ? input.orgId.trim() : undefined;
  const context = { ...input.context, correlationId: input.context.correlationId ?? newCorrelationId() };
  const { state, appended } = await decideOnStream(store, userStream(userId), foldUser, (user) => ({
    events: decideRemoveMemberRole(user, { ...input, userId, ...(orgId ? { orgId } : {}) }, context),
    result: undefined,
  }));
  const last = appended[appended.length - 1]!;
  return { details: { sequence: last.sequence, changeDate: last.createdAt, resourceOwner: state.orgId! } };
}
