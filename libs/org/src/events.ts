/**
 * Events of the instance, of organizations and of username claims. Every event's metadata is
 * an EventMetadata (libs/user/src/events.ts). A payload never changes meaning: add optional
 * fields, or a new event type.
 *
 * Streams:
 * - `instance-default`: the one instance of this deployment. A deployment (one database, or
 *   one EventStoreDB) serves exactly one instance; its id is generated at first start and
 *   recorded in `instance.added`, the stream's first event, appended with 'no_stream' so that
 *   two servers starting at once create one instance.
 * - `org-<orgId>`: an organization, starting with `org.added`.
 * - `username-<lowercased username>`: who holds a username. Usernames are unique in the
 *   instance and compared case-insensitively; the first `username.claimed` is appended with
 *   'no_stream', so of two concurrent claims exactly one wins.
 */

export const INSTANCE_STREAM = 'instance-default';
export const orgStream = (orgId: string) => `org-${orgId}`;
export const usernameStream = (username: string) => `username-${normalizeUsername(username)}`;

/** How usernames are compared: trimmed, lower case (ZITADEL compares them case-insensitively). */
export const normalizeUsername = (username: string) => username.trim().toLowerCase();

export const OrgEventType = {
  InstanceAdded: 'instance.added',
  OrgAdded: 'org.added',
  UsernameClaimed: 'username.claimed',
  UsernameReleased: 'username.released',
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

/** `username` is the name as the user wrote it (the stream name holds the compared form). */
export interface UsernameClaimed {
  type: typeof OrgEventType.UsernameClaimed;
  data: { userId: string; username: string };
}

/** The holder gave the name back (its user could not be created, or later: was renamed or removed). */
export interface UsernameReleased {
  type: typeof OrgEventType.UsernameReleased;
  data: { userId: string };
}

export type OrgEvent = InstanceAdded | OrgAdded | UsernameClaimed | UsernameReleased;
