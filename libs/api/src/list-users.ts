import type { HandlerContext } from '@connectrpc/connect';
import type { QueryBus } from '@nestjs/cqrs';
import { timestampFromDate } from '@bufbuild/protobuf/wkt';
import { TextQueryMethod } from '@zitadel/proto/zitadel/object/v2/object_pb.js';
import { Type, UserFieldName, type SearchQuery } from '@zitadel/proto/zitadel/user/v2/query_pb.js';
import { UserState } from '@zitadel/proto/zitadel/user/v2/user_pb.js';
import type { ListUsersRequest } from '@zitadel/proto/zitadel/user/v2/user_service_pb.js';
import { DomainError, invalidArgument } from '#errors';
import { ListUsersQuery, type ProjectedUser, type TextMethod, type UserFilter, type UserSortColumn } from '#projections/users';
import type { ObjectDetails } from '#kernel';
import { callerOf } from './transport/caller-context.js';

/** ZITADEL refuses queries nested deeper than this. */
const MAX_NESTING = 20;

const TEXT_METHODS: Record<TextQueryMethod, TextMethod> = {
  [TextQueryMethod.EQUALS]: 'equals',
  [TextQueryMethod.EQUALS_IGNORE_CASE]: 'equalsIgnoreCase',
  [TextQueryMethod.STARTS_WITH]: 'startsWith',
  [TextQueryMethod.STARTS_WITH_IGNORE_CASE]: 'startsWithIgnoreCase',
  [TextQueryMethod.CONTAINS]: 'contains',
  [TextQueryMethod.CONTAINS_IGNORE_CASE]: 'containsIgnoreCase',
  [TextQueryMethod.ENDS_WITH]: 'endsWith',
  [TextQueryMethod.ENDS_WITH_IGNORE_CASE]: 'endsWithIgnoreCase',
};
// An enum value this code does not know compares as EQUALS, as ZITADEL's TextMethodToQuery does.
const textMethod = (method: TextQueryMethod): TextMethod => TEXT_METHODS[method] ?? 'equals';

const SORT_COLUMNS: Record<UserFieldName, UserSortColumn> = {
  [UserFieldName.UNSPECIFIED]: 'id',
  [UserFieldName.USER_NAME]: 'username',
  [UserFieldName.FIRST_NAME]: 'givenName',
  [UserFieldName.LAST_NAME]: 'familyName',
  [UserFieldName.NICK_NAME]: 'nickName',
  [UserFieldName.DISPLAY_NAME]: 'displayName',
  [UserFieldName.EMAIL]: 'email',
  [UserFieldName.STATE]: 'state',
  [UserFieldName.TYPE]: 'kind',
  [UserFieldName.CREATION_DATE]: 'creationDate',
};

/** The read model's states by ZITADEL's UserState; any other state is one no user here is in. */
const STATES: Partial<Record<UserState, string>> = { [UserState.ACTIVE]: 'active', [UserState.LOCKED]: 'locked' };
const KINDS: Partial<Record<Type, string>> = { [Type.HUMAN]: 'human', [Type.MACHINE]: 'machine' };

/** A value no row holds: a filter on it matches nothing, as ZITADEL's does for a state or type its users never have. */
const NONE = '\u0000none';

/** zitadel.user.v2.SearchQuery → UserFilter; an empty query is InvalidArgument `GRPC-vR9nC` and nesting deeper than 20 `USER-zsQ97`, as in ZITADEL. */
export function toUserFilter(query: SearchQuery, level = 0): UserFilter {
  if (level > MAX_NESTING) throw invalidArgument('USER-zsQ97', 'Errors.Query.TooManyNestingLevels');
  const q = query.query;
  switch (q.case) {
    case 'userNameQuery':
      return { text: 'username', value: q.value.userName, method: textMethod(q.value.method) };
    case 'loginNameQuery':
      return { text: 'loginName', value: q.value.loginName, method: textMethod(q.value.method) };
    case 'emailQuery':
      return { text: 'email', value: q.value.emailAddress, method: textMethod(q.value.method) };
    case 'firstNameQuery':
      return { text: 'givenName', value: q.value.firstName, method: textMethod(q.value.method) };
    case 'lastNameQuery':
      return { text: 'familyName', value: q.value.lastName, method: textMethod(q.value.method) };
    case 'nickNameQuery':
      return { text: 'nickName', value: q.value.nickName, method: textMethod(q.value.method) };
    case 'displayNameQuery':
      return { text: 'displayName', value: q.value.displayName, method: textMethod(q.value.method) };
    case 'organizationIdQuery':
      return { orgId: q.value.organizationId };
    case 'stateQuery':
      return { state: STATES[q.value.state] ?? NONE };
    case 'typeQuery':
      return { kind: KINDS[q.value.type] ?? NONE };
    case 'inUserIdsQuery':
      return { ids: q.value.userIds };
    case 'inUserEmailsQuery':
      return { emails: q.value.userEmails };
    case 'andQuery':
      return { and: q.value.queries.map((inner) => toUserFilter(inner, level + 1)) };
    case 'orQuery':
      return { or: q.value.queries.map((inner) => toUserFilter(inner, level + 1)) };
    case 'notQuery':
      if (!q.value.query) throw invalidArgument('GRPC-vR9nC', 'List.Query.Invalid');
      return { not: toUserFilter(q.value.query, level + 1) };
    case 'phoneQuery':
      // Users have no phone numbers here: no phone query can be answered as ZITADEL would.
      throw new DomainError('Unimplemented', 'USER-PhoneUnimpl', 'Errors.User.PhoneQueryUnimplemented');
    default:
      throw invalidArgument('GRPC-vR9nC', 'List.Query.Invalid');
  }
}

/**
 * `zitadel.user.v2.UserService.ListUsers` (`POST /v2/users`) for the UserService
 * implementation: the request's queries, paging and sorting → ListUsersQuery on the read
 * model; its answer → ListUsersResponse (details.totalResult before paging), each user mapped
 * by `toProtoUser`, the mapping GetUserByID answers with.
 */
export function listUsersMethod<User>(queries: QueryBus, toProtoUser: (user: ProjectedUser, details: ObjectDetails) => User) {
  return async (req: ListUsersRequest, ctx: HandlerContext) => {
    const offset = req.query?.offset ?? 0n;
    // PostgreSQL's OFFSET is a signed 64-bit integer and a JavaScript number is exact only to
    // 2^53: an offset beyond that can only be a mistake, and must not reach the database.
    if (offset > BigInt(Number.MAX_SAFE_INTEGER)) throw invalidArgument('QUERY-OffRg', 'Errors.Query.OffsetTooLarge');
    const filters = req.queries.map((query) => toUserFilter(query));
    const view = await queries.execute(
      new ListUsersQuery({
        caller: callerOf(ctx),
        filters,
        offset: Number(offset),
        limit: req.query?.limit ?? 0,
        asc: req.query?.asc ?? false,
        sortBy: SORT_COLUMNS[req.sortingColumn] ?? 'id',
      }),
    );
    return {
      details: {
        totalResult: BigInt(view.details.totalResult),
        processedSequence: BigInt(view.details.processedSequence),
        timestamp: timestampFromDate(view.details.timestamp),
      },
      // ZITADEL answers without `sortingColumn` (the response has the field but its ListUsers never sets it).
      result: view.users.map((user) => toProtoUser(user, { sequence: user.sequence, changeDate: user.changeDate, resourceOwner: user.orgId, creationDate: user.creationDate })),
    };
  };
}
