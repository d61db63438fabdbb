/**
 * The one table of roles and what they may do: ZITADEL's default InternalAuthZ
 * RolePermissionMappings (cmd/defaults.yaml), cut to the permissions this service checks.
 * Operators replace it as a whole with ROLE_PERMISSIONS (JSON, ZITADEL's shape), as
 * ZITADEL_INTERNALAUTHZ_ROLEPERMISSIONMAPPINGS does: a role left out of the replacement
 * then has no permission at all.
 */

/** The roles this service grants, as ZITADEL names them. IAM_* hold on the whole instance, ORG_* on one organization. */
export const ROLES = [
  'IAM_OWNER',
  'IAM_OWNER_VIEWER',
  'IAM_ORG_MANAGER',
  'IAM_USER_MANAGER',
  'IAM_LOGIN_CLIENT',
  'ORG_OWNER',
  'ORG_OWNER_VIEWER',
  'ORG_USER_MANAGER',
] as const;
export type Role = (typeof ROLES)[number];

/** Roles granted on the instance (without an organization); they count in every organization. */
export const INSTANCE_ROLES: readonly Role[] = ROLES.filter((role) => role.startsWith('IAM_'));

export const isRole = (value: unknown): value is Role => typeof value === 'string' && (ROLES as readonly string[]).includes(value);

/** The permissions some method here checks. */
export const PERMISSIONS = [
  'iam.read',
  'iam.write',
  'org.read',
  'org.write',
  'user.read',
  'user.global.read',
  'user.write',
  'user.delete',
  'user.credential.write',
  'session.read',
  'session.write',
  'session.delete',
  'session.link',
] as const;
export type Permission = (typeof PERMISSIONS)[number];

export type RolePermissionTable = Readonly<Record<Role, readonly string[]>>;

/**
 * ZITADEL's defaults for these roles and permissions, row by row. `org.write` and `iam.write`
 * are ZITADEL's too; here they guard the operators' routes (creating organizations, handing
 * out roles).
 */
export const DEFAULT_ROLE_PERMISSIONS: RolePermissionTable = {
  IAM_OWNER: ['iam.read', 'iam.write', 'org.read', 'org.write', 'user.read', 'user.global.read', 'user.write', 'user.delete', 'user.credential.write', 'session.read', 'session.write', 'session.delete'],
  IAM_OWNER_VIEWER: ['iam.read', 'org.read', 'user.read', 'user.global.read', 'session.read'],
  IAM_ORG_MANAGER: ['org.read', 'org.write', 'user.read', 'user.global.read', 'user.write', 'user.delete', 'user.credential.write', 'session.read', 'session.delete'],
  IAM_USER_MANAGER: ['org.read', 'user.read', 'user.global.read', 'user.write', 'user.delete', 'session.read', 'session.delete'],
  IAM_LOGIN_CLIENT: ['iam.read', 'org.read', 'user.read', 'user.write', 'user.credential.write', 'session.read', 'session.write', 'session.link', 'session.delete'],
  ORG_OWNER: ['org.read', 'org.write', 'user.read', 'user.global.read', 'user.write', 'user.delete', 'user.credential.write', 'session.read', 'session.delete'],
  ORG_OWNER_VIEWER: ['org.read', 'user.read', 'user.global.read'],
  ORG_USER_MANAGER: ['org.read', 'user.read', 'user.global.read', 'user.write', 'user.delete', 'session.read', 'session.delete'],
};

let active: RolePermissionTable = DEFAULT_ROLE_PERMISSIONS;

/** The table in force: the defaults, or what the configuration set at start-up. */
export const rolePermissions = (): RolePermissionTable => active;

/** Set once at start-up, from the configuration; `undefined` restores the defaults. */
export function useRolePermissions(table: RolePermissionTable | undefined): void {
  active = table ?? DEFAULT_ROLE_PERMISSIONS;
}

/**
 * Reads ZITADEL's configuration shape, `[{"role": "IAM_OWNER", "permissions": ["iam.write"]}, …]`
 * (keys case-insensitive, as ZITADEL's config loader reads `Role`/`Permissions`). Throws an
 * Error naming the problem: not JSON, not a list, a role this service does not know, a role
 * twice, permissions that are not a list of non-empty strings.
 */
export function parseRolePermissions(json: string): RolePermissionTable {
  let parsed: unknown;
  try {
    parsed = JSON.parse(json);
  } catch {
    throw new Error('expected JSON such as [{"role": "IAM_OWNER", "permissions": ["user.read"]}]');
  }
  if (!Array.isArray(parsed)) throw new Error('expected a JSON list of {"role", "permissions"} objects');
  const table = Object.fromEntries(ROLES.map((role) => [role, [] as string[]])) as Record<Role, string[]>;
  const seen = new Set<string>();
  parsed.forEach((entry: unknown, index) => {
    const fields = typeof entry === 'object' && entry !== null && !Array.isArray(entry) ? Object.fromEntries(Object.entries(entry).map(([k, v]) => [k.toLowerCase(), v])) : undefined;
    if (!fields) throw new Error(`entry ${index}: expected an object with "role" and "permissions"`);
    const role = fields['role'];
    if (!isRole(role)) throw new Error(`entry ${index}: "${String(role)}" is not a role; use one of ${ROLES.join(', ')}`);
    if (seen.has(role)) throw new Error(`entry ${index}: ${role} appears twice`);
    seen.add(role);
    const permissions = fields['permissions'];
    if (!Array.isArray(permissions) || permissions.some((p) => typeof p !== 'string' || p.trim() === '')) {
      throw new Error(`entry ${index} (${role}): "permissions" must be a list of permission names`);
    }
    table[role] = permissions.map((p: string) => p.trim());
  });
  return table;
}
