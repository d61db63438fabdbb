/**
 * Events of the instance and of organizations. Every event's metadata is
 * an EventMetadata (libs/kernel/src/event-metadata.ts). A payload never changes meaning: add optional
 * fields, or a new event type.
 *
 * Streams:
 * - `instance-default`: the one instance of this deployment. A deployment (one database, or
 *   one EventStoreDB) serves exactly one instance; its id is generated at first start and
 *   recorded in `instance.added`, the stream's first event, appended with 'no_stream' so that
 *   two servers starting at once create one instance.
 * - `org-<orgId>`: an organization, starting with `org.added`.
 * Username claims (`username-…` streams) belong to the user domain: libs/user/src/usernames.ts.
 */

export const INSTANCE_STREAM = 'instance-default';
export const orgStream = (orgId: string) => `org-${orgId}`;

export const OrgEventType = {
  InstanceAdded: 'instance.added',
  OrgAdded: 'org.added',
} as const;

export interface InstanceAdded {
  type: typeof OrgEventType.InstanceAdded;
  data: {
    instanceId: string;
    name: string;
    /** The organization created with the instance ("Default"): where the first admin lives. */
    defaultOrgId: string;
    /**
     * The first admin (machine user `admin`, IAM_OWNER), planned here so that a start-up that
     * stopped half-way finishes the same setup on the next start instead of starting another.
     */
    adminUserId?: string;
  };
}

export interface OrgAdded {
  type: typeof OrgEventType.OrgAdded;
  data: { name: string };
}

export type OrgEvent = InstanceAdded | OrgAdded;
