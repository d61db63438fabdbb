import { afterEach, describe, expect, it } from '@jest/globals';
import { hasPermission, type Caller, type RoleGrant } from './caller.js';
import { requirePermission } from './require-permission.js';
import { DEFAULT_ROLE_PERMISSIONS, INSTANCE_ROLES, PERMISSIONS, ROLES, parseRolePermissions, useRolePermissions, type Permission, type Role } from './role-permissions.js';

const ORG = 'org-a';
const OTHER = 'org-b';
const as = (...roles: RoleGrant[]): Caller => ({ userId: 'u', orgId: ORG, instanceId: 'i', kind: 'machine', roles });
const grant = (role: Role): RoleGrant => (INSTANCE_ROLES.includes(role) ? { role } : { role, orgId: ORG });
const held = (caller: Caller, orgId: string | undefined) => PERMISSIONS.filter((p) => hasPermission(caller, p, orgId));

// ZITADEL's cmd/defaults.yaml InternalAuthZ.RolePermissionMappings, the permissions checked here.
const ZITADEL: Record<Role, Permission[]> = {
  IAM_OWNER: ['iam.read', 'iam.write', 'org.read', 'org.write', 'user.read', 'user.global.read', 'user.write', 'user.delete', 'user.credential.write', 'session.read', 'session.write', 'session.delete'],
  IAM_OWNER_VIEWER: ['iam.read', 'org.read', 'user.read', 'user.global.read', 'session.read'],
  IAM_ORG_MANAGER: ['org.read', 'org.write', 'user.read', 'user.global.read', 'user.write', 'user.delete', 'user.credential.write', 'session.read', 'session.delete'],
  IAM_USER_MANAGER: ['org.read', 'user.read', 'user.global.read', 'user.write', 'user.delete', 'session.read', 'session.delete'],
  IAM_LOGIN_CLIENT: ['iam.read', 'org.read', 'user.read', 'user.write', 'user.credential.write', 'session.read', 'session.write', 'session.delete', 'session.link'],
  ORG_OWNER: ['org.read', 'org.write', 'user.read', 'user.global.read', 'user.write', 'user.delete', 'user.credential.write', 'session.read', 'session.delete'],
  ORG_OWNER_VIEWER: ['org.read', 'user.read', 'user.global.read'],
  ORG_USER_MANAGER: ['org.read', 'user.read', 'user.global.read', 'user.write', 'user.delete', 'session.read', 'session.delete'],
};

afterEach(() => useRolePermissions(undefined));

describe('the role table (hasPermission)', () => {
  it.each(ROLES.map((role) => [role]))('%s holds ZITADEL\'s permissions, where the role holds', (role) => {
    const caller = as(grant(role));
    const expected = PERMISSIONS.filter((p) => ZITADEL[role].includes(p));
    expect(held(caller, ORG)).toEqual(expected);
    // instance roles count in every organization and on the instance; organization roles only in theirs
    expect(held(caller, OTHER)).toEqual(role.startsWith('IAM_') ? expected : []);
    expect(held(caller, undefined)).toEqual(role.startsWith('IAM_') ? expected : []);
  });

  it('no role, no permission; roles add up', () => {
    expect(held(as(), ORG)).toEqual([]);
    const both = as({ role: 'ORG_OWNER', orgId: ORG }, { role: 'IAM_LOGIN_CLIENT' });
    expect(hasPermission(both, 'user.delete', ORG)).toBe(true);
    expect(hasPermission(both, 'user.delete', OTHER)).toBe(false);
    expect(hasPermission(both, 'session.write', OTHER)).toBe(true);
  });

  it('requirePermission throws PermissionDenied AUTH-AWfge', () => {
    expect(() => requirePermission(as(), 'user.read', ORG)).toThrow(expect.objectContaining({ kind: 'PermissionDenied', id: 'AUTH-AWfge' }));
    expect(() => requirePermission(as({ role: 'IAM_OWNER' }), 'iam.write', undefined)).not.toThrow();
  });
});

describe('replacing the table (ROLE_PERMISSIONS)', () => {
  it('reads ZITADEL\'s shape; roles left out hold nothing', () => {
    const table = parseRolePermissions('[{"Role": "ORG_USER_MANAGER", "Permissions": ["user.read", "user.credential.write"]}, {"role": "IAM_OWNER", "permissions": []}]');
    expect(table.ORG_USER_MANAGER).toEqual(['user.read', 'user.credential.write']);
    expect(table.IAM_LOGIN_CLIENT).toEqual([]);
    useRolePermissions(table);
    expect(held(as({ role: 'ORG_USER_MANAGER', orgId: ORG }), ORG)).toEqual(['user.read', 'user.credential.write']);
    expect(held(as({ role: 'IAM_OWNER' }), ORG)).toEqual([]);
    useRolePermissions(undefined);
    expect(held(as({ role: 'IAM_OWNER' }), ORG)).toEqual(ZITADEL.IAM_OWNER.filter((p) => PERMISSIONS.includes(p)).sort((a, b) => PERMISSIONS.indexOf(a) - PERMISSIONS.indexOf(b)));
  });

  it.each([
    ['{', /expected JSON/],
    ['{"role": "IAM_OWNER"}', /JSON list/],
    ['[1]', /entry 0: expected an object/],
    ['[{"role": "SUPER_USER", "permissions": []}]', /"SUPER_USER" is not a role/],
    ['[{"role": "IAM_OWNER", "permissions": []}, {"role": "IAM_OWNER", "permissions": []}]', /IAM_OWNER appears twice/],
    ['[{"role": "IAM_OWNER", "permissions": "user.read"}]', /must be a list of permission names/],
    ['[{"role": "IAM_OWNER", "permissions": [""]}]', /must be a list of permission names/],
  ])('refuses %s', (json, message) => {
    expect(() => parseRolePermissions(json)).toThrow(message);
  });

  it('the defaults are the table above', () => {
    for (const role of ROLES) expect([...DEFAULT_ROLE_PERMISSIONS[role]].sort()).toEqual([...ZITADEL[role]].sort());
  });
});
