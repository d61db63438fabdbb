import { Inject } from '@nestjs/common';
import { QueryHandler, type IQueryHandler } from '@nestjs/cqrs';
import { SQL_DATABASE, type SqlDatabase } from '#database';
import { usersReadModelDb } from '../schema.js';
import { compareAuthMethodTypes, type AuthMethodTypesView } from '../user-view.js';
import { LIST_AUTH_METHODS_MISSING_ID, ListAuthMethodTypesQuery } from './list-auth-method-types.query.js';
import { loadUserForCaller, requireUserId } from './load-user.js';
import { USER_READ_YOUR_WRITES, type UserReadYourWrites } from './read-your-writes.js';

/** Waits (read-your-writes, ≤ 2 s) for the active version to pass the store's head as of the request, then reads it. */
@QueryHandler(ListAuthMethodTypesQuery)
export class ListAuthMethodTypesHandler implements IQueryHandler<ListAuthMethodTypesQuery> {
  constructor(
    @Inject(SQL_DATABASE) private readonly database: SqlDatabase,
    @Inject(USER_READ_YOUR_WRITES) private readonly consistency: UserReadYourWrites,
  ) {}

  async execute({ input }: ListAuthMethodTypesQuery): Promise<AuthMethodTypesView> {
    requireUserId(input.userId, LIST_AUTH_METHODS_MISSING_ID);
    const { version } = await this.consistency.settle('ListAuthenticationMethodTypes');
    const user = await loadUserForCaller(usersReadModelDb(this.database.db, version), input.userId, input.caller, LIST_AUTH_METHODS_MISSING_ID);
    const types = [...new Set(user.auth_method_types)].sort(compareAuthMethodTypes);
    return {
      details: { totalResult: types.length, processedSequence: Number(user.sequence), timestamp: user.change_date },
      types,
    };
  }
}
