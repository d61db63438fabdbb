import { Inject } from '@nestjs/common';
import { QueryHandler, type IQueryHandler } from '@nestjs/cqrs';
import { SQL_DATABASE, type SqlDatabase } from '../../../libs/database/src/index.js';
import { detailsOf, toProjectedUser, type UserView } from '../user-view.js';
import { GET_USER_MISSING_ID, GetUserByIdQuery } from './get-user-by-id.query.js';
import { loadUserForCaller } from './load-user.js';

@QueryHandler(GetUserByIdQuery)
export class GetUserByIdHandler implements IQueryHandler<GetUserByIdQuery> {
  constructor(@Inject(SQL_DATABASE) private readonly database: SqlDatabase) {}

  async execute({ input }: GetUserByIdQuery): Promise<UserView> {
    const row = await loadUserForCaller(this.database.db, input.userId, input.caller, GET_USER_MISSING_ID);
    return { details: detailsOf(row), user: toProjectedUser(row) };
  }
}
