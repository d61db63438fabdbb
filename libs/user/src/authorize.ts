import { hasPermission, type Caller, type Permission } from '#access';
import { notFound, permissionDenied } from '#errors';
import type { UserState } from './user-state.js';

/**
 * ZITADEL's checkPermissionOnUser: acting on oneself needs nothing (unless one was deleted); otherwise the user must
 * exist (else NotFound, as ZITADEL's resource-owner lookup answers) and the caller must hold
 * the permission on the user's organization.
 */
export function authorizeOnUser(caller: Caller, userId: string, state: UserState, permission: Permission): void {
  // A deleted user is gone for everyone, itself included (its token may have been checked just before).
  if (state.removed) throw notFound('COMMAND-4g3xq', 'Errors.NotFound');
  if (caller.userId === userId) return;
  if (!state.exists) throw notFound('COMMAND-4g3xq', 'Errors.NotFound');
  if (!hasPermission(caller, permission, state.orgId)) throw permissionDenied('AUTH-AWfge', 'Errors.Permission.Denied');
}
