import { Inject } from '@nestjs/common';
import { QueryHandler, type IQueryHandler } from '@nestjs/cqrs';
import { hasPermission } from '#access';
import { SQL_DATABASE, type SqlDatabase } from '#database';
import { permissionDenied } from '#errors';
import { CLOCK, type Clock } from '#kernel';
import { usersReadModelDb } from '../schema.js';
import { compareAuthMethodTypes, type AuthMethodTypesView } from '../user-view.js';
import { LIST_AUTH_METHODS_MISSING_ID, ListAuthMethodTypesQuery } from './list-auth-method-types.query.js';
import { loadUserWithAuthMethods, requireUserId } from './load-user.js';
import { USER_READ_YOUR_WRITES, type UserReadYourWrites } from './read-your-writes.js';

/**
 * Checks the caller as ZITADEL does, before anything is read; then waits (read-your-writes,
 * ≤ 2 s) for the active version to pass the store's head as of the request, and reads it.
 */
@QueryHandler(ListAuthMethodTypesQuery)
export class ListAuthMethodTypesHandler implements IQueryHandler<ListAuthMethodTypesQuery> {
  constructor(
    @Inject(SQL_DATABASE) private readonly database: SqlDatabase,
    @Inject(USER_READ_YOUR_WRITES) private readonly consistency: UserReadYourWrites,
    @Inject(CLOCK) private readonly clock: Clock,
  ) {}

  async execute({ input }: ListAuthMethodTypesQuery): Promise<AuthMethodTypesView> {
    requireUserId(input.userId, LIST_AUTH_METHODS_MISSING_ID);
    // The organization of the request (x-zitadel-orgid, else the caller's own) decides, not the
    // user's: the user is not read before the check, so the answer tells nothing to a caller
    // without the permission.
    const requestOrgId = input.requestOrgId ?? input.caller.orgId;
    if (input.caller.userId !== input.userId && !hasPermission(input.caller, 'user.read', requestOrgId)) {
      throw permissionDenied('AUTH-AWfge', 'Errors.Permission.Denied');
    }
    const { version } = await this.consistency.settle('ListAuthenticationMethodTypes');
    const user = await loadUserWithAuthMethods(usersReadModelDb(this.database.db, version), input.userId);
    if (!user) return { details: { totalResult: 0, processedSequence: 0, timestamp: this.clock.now() }, types: [] };
    const types = [...new Set(user.auth_method_types)].sort(compareAuthMethodTypes);
    return {
      details: { totalResult: types.length, processedSequence: Number(user.sequence), timestamp: user.change_date },
      types,
    };
  }
}
