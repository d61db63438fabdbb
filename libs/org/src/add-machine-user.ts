import { Command } from '@nestjs/cqrs';
import { INSTANCE_ROLES, ROLES, type RoleGrant } from '#access';
import { requirePermission } from '#access';
import { aborted, alreadyExists, invalidArgument, notFound } from '#errors';
import { WrongExpectedVersionError, type AppendedEvent, type EventStore, type NewEvent, type StreamAppend } from '#eventstore';
import { assertAppendable, eventMetadata, type CommandContext, type EventMetadata } from '#kernel';
import { decideOnStream, newCorrelationId } from '#kernel';
import { UserEventType, userStream, type UserEvent } from '#user';
import type { ObjectDetails } from '#kernel';
import { foldUser } from '#user';
import { newId } from '#kernel';
import { orgExists } from './org-state.js';
import { assertUsername, claimUsername, planUsernameClaim, releaseUsername } from '#user';

export const MAX_MACHINE_NAME_LENGTH = 200;

export interface AddMachineUserInput {
  /** Unique in the instance, compared case-insensitively. */
  username: string;
  /** The display name. */
  name: string;
  description?: string;
  /** Defaults to the caller's organization. */
  orgId?: string;
  /**
   * Instance roles (IAM_*) are granted without orgId; organization roles (ORG_*) on `orgId`,
   * by default the user's organization.
   */
  roles: RoleGrant[];
  context: CommandContext;
  /** Given at start-up (planned in `instance.added`); otherwise generated. */
  userId?: string;
}

export interface AddMachineUserResult {
  userId: string;
  details: ObjectDetails;
}

/**
 * Creates a machine user: the username claim (#user's usernames) and `user.machine.added` with
 * one `user.member.role.granted` per role on `user-<userId>`, in one multi-stream append where
 * the store has it (a crash never leaves the claim without its user), else the claim first.
 *
 * Permissions (the role table in #access): `user.write` on the user's organization; and to
 * hand out roles, more: an instance role needs `iam.write` (IAM_OWNER), an organization role
 * `org.write` on that organization (IAM_OWNER, IAM_ORG_MANAGER, ORG_OWNER).
 */
export class AddMachineUserCommand extends Command<AddMachineUserResult> {
  constructor(readonly input: AddMachineUserInput) {
    super();
  }
}

export function assertMachineName(name: string): string {
  const trimmed = typeof name === 'string' ? name.trim() : '';
  if (trimmed === '' || trimmed.length > MAX_MACHINE_NAME_LENGTH) throw invalidArgument('USER-Mn4me', 'Errors.User.Machine.Invalid');
  return trimmed;
}

/** Checks the grants and fills in the organization of organization roles. */
export function normalizeRoleGrants(roles: readonly RoleGrant[], userOrgId: string): RoleGrant[] {
  return roles.map((grant) => {
    if (!ROLES.includes(grant?.role)) throw invalidArgument('USER-R0le1', 'Errors.User.Role.Invalid');
    if (INSTANCE_ROLES.includes(grant.role)) {
      if (grant.orgId) throw invalidArgument('USER-R0le1', 'Errors.User.Role.Invalid');
      return { role: grant.role };
    }
    return { role: grant.role, orgId: grant.orgId || userOrgId };
  });
}

export function machineUserEvents(
  user: { username: string; name: string; description?: string | undefined; orgId: string; roles: readonly RoleGrant[] },
  metadata: EventMetadata,
): NewEvent<UserEvent>[] {
  return [
    {
      type: UserEventType.MachineAdded,
      data: {
        username: user.username,
        orgId: user.orgId,
        name: user.name,
        ...(user.description ? { description: user.description } : {}),
      },
      metadata,
    },
    ...user.roles.map(
      (grant): NewEvent<UserEvent> => ({
        type: UserEventType.MemberRoleGranted,
        data: { role: grant.role, ...(grant.orgId ? { orgId: grant.orgId } : {}) },
        metadata,
      }),
    ),
  ];
}

export async function addMachineUser(store: EventStore, input: AddMachineUserInput): Promise<AddMachineUserResult> {
  const caller = input.context.caller;
  const username = assertUsername(input.username ?? '');
  const name = assertMachineName(input.name);
  const description = input.description?.trim() || undefined;
  const orgId = input.orgId?.trim() || caller.orgId;
  const roles = normalizeRoleGrants(input.roles ?? [], orgId);

  requirePermission(caller, 'user.write', orgId);
  for (const grant of roles) {
    if (grant.orgId === undefined) requirePermission(caller, 'iam.write', undefined);
    else requirePermission(caller, 'org.write', grant.orgId);
  }
  const orgIds = new Set([orgId, ...roles.flatMap((grant) => (grant.orgId ? [grant.orgId] : []))]);
  for (const id of orgIds) {
    if (!(await orgExists(store, id))) throw notFound('COMMAND-0n8fs', 'Errors.Org.NotFound');
  }

  const userId = input.userId ?? newId();
  const metadata = eventMetadata({ ...input.context, correlationId: input.context.correlationId ?? newCorrelationId() }, orgId);
  const events = machineUserEvents({ username, name, description, orgId, roles }, metadata);
  const appended = store.appendMany
    ? await claimAndCreate(store, username, userId, metadata, { stream: userStream(userId), events, expectedRevision: 'no_stream' })
    : await claimThenCreate(store, username, userId, metadata, events);
  const last = appended[appended.length - 1]!;
  return { userId, details: { sequence: last.sequence, changeDate: last.createdAt, resourceOwner: orgId } };
}

const CLAIM_ATTEMPTS = 5;
const userAlreadyExists = () => alreadyExists('COMMAND-7yiox', 'Errors.User.AlreadyExists');

/** The claim and the user in one multi-stream append (PostgreSQL, PGlite): both or neither. */
async function claimAndCreate(store: EventStore, username: string, userId: string, metadata: EventMetadata, user: StreamAppend): Promise<AppendedEvent[]> {
  for (let attempt = 1; ; attempt++) {
    const parts = [...(await planUsernameClaim(store, username, userId, metadata)), user];
    assertAppendable(parts);
    try {
      const results = await store.appendMany!(parts);
      return results[results.length - 1]!.events;
    } catch (err) {
      if (!(err instanceof WrongExpectedVersionError)) throw err;
      if (err.stream === user.stream) throw userAlreadyExists();
      // Another claim of the name came first: decide again.
      if (attempt >= CLAIM_ATTEMPTS) throw aborted('COMMAND-Conc1', 'Errors.ConcurrentWrite');
    }
  }
}

/**
 * Without multi-stream appends (EventStoreDB): the claim first, then the user; a crash in
 * between leaves a claim that frees itself after USERNAME_CLAIM_TTL_MS (see #user's usernames).
 */
async function claimThenCreate(
  store: EventStore,
  username: string,
  userId: string,
  metadata: EventMetadata,
  events: NewEvent<UserEvent>[],
): Promise<AppendedEvent[]> {
  await claimUsername(store, username, userId, metadata);
  let appended: AppendedEvent[];
  try {
    ({ appended } = await decideOnStream(store, userStream(userId), foldUser, (state) => {
      if (state.exists || state.abandoned) throw userAlreadyExists();
      return { events, result: undefined };
    }));
  } catch (err) {
    await releaseUsername(store, username, userId, metadata).catch(() => undefined);
    throw err;
  }
  return appended;
}
