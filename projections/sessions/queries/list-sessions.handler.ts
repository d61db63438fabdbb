import { Inject } from '@nestjs/common';
import { QueryHandler, type IQueryHandler } from '@nestjs/cqrs';
import { type Expression, type ExpressionBuilder, type SqlBool } from 'kysely';
import { hasPermission, type Caller } from '#access';
import { CLOCK, type Clock } from '#kernel';
import { SQL_DATABASE, type SqlDatabase } from '#database';
import { USER_READ_YOUR_WRITES, usersReadModelDb } from '#projections/users';
import type { ReadYourWrites } from '#projections/runner';
import { sessionsReadModelDb, type SessionsReadModel } from '../schema.js';
import { toListedSession, type SessionListView, type UserNames } from '../session-view.js';
import { ListSessionsQuery, type SessionFilter, type TimestampMethod } from './list-sessions.query.js';
import { SESSION_READ_YOUR_WRITES, type SessionReadYourWrites } from './read-your-writes.js';

type Eb = ExpressionBuilder<SessionsReadModel, 'sessions'>;

const COMPARISONS = { equals: '=', greater: '>', greaterOrEquals: '>=', less: '<', lessOrEquals: '<=' } as const satisfies Record<TimestampMethod, string>;

export function sessionFilterCondition(eb: Eb, filter: SessionFilter): Expression<SqlBool> {
  // One array parameter, not one per id: a request may name more ids than a statement has parameters.
  if ('ids' in filter) return filter.ids.length ? eb('sessions.id', '=', eb.fn.any(eb.val([...new Set(filter.ids)]))) : eb.lit(false);
  if ('userId' in filter) return eb('sessions.user_id', '=', filter.userId);
  if ('creator' in filter) return eb('sessions.creator', '=', filter.creator);
  if ('fingerprintId' in filter) return eb('sessions.user_agent_fingerprint_id', '=', filter.fingerprintId);
  return eb('sessions.creation_date', COMPARISONS[filter.method], filter.creationDate);
}

/**
 * The sessions the caller may read (ZITADEL's sessionCheckPermission, in the query): all with
 * an instance-wide `session.read`; else its own (creator or checked user) and those whose
 * checked user is in an organization it holds `session.read` on.
 */
function readableBy(eb: Eb, caller: Caller): Expression<SqlBool> {
  if (hasPermission(caller, 'session.read', undefined)) return eb.lit(true);
  const orgs = [...new Set(caller.roles.map((grant) => grant.orgId).filter((org): org is string => !!org && hasPermission(caller, 'session.read', org)))];
  const own = [eb('sessions.creator', '=', caller.userId), eb('sessions.user_id', '=', caller.userId)];
  return eb.or(orgs.length ? [...own, eb('sessions.user_org_id', 'in', orgs)] : own);
}

/**
 * Waits (read-your-writes, ≤ 2 s) for the sessions read model, and for the users read model
 * whose names the user factor shows, to pass the store's head as of the request; then reads.
 */
@QueryHandler(ListSessionsQuery)
export class ListSessionsHandler implements IQueryHandler<ListSessionsQuery> {
  constructor(
    @Inject(SQL_DATABASE) private readonly database: SqlDatabase,
    @Inject(SESSION_READ_YOUR_WRITES) private readonly consistency: SessionReadYourWrites,
    @Inject(USER_READ_YOUR_WRITES) private readonly users: ReadYourWrites,
    @Inject(CLOCK) private readonly clock: Clock,
  ) {}

  async execute({ input }: ListSessionsQuery): Promise<SessionListView> {
    const [{ version }, { version: usersVersion }] = await Promise.all([this.consistency.settle('ListSessions'), this.users.settle('ListSessions')]);
    const db = sessionsReadModelDb(this.database.db, version);
    const where = (eb: Eb) =>
      eb.and([eb('sessions.terminated', '=', false), readableBy(eb, input.caller), ...input.filters.map((f) => sessionFilterCondition(eb, f))]);
    const summary = await db
      .selectFrom('sessions')
      .where(where)
      .select((eb) => [eb.fn.countAll<string>().as('total'), eb.fn.max('sessions.sequence').as('sequence'), eb.fn.max('sessions.change_date').as('changed')])
      .executeTakeFirstOrThrow();
    const direction = input.asc ? 'asc' : 'desc';
    let query = db.selectFrom('sessions').selectAll().where(where).orderBy('sessions.creation_date', direction).orderBy('sessions.id', direction).offset(input.offset);
    if (input.limit > 0) query = query.limit(input.limit);
    const rows = await query.execute();
    const userIds = [...new Set(rows.flatMap((row) => (row.user_id === null ? [] : [row.user_id])))];
    const names = new Map<string, UserNames>();
    if (userIds.length > 0) {
      const users = await usersReadModelDb(this.database.db, usersVersion)
        .selectFrom('users')
        .select(['id', 'username', 'display_name'])
        .where('id', 'in', userIds)
        .execute();
      for (const user of users) names.set(user.id, { loginName: user.username, displayName: user.display_name ?? '' });
    }
    return {
      details: {
        totalResult: Number(summary.total),
        processedSequence: Number(summary.sequence ?? 0),
        timestamp: summary.changed ? new Date(summary.changed as unknown as string) : this.clock.now(),
      },
      sessions: rows.map((row) => toListedSession(row, row.user_id === null ? undefined : names.get(row.user_id))),
    };
  }
}
