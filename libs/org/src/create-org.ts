import { Command } from '@nestjs/cqrs';
import { requirePermission } from '#access';
import { alreadyExists, invalidArgument } from '#errors';
import type { EventStore, NewEvent } from '#eventstore';
import { eventMetadata, type CommandContext, type EventMetadata } from '#kernel';
import { decideOnStream, newCorrelationId } from '#kernel';
import type { ObjectDetails } from '#kernel';
import { orgStream, OrgEventType, type OrgEvent } from './events.js';
import { newId } from '#kernel';
import { foldOrg } from './org-state.js';

export const MAX_ORG_NAME_LENGTH = 200;

export interface CreateOrgInput {
  name: string;
  context: CommandContext;
  /** Given at start-up (planned in `instance.added`); otherwise generated. */
  orgId?: string;
}

export interface CreateOrgResult {
  orgId: string;
  details: ObjectDetails;
}

/**
 * Creates an organization: `org.added {name}` on `org-<orgId>`. Needs `org.write` on the
 * instance (an instance-wide role: IAM_OWNER).
 */
export class CreateOrgCommand extends Command<CreateOrgResult> {
  constructor(readonly input: CreateOrgInput) {
    super();
  }
}

export function assertOrgName(name: string): string {
  const trimmed = typeof name === 'string' ? name.trim() : '';
  if (trimmed === '' || trimmed.length > MAX_ORG_NAME_LENGTH) throw invalidArgument('ORG-Nm3e1', 'Errors.Org.Invalid');
  return trimmed;
}

export const orgAddedEvent = (name: string, metadata: EventMetadata): NewEvent<OrgEvent> => ({
  type: OrgEventType.OrgAdded,
  data: { name },
  metadata,
});

export async function createOrg(store: EventStore, input: CreateOrgInput): Promise<CreateOrgResult> {
  const name = assertOrgName(input.name);
  requirePermission(input.context.caller, 'org.write', undefined);
  const orgId = input.orgId ?? newId();
  const metadata = eventMetadata({ ...input.context, correlationId: input.context.correlationId ?? newCorrelationId() }, orgId);
  const { appended } = await decideOnStream(store, orgStream(orgId), foldOrg, (state) => {
    if (state.exists) throw alreadyExists('ORG-0rgEx', 'Errors.Org.AlreadyExists');
    return { events: [orgAddedEvent(name, metadata)], result: undefined };
  });
  const last = appended[appended.length - 1]!;
  return { orgId, details: { sequence: last.sequence, changeDate: last.createdAt, resourceOwner: orgId } };
}
