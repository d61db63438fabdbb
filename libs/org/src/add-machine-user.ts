import { Command } from '@nestjs/cqrs';
import { INSTANCE_ROLES, ROLES, type RoleGrant } from '#access';
import { requirePermission } from '#access';
import { alreadyExists, invalidArgument, notFound } from '#errors';
import type { EventStore, NewEvent } from '#eventstore';
import { eventMetadata, type CommandContext, type EventMetadata } from '#kernel';
import { decideOnStream, newCorrelationId } from '#kernel';
import { UserEventType, userStream, type UserEvent } from '#user';
import type { ObjectDetails } from '#kernel';
import { foldUser } from '#user';
import { newId } from '#kernel';
import { orgExists } from './org-state.js';
import { assertUsername, claimUsername, releaseUsername } from '#user';

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
 * Creates a machine user: the username is claimed (libs/org/src/usernames.ts), then
 * `user.machine.added` and one `user.member.role.granted` per role go to `user-<userId>`.
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
  await claimUsername(store, username, userId, metadata);
  let appended;
  try {
    ({ appended } = await decideOnStream(store, userStream(userId), foldUser, (state) => {
      if (state.exists || state.abandoned) throw alreadyExists('COMMAND-7yiox', 'Errors.User.AlreadyExists');
      return { events: machineUserEvents({ username, name, description, orgId, roles }, metadata), result: undefined };
    }));
  } catch (err) {
    await releaseUsername(store, username, userId, metadata).catch(() => undefined);
    throw err;
  }
  const last = appended[appended.length - 1]!;
  return { userId, details: { sequence: last.sequence, changeDate: last.createdAt, resourceOwner: orgId } };
}
