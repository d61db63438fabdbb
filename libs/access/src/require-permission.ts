import { permissionDenied } from '#errors';
import { hasPermission, type Caller } from './caller.js';
import type { Permission } from './role-permissions.js';

/**
 * Throws PermissionDenied `AUTH-AWfge` (ZITADEL's id) unless the caller holds `permission` on
 * `orgId` (undefined: on the instance, which only instance-wide roles grant).
 */
export function requirePermission(caller: Caller, permission: Permission, orgId: string | undefined): void {
  if (!hasPermission(caller, permission, orgId)) throw permissionDenied('AUTH-AWfge', 'Errors.Permission.Denied');
}
