import { sql, type Kysely } from 'kysely';
import { hasPermission, type Caller } from '#access';
import { invalidArgument, notFound, permissionDenied } from '#errors';
import type { UserRow, UsersReadModel } from '../schema.js';

export interface LoadedUser extends UserRow {
  /** The user's READY factor types, read in the same statement as the row (so they match its sequence). */
  auth_method_types: string[];
}

/** An empty id is InvalidArgument, before any wait or read. */
export function requireUserId(userId: string, missingIdErrorId: string): void {
  if (!userId) throw invalidArgument(missingIdErrorId, 'Errors.User.UserIDMissing');
}

/** The user's row with its READY factor types, read in one statement; undefined when there is no such user. */
export async function loadUserWithAuthMethods(db: Kysely<UsersReadModel>, userId: string): Promise<LoadedUser | undefined> {
  return db
    .selectFrom('users as u')
    .selectAll('u')
    .select((eb) =>
      eb.fn
        .coalesce(
          eb
            .selectFrom('user_auth_methods as m')
            .select((inner) => inner.fn.agg<string[]>('array_agg', ['m.method_type']).as('types'))
            .whereRef('m.user_id', '=', 'u.id'),
          sql<string[]>`'{}'`,
        )
        .as('auth_method_types'),
    )
    .where('u.id', '=', userId)
    .executeTakeFirst();
}

/**
 * GetUserByID's check, in ZITADEL's order: an empty id is InvalidArgument, an unknown user
 * NotFound, then the caller must be the user or hold `user.read` on the user's organization.
 */
export async function loadUserForCaller(db: Kysely<UsersReadModel>, userId: string, caller: Caller, missingIdErrorId: string): Promise<LoadedUser> {
  requireUserId(userId, missingIdErrorId);
  const row = await loadUserWithAuthMethods(db, userId);
  if (!row) throw notFound('QUERY-Dfbg2', 'Errors.User.NotFound');
  if (caller.userId !== userId && !hasPermission(caller, 'user.read', row.org_id)) {
    throw permissionDenied('AUTH-AWfge', 'Errors.Permission.Denied');
  }
  return row;
}
