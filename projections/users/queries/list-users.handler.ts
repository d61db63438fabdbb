import { Inject } from '@nestjs/common';
import { QueryHandler, type IQueryHandler } from '@nestjs/cqrs';
import { sql, type Expression, type ExpressionBuilder, type SqlBool } from 'kysely';
import { hasPermission, type Caller } from '#access';
import { CLOCK, type Clock } from '#kernel';
import { SQL_DATABASE, type SqlDatabase } from '#database';
import { usersReadModelDb, type UsersReadModel } from '../schema.js';
import { toProjectedUser } from '../user-view.js';
import { ListUsersQuery, type TextMethod, type UserFilter, type UserListView, type UserSortColumn, type UserTextField } from './list-users.query.js';
import { USER_READ_YOUR_WRITES, type UserReadYourWrites } from './read-your-writes.js';

type Eb = ExpressionBuilder<UsersReadModel, 'users'>;

const TEXT_COLUMNS = {
  username: 'username',
  loginName: 'username',
  email: 'email',
  givenName: 'given_name',
  familyName: 'family_name',
  nickName: 'nick_name',
  displayName: 'display_name',
} as const satisfies Record<UserTextField, string>;

const SORT_COLUMNS = {
  id: 'id',
  username: 'username',
  givenName: 'given_name',
  familyName: 'family_name',
  nickName: 'nick_name',
  displayName: 'display_name',
  email: 'email',
  state: 'state',
  kind: 'kind',
  creationDate: 'creation_date',
} as const satisfies Record<UserSortColumn, string>;

/** A LIKE pattern matches the value literally: its own wildcards are escaped. */
const escapeLike = (value: string) => value.replace(/[\\%_]/g, (c) => `\\${c}`);

function textCondition(eb: Eb, field: UserTextField, value: string, method: TextMethod): Expression<SqlBool> {
  const column = sql.ref(`users.${TEXT_COLUMNS[field]}`);
  const ignoreCase = method.endsWith('IgnoreCase');
  const like = ignoreCase ? sql`ilike` : sql`like`;
  const escaped = escapeLike(value);
  switch (method) {
    case 'equals':
      return sql<SqlBool>`${column} = ${value}`;
    case 'equalsIgnoreCase':
      return sql<SqlBool>`lower(${column}) = lower(${value})`;
    case 'startsWith':
    case 'startsWithIgnoreCase':
      return sql<SqlBool>`${column} ${like} ${`${escaped}%`}`;
    case 'contains':
    case 'containsIgnoreCase':
      return sql<SqlBool>`${column} ${like} ${`%${escaped}%`}`;
    case 'endsWith':
    case 'endsWithIgnoreCase':
      return sql<SqlBool>`${column} ${like} ${`%${escaped}`}`;
  }
  return eb.lit(false);
}

/** One filter as a condition; `and` of none is true and `or` of none is false, as ZITADEL's query builder renders them. */
export function userFilterCondition(eb: Eb, filter: UserFilter): Expression<SqlBool> {
  if ('text' in filter) return textCondition(eb, filter.text, filter.value, filter.method);
  if ('orgId' in filter) return eb('users.org_id', '=', filter.orgId);
  if ('kind' in filter) return eb('users.kind', '=', filter.kind);
  if ('state' in filter) return eb('users.state', '=', filter.state);
  if ('ids' in filter) return filter.ids.length ? eb('users.id', 'in', [...filter.ids]) : eb.lit(false);
  if ('emails' in filter) return filter.emails.length ? eb('users.email', 'in', [...filter.emails]) : eb.lit(false);
  if ('and' in filter) return eb.and(filter.and.map((f) => userFilterCondition(eb, f)));
  if ('or' in filter) return eb.or(filter.or.map((f) => userFilterCondition(eb, f)));
  return eb.not(userFilterCondition(eb, filter.not));
}

/** The users the caller may read: all with an instance-wide `user.read`, else those of the orgs it holds `user.read` on, and itself. */
function readableBy(eb: Eb, caller: Caller): Expression<SqlBool> {
  if (hasPermission(caller, 'user.read', undefined)) return eb.lit(true);
  const orgs = [...new Set(caller.roles.map((grant) => grant.orgId).filter((org): org is string => !!org && hasPermission(caller, 'user.read', org)))];
  const self = eb('users.id', '=', caller.userId);
  return orgs.length ? eb.or([self, eb('users.org_id', 'in', orgs)]) : self;
}

/** Waits (read-your-writes, ≤ 2 s) for the active version to pass the store's head as of the request, then reads it. */
@QueryHandler(ListUsersQuery)
export class ListUsersHandler implements IQueryHandler<ListUsersQuery> {
  constructor(
    @Inject(SQL_DATABASE) private readonly database: SqlDatabase,
    @Inject(USER_READ_YOUR_WRITES) private readonly consistency: UserReadYourWrites,
    @Inject(CLOCK) private readonly clock: Clock,
  ) {}

  async execute({ input }: ListUsersQuery): Promise<UserListView> {
    const { version } = await this.consistency.settle('ListUsers');
    const db = usersReadModelDb(this.database.db, version);
    const where = (eb: Eb) => eb.and([readableBy(eb, input.caller), ...input.filters.map((f) => userFilterCondition(eb, f))]);
    const summary = await db
      .selectFrom('users')
      .where(where)
      .select((eb) => [eb.fn.countAll<string>().as('total'), eb.fn.max('users.sequence').as('sequence'), eb.fn.max('users.change_date').as('changed')])
      .executeTakeFirstOrThrow();
    const column = SORT_COLUMNS[input.sortBy];
    const direction = input.asc ? sql`asc` : sql`desc`;
    const isText = column !== 'creation_date';
    const sortKey = isText ? sql`lower(${sql.ref(`users.${column}`)})` : sql.ref(`users.${column}`);
    let rows = db
      .selectFrom('users')
      .selectAll()
      .where(where)
      // NULLs last either way, and the id breaks ties, so pages never overlap.
      .orderBy(sql`${sortKey} ${direction} nulls last`)
      .orderBy('users.id', input.asc ? 'asc' : 'desc')
      .offset(input.offset);
    if (input.limit > 0) rows = rows.limit(input.limit);
    const users = (await rows.execute()).map(toProjectedUser);
    return {
      details: {
        totalResult: Number(summary.total),
        processedSequence: Number(summary.sequence ?? 0),
        timestamp: summary.changed ? new Date(summary.changed as unknown as string) : this.clock.now(),
      },
      users,
    };
  }
}
