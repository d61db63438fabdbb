import { INSTANCE_ROLES, rolePermissions, type Permission, type Role, type RolePermissionTable } from './role-permissions.js';

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

/**
 * Whether the caller holds `permission` on `orgId` (the organization that owns the target).
 * An instance-wide role (IAM_*) counts everywhere; an organization role counts only in that
 * organization. Acting on oneself is decided by the caller of this function, not here.
 */
export function hasPermission(caller: Caller, permission: Permission, orgId: string | undefined, table: RolePermissionTable = rolePermissions()): boolean {
  return caller.roles.some((grant) => {
    if (!table[grant.role]?.includes(permission)) return false;
    if (INSTANCE_ROLES.includes(grant.role)) return true;
    return orgId !== undefined && grant.orgId === orgId;
  });
}
