import { Inject } from '@nestjs/common';
import { QueryHandler, type IQueryHandler } from '@nestjs/cqrs';
import { SQL_DATABASE, type SqlDatabase } from '../../../libs/database/src/index.js';
import { compareAuthMethodTypes, type AuthMethodTypesView } from '../user-view.js';
import { LIST_AUTH_METHODS_MISSING_ID, ListAuthMethodTypesQuery } from './list-auth-method-types.query.js';
import { loadUserForCaller } from './load-user.js';

@QueryHandler(ListAuthMethodTypesQuery)
export class ListAuthMethodTypesHandler implements IQueryHandler<ListAuthMethodTypesQuery> {
  constructor(@Inject(SQL_DATABASE) private readonly database: SqlDatabase) {}

  async execute({ input }: ListAuthMethodTypesQuery): Promise<AuthMethodTypesView> {
    const user = await loadUserForCaller(this.database.db, input.userId, input.caller, LIST_AUTH_METHODS_MISSING_ID);
    const types = [...new Set(user.auth_method_types)].sort(compareAuthMethodTypes);
    return {
      details: { totalResult: types.length, processedSequence: Number(user.sequence), timestamp: user.change_date },
      types,
    };
  }
}
