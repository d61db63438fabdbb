/** Roles as ZITADEL names them; each grants the permissions below. */
export type Role = 'IAM_OWNER' | 'ORG_OWNER' | 'ORG_USER_MANAGER' | 'IAM_LOGIN_CLIENT';
export const ROLES: readonly Role[] = ['IAM_OWNER', 'ORG_OWNER', 'ORG_USER_MANAGER', 'IAM_LOGIN_CLIENT'];

export type Permission =
  | 'user.read'
  | 'user.write'
  | 'user.credential.write'
  | 'session.read'
  | 'session.write'
  | 'org.write'
  | 'iam.write';

/** A role held by a user: on one organization, or (orgId undefined) on the whole instance. */
export interface RoleGrant {
  role: Role;
  orgId?: string;
}

/** Who is calling: resolved from the bearer token before any command runs. */
export interface Caller {
  userId: string;
  /** The caller's own organization (resource owner). */
  orgId: string;
  instanceId: string;
  kind: 'human' | 'machine';
  roles: readonly RoleGrant[];
}

const ALL: readonly Permission[] = ['user.read', 'user.write', 'user.credential.write', 'session.read', 'session.write', 'org.write', 'iam.write'];

const GRANTS: Record<Role, { permissions: readonly Permission[]; everywhere: boolean }> = {
  IAM_OWNER: { permissions: ALL, everywhere: true },
  ORG_OWNER: { permissions: ALL.filter((p) => p !== 'iam.write'), everywhere: false },
  ORG_USER_MANAGER: { permissions: ['user.read', 'user.write', 'user.credential.write'], everywhere: false },
  IAM_LOGIN_CLIENT: { permissions: ['user.read', 'session.read', 'session.write'], everywhere: true },
};

/**
 * Whether the caller holds `permission` on `orgId` (the organization that owns the target).
 * An instance-wide role counts everywhere; an organization role counts only in that
 * organization. Acting on oneself is decided by the caller of this function, not here.
 */
export function hasPermission(caller: Caller, permission: Permission, orgId: string | undefined): boolean {
  return caller.roles.some((grant) => {
    const { permissions, everywhere } = GRANTS[grant.role];
    if (!permissions.includes(permission)) return false;
    if (everywhere) return true;
    return orgId !== undefined && grant.orgId === orgId;
  });
}
