import { Query } from '@nestjs/cqrs';
import type { Caller } from '#access';
import type { UserView } from '../user-view.js';

export interface GetUserByIdInput {
  userId: string;
  caller: Caller;
}

/** ZITADEL's GetUserByID, from the user read model. */
export class GetUserByIdQuery extends Query<UserView> {
  constructor(readonly input: GetUserByIdInput) {
    super();
  }
}

/** Error id for an empty user id. */
export const GET_USER_MISSING_ID = 'QUERY-4Fd2s';
