import { Query } from '@nestjs/cqrs';
import type { Caller } from '#access';
import type { ListDetails, ProjectedUser } from '../user-view.js';

/** ZITADEL's TextQueryMethod: how a text filter compares (case-insensitive variants ignore case on both sides). */
export type TextMethod =
  | 'equals'
  | 'equalsIgnoreCase'
  | 'startsWith'
  | 'startsWithIgnoreCase'
  | 'contains'
  | 'containsIgnoreCase'
  | 'endsWith'
  | 'endsWithIgnoreCase';

/** The text fields a filter may compare. `loginName` is the username: the only login name a user has here. */
export type UserTextField = 'username' | 'loginName' | 'email' | 'givenName' | 'familyName' | 'nickName' | 'displayName';

/** ListUsers' search queries in read-model terms; `and`, `or` and `not` nest them. */
export type UserFilter =
  | { text: UserTextField; value: string; method: TextMethod }
  | { orgId: string }
  /** A kind no user has (ZITADEL's TYPE_UNSPECIFIED) matches nothing. */
  | { kind: string }
  /** A state no user is in (e.g. 'inactive', never projected here) matches nothing. */
  | { state: string }
  | { ids: readonly string[] }
  | { emails: readonly string[] }
  | { and: readonly UserFilter[] }
  | { or: readonly UserFilter[] }
  | { not: UserFilter };

export type UserSortColumn = 'id' | 'username' | 'givenName' | 'familyName' | 'nickName' | 'displayName' | 'email' | 'state' | 'kind' | 'creationDate';

export interface ListUsersInput {
  caller: Caller;
  /** Combined with `and`, as ZITADEL combines a request's queries. */
  filters: readonly UserFilter[];
  offset: number;
  /** 0: no limit, as in ZITADEL. */
  limit: number;
  asc: boolean;
  sortBy: UserSortColumn;
}

export interface UserListView {
  details: ListDetails;
  users: ProjectedUser[];
}

/**
 * ZITADEL's ListUsers from the users read model: only users the caller may read (`user.read`
 * on the user's organization, or the caller itself) are matched, counted and paged, as with
 * ZITADEL's permission check in the query. `details.totalResult` is the number of matching
 * users before paging; `processedSequence` and `timestamp` are the highest sequence and latest
 * change among them (0 and the query's time when none match).
 */
export class ListUsersQuery extends Query<UserListView> {
  constructor(readonly input: ListUsersInput) {
    super();
  }
}
