import { describe, expect, it } from '@jest/globals';
import { hasPermission, type Caller, type Permission, type RoleGrant } from './caller.js';
import { requirePermission } from './require-permission.js';

const ORG = 'org-a';
const OTHER = 'org-b';
const as = (...roles: RoleGrant[]): Caller => ({ userId: 'u', orgId: ORG, instanceId: 'i', kind: 'machine', roles });

describe('permissions by role (hasPermission)', () => {
  const all: Permission[] = ['user.read', 'user.write', 'user.credential.write', 'session.read', 'session.write', 'org.write', 'iam.write'];

  it('IAM_OWNER holds everything, everywhere, also on the instance itself', () => {
    const owner = as({ role: 'IAM_OWNER' });
    for (const p of all) for (const org of [ORG, OTHER, undefined]) expect(hasPermission(owner, p, org)).toBe(true);
  });

  it('ORG_OWNER holds everything but iam.write, in its organization only', () => {
    const owner = as({ role: 'ORG_OWNER', orgId: ORG });
    for (const p of all) {
      expect(hasPermission(owner, p, ORG)).toBe(p !== 'iam.write');
      expect(hasPermission(owner, p, OTHER)).toBe(false);
      expect(hasPermission(owner, p, undefined)).toBe(false);
    }
  });

  it('ORG_USER_MANAGER manages users of its organization', () => {
    const manager = as({ role: 'ORG_USER_MANAGER', orgId: ORG });
    expect(all.filter((p) => hasPermission(manager, p, ORG))).toEqual(['user.read', 'user.write', 'user.credential.write']);
    expect(all.filter((p) => hasPermission(manager, p, OTHER))).toEqual([]);
  });

  it('IAM_LOGIN_CLIENT reads users and runs sessions everywhere', () => {
    const login = as({ role: 'IAM_LOGIN_CLIENT' });
    for (const org of [ORG, OTHER, undefined]) {
      expect(all.filter((p) => hasPermission(login, p, org))).toEqual(['user.read', 'session.read', 'session.write']);
    }
  });

  it('no role, no permission; roles add up', () => {
    expect(all.some((p) => hasPermission(as(), p, ORG))).toBe(false);
    const both = as({ role: 'ORG_USER_MANAGER', orgId: ORG }, { role: 'IAM_LOGIN_CLIENT' });
    expect(hasPermission(both, 'user.write', ORG)).toBe(true);
    expect(hasPermission(both, 'session.write', OTHER)).toBe(true);
    expect(hasPermission(both, 'user.write', OTHER)).toBe(false);
  });

  it('requirePermission throws PermissionDenied AUTH-AWfge', () => {
    expect(() => requirePermission(as(), 'user.read', ORG)).toThrow(expect.objectContaining({ kind: 'PermissionDenied', id: 'AUTH-AWfge' }));
    expect(() => requirePermission(as({ role: 'IAM_OWNER' }), 'iam.write', undefined)).not.toThrow();
  });
});
