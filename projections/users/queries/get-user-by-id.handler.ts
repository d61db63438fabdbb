import { Inject } from '@nestjs/common';
import { QueryHandler, type IQueryHandler } from '@nestjs/cqrs';
import { SQL_DATABASE, type SqlDatabase } from '#database';
import { usersReadModelDb } from '../schema.js';
import { detailsOf, toProjectedUser, type UserView } from '../user-view.js';
import { GET_USER_MISSING_ID, GetUserByIdQuery } from './get-user-by-id.query.js';
import { loadUserForCaller, requireUserId } from './load-user.js';
import { USER_READ_YOUR_WRITES, type UserReadYourWrites } from './read-your-writes.js';

/** Waits (read-your-writes, ≤ 2 s) for the active version to pass the store's head as of the request, then reads it. */
@QueryHandler(GetUserByIdQuery)
export class GetUserByIdHandler implements IQueryHandler<GetUserByIdQuery> {
  constructor(
    @Inject(SQL_DATABASE) private readonly database: SqlDatabase,
    @Inject(USER_READ_YOUR_WRITES) private readonly consistency: UserReadYourWrites,
  ) {}

  async execute({ input }: GetUserByIdQuery): Promise<UserView> {
    requireUserId(input.userId, GET_USER_MISSING_ID);
    const { version } = await this.consistency.settle('GetUserByID');
    const row = await loadUserForCaller(usersReadModelDb(this.database.db, version), input.userId, input.caller, GET_USER_MISSING_ID);
    return { details: detailsOf(row), user: toProjectedUser(row) };
  }
}
