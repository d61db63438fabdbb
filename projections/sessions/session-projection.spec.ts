import { afterAll, beforeAll, expect, it } from '@jest/globals';
import { QueryBus } from '@nestjs/cqrs';
import type { TestingModule } from '@nestjs/testing';
import { sql, type Kysely } from 'kysely';
import { describeWhen } from '#test-kit';
import type { Caller, RoleGrant } from '#access';
import type { AppendedEvent, EventStore, JsonObject } from '#eventstore';
import { UserEventType } from '#user';
import { SessionEventType, sessionStream, type SessionEvent } from '#session/events';
import { CHECKPOINTS_TABLE, ProjectionRunner, type Projection } from '#projections/runner';
import { replayProjection, verifyProjection } from '#projections/operations';
import { appendUserEvents, backends, capturingLogger, snapshotTables, startUserApp, type TestStores } from '#projections/testing';
import { ListSessionsQuery, type ListSessionsInput } from './queries/list-sessions.query.js';
import { SessionProjectionModule } from './session-projection.module.js';
import { sessionProjections } from './session-projection.js';
import type { SessionListView } from './session-view.js';

const ORG = '100000000000000001';
const OTHER_ORG = '100000000000000002';
const ADA = '200000000000000001';
const EVE = '200000000000000009';
const BOB = '200000000000000002';
const CLIENT = '300000000000000001';
const b64 = (text: string) => Buffer.from(text).toString('base64');

function caller(userId: string, orgId: string, roles: RoleGrant[] = []): Caller {
  return { userId, orgId, instanceId: 'instance-1', kind: 'human', roles };
}
const loginClient = caller(CLIENT, ORG, [{ role: 'IAM_LOGIN_CLIENT' }]);
const managerOfOtherOrg = caller('300000000000000002', OTHER_ORG, [{ role: 'ORG_USER_MANAGER', orgId: OTHER_ORG }]);
const managerOfAdasOrg = caller('300000000000000003', OTHER_ORG, [{ role: 'ORG_USER_MANAGER', orgId: ORG }]);
const ada = caller(ADA, ORG);

/** Version 1's table as migration 0001 makes it: what deployed databases will hold (a change needs a migration of its own). */
const pinnedVersion1 = (schema: string) => [
  `create schema ${schema}`,
  `create table ${schema}.sessions (
    id text primary key,
    creator text not null,
    resource_owner text not null,
    user_id text,
    user_org_id text,
    user_checked_at timestamptz,
    login_name text,
    otp_email_checked_at timestamptz,
    user_agent_fingerprint_id text,
    user_agent_ip text,
    user_agent_description text,
    user_agent_header text,
    metadata text not null default '{}',
    expiration timestamptz,
    terminated boolean not null default false,
    sequence integer not null,
    creation_date timestamptz not null,
    change_date timestamptz not null
  )`,
  `create index sessions_user_id on ${schema}.sessions (user_id)`,
  `create index sessions_creator on ${schema}.sessions (creator)`,
  `create index sessions_fingerprint on ${schema}.sessions (user_agent_fingerprint_id)`,
  `create index sessions_creation_date on ${schema}.sessions (creation_date)`,
];

async function shape(db: Kysely<object>, schema: string, suffix = '') {
  const table = `sessions${suffix}`;
  const columns = await sql`
    select ordinal_position, column_name, data_type, is_nullable, column_default
    from information_schema.columns where table_schema = ${schema} and table_name = ${table} order by ordinal_position`.execute(db);
  const indexes = await sql<{ indexdef: string }>`select indexdef from pg_indexes where schemaname = ${schema} and tablename = ${table} order by indexname`.execute(db);
  const unsuffixed = (text: string) => (suffix ? text.split(suffix).join('') : text);
  return { columns: columns.rows, indexes: indexes.rows.map((r) => unsuffixed(r.indexdef.split(`${schema}.`).join('S.'))) };
}

/** Appends one session's events, each its own append (as commands do), by `editor` for `orgId`. */
async function appendSession(store: EventStore, id: string, editor: string, orgId: string, events: SessionEvent[]): Promise<AppendedEvent[]> {
  const appended: AppendedEvent[] = [];
  for (const event of events) {
    const resourceOwner = event.type === SessionEventType.UserChecked ? event.data.orgId : orgId;
    const metadata: JsonObject = { instanceId: 'instance-1', resourceOwner, editor, correlationId: `test-${id}` };
    appended.push(...(await store.append(sessionStream(id), [{ type: event.type, data: event.data as unknown as JsonObject, metadata }], 'any')).events);
  }
  return appended;
}

const checked = (userId: string, orgId: string, loginName: string): SessionEvent => ({
  type: SessionEventType.UserChecked,
  data: { userId, orgId, loginName, checkedAt: '2026-01-02T03:04:05.000Z' },
});

for (const backend of backends) {
  describeWhen(backend.available, backend.reason, `sessions read model and ListSessions on ${backend.label}`, () => {
    let stores: TestStores;
    let app: TestingModule;
    let queries: QueryBus;
    const created: Record<string, Date> = {};
    const list = (input: Partial<ListSessionsInput> & { caller: Caller }): Promise<SessionListView> =>
      queries.execute(new ListSessionsQuery({ filters: [], offset: 0, limit: 0, asc: true, ...input }));
    const ids = (view: SessionListView) => view.sessions.map((s) => s.id);

    beforeAll(async () => {
      stores = await backend.open();
      app = await startUserApp(stores, capturingLogger().logger, [SessionProjectionModule]);
      queries = app.get(QueryBus);
      await appendUserEvents(stores.store, ADA, ORG, [
        { type: UserEventType.HumanAdded, data: { username: 'ada', orgId: ORG, profile: { givenName: 'Ada', familyName: 'L', displayName: 'Ada Lovelace' }, email: 'a@example.com' } },
      ]);
      // s1: Ada's, with the whole user agent, metadata, OTP Email check and lifetime.
      created['s1'] = (
        await appendSession(stores.store, 's1', CLIENT, ORG, [
          { type: SessionEventType.Added, data: { userAgent: 'Firefox', fingerprintId: 'fp-1', ip: '192.0.2.7', header: { 'user-agent': ['Firefox/140'] } } },
          checked(ADA, ORG, 'ada'),
          { type: SessionEventType.MetadataSet, data: { metadata: { app: b64('console') } } },
          { type: SessionEventType.OtpEmailChecked, data: { checkedAt: '2026-01-02T03:05:00.000Z' } },
          { type: SessionEventType.LifetimeSet, data: { lifetimeMs: 60_000, expiresAt: '2030-01-01T00:00:00.000Z' } },
        ])
      )[0]!.createdAt;
      // s2: Ada's again, written before user agents had more than a description.
      created['s2'] = (await appendSession(stores.store, 's2', CLIENT, ORG, [{ type: SessionEventType.Added, data: { userAgent: 'old' } }, checked(ADA, ORG, 'ada')]))[0]!.createdAt;
      // s3: Bob's, in the other organization (Bob is not in the users read model: the check's name shows).
      created['s3'] = (await appendSession(stores.store, 's3', CLIENT, OTHER_ORG, [{ type: SessionEventType.Added, data: {} }, checked(BOB, OTHER_ORG, 'bob')]))[0]!.createdAt;
      // s4: Ada's, terminated; s5: created by Ada, no user checked yet.
      await appendSession(stores.store, 's4', CLIENT, ORG, [{ type: SessionEventType.Added, data: {} }, checked(ADA, ORG, 'ada'), { type: SessionEventType.Terminated, data: {} }]);
      created['s5'] = (await appendSession(stores.store, 's5', ADA, ORG, [{ type: SessionEventType.Added, data: { fingerprintId: 'fp-1' } }]))[0]!.createdAt;
      // s6: Eve's, with a user agent; then Eve is deleted.
      await appendUserEvents(stores.store, EVE, ORG, [
        { type: UserEventType.HumanAdded, data: { username: 'eve', orgId: ORG, profile: { givenName: 'Eve', familyName: 'E', displayName: 'Eve E' }, email: 'e@example.com' } },
      ]);
      await appendSession(stores.store, 's6', CLIENT, ORG, [{ type: SessionEventType.Added, data: { userAgent: 'Eve-Agent', fingerprintId: 'fp-eve' } }, checked(EVE, ORG, 'eve')]);
      await appendUserEvents(stores.store, EVE, ORG, [{ type: UserEventType.Removed, data: {} }]);
    }, 120_000);
    afterAll(async () => {
      await app?.close();
      await stores?.cleanup();
    });

    it('migration 0001 makes version 1 as pinned: names, types, nulls, defaults, key, indexes', async () => {
      const db = stores.database.db;
      const pinned = `pinned_s_${Math.random().toString(36).slice(2, 8)}`;
      try {
        for (const statement of pinnedVersion1(pinned)) await sql.raw(statement).execute(db);
        const expected = await shape(db, pinned);
        expect(expected.columns).toHaveLength(18);
        expect(await shape(db, 'projections')).toEqual(expected);
      } finally {
        await sql`drop schema if exists ${sql.id(pinned)} cascade`.execute(db);
      }
    });

    it('a replay version has the shape of the migrated version 1 (the declaration and migration 0001 agree)', async () => {
      const db = stores.database.db;
      await sessionProjections.createTables(db, { version: 9 });
      try {
        expect(await shape(db, 'projections', '_v9')).toEqual(await shape(db, 'projections'));
      } finally {
        await sessionProjections.dropTables(db, { version: 9 });
      }
    });

    it('lists a user\'s sessions by user id, with the user factor (current names), OTP Email, user agent, metadata and expiration; never a terminated one', async () => {
      const view = await list({ caller: loginClient, filters: [{ userId: ADA }] });
      expect(ids(view)).toEqual(['s1', 's2']);
      expect(view.details.totalResult).toBe(2);
      expect(view.sessions[0]).toMatchObject({
        id: 's1',
        factors: { user: { id: ADA, loginName: 'ada', displayName: 'Ada Lovelace', organizationId: ORG }, otpEmail: { verifiedAt: new Date('2026-01-02T03:05:00.000Z') } },
        userAgent: { fingerprintId: 'fp-1', ip: '192.0.2.7', description: 'Firefox', header: { 'user-agent': ['Firefox/140'] } },
        expirationDate: new Date('2030-01-01T00:00:00.000Z'),
        sequence: 5,
      });
      expect(Buffer.from(view.sessions[0]!.metadata['app']!).toString()).toBe('console');
      expect(view.sessions[1]!.userAgent).toEqual({ description: 'old' });
    });

    it('lists only what the caller may read: session.read on the user\'s organization, its own (creator or user), or instance-wide', async () => {
      expect(ids(await list({ caller: loginClient }))).toEqual(['s1', 's2', 's3', 's5']);
      expect(ids(await list({ caller: managerOfAdasOrg }))).toEqual(['s1', 's2']);
      const other = await list({ caller: managerOfOtherOrg, filters: [{ userId: ADA }] });
      expect(other).toMatchObject({ sessions: [], details: { totalResult: 0, processedSequence: 0 } });
      expect(ids(await list({ caller: managerOfOtherOrg }))).toEqual(['s3']);
      expect(ids(await list({ caller: ada }))).toEqual(['s1', 's2', 's5']);
      expect((await list({ caller: loginClient, filters: [{ userId: BOB }] })).sessions[0]!.factors.user).toMatchObject({ loginName: 'bob', displayName: '' });
    });

    it('combines ids, creator, fingerprint and creation date queries with and; pages with offset, limit and order', async () => {
      expect(ids(await list({ caller: loginClient, filters: [{ ids: ['s1', 's3', 's4', 'nope'] }] }))).toEqual(['s1', 's3']);
      expect(ids(await list({ caller: loginClient, filters: [{ ids: [] }] }))).toEqual([]);
      // More ids than a statement may have parameters.
      const many = Array.from({ length: 70_000 }, (_, i) => `x${i}`);
      expect(ids(await list({ caller: loginClient, filters: [{ ids: [...many, 's2'] }] }))).toEqual(['s2']);
      expect(ids(await list({ caller: loginClient, filters: [{ creator: ADA }] }))).toEqual(['s5']);
      expect(ids(await list({ caller: loginClient, filters: [{ fingerprintId: 'fp-1' }] }))).toEqual(['s1', 's5']);
      expect(ids(await list({ caller: loginClient, filters: [{ fingerprintId: 'fp-1' }, { creator: CLIENT }] }))).toEqual(['s1']);
      expect(ids(await list({ caller: loginClient, filters: [{ creationDate: created['s1']!, method: 'equals' }] }))).toEqual(['s1']);
      expect(ids(await list({ caller: loginClient, filters: [{ creationDate: created['s3']!, method: 'lessOrEquals' }] }))).toEqual(['s1', 's2', 's3']);
      expect(ids(await list({ caller: loginClient, filters: [{ creationDate: created['s3']!, method: 'greater' }] }))).toEqual(['s5']);
      const page = await list({ caller: loginClient, offset: 1, limit: 2, asc: false });
      expect(ids(page)).toEqual(['s3', 's2']);
      expect(page.details.totalResult).toBe(4);
    });

    it('a deleted user\'s sessions leave no row: not listed, nothing of them kept', async () => {
      expect(ids(await list({ caller: loginClient, filters: [{ userId: EVE }] }))).toEqual([]);
      expect(ids(await list({ caller: loginClient, filters: [{ ids: ['s6'] }] }))).toEqual([]);
      const left = await sql`select id from projections.sessions where user_id = ${EVE} or user_agent_description = 'Eve-Agent' or login_name = 'eve'`.execute(stores.database.db);
      expect(left.rows).toEqual([]);
    });

    it('a replay builds a new version equal to the live one, verify finds them equal, and ListSessions reads the new version', async () => {
      const deps = { database: stores.database, store: stores.store, logger: capturingLogger().logger };
      const before = await list({ caller: loginClient });
      expect((await verifyProjection(deps, 'sessions')).equal).toBe(true);
      const replayed = await replayProjection(deps, 'sessions');
      expect(replayed.version).toBeGreaterThan(1);
      expect((await verifyProjection(deps, 'sessions')).equal).toBe(true);
      expect(await list({ caller: loginClient })).toEqual({ ...before, details: { ...before.details, timestamp: expect.any(Date) } });
    }, 60_000);

    it('the batch fold gives exactly the rows of the reducers one event at a time', async () => {
      const db = stores.database.db;
      const build = async (suffix: string, projection: (p: Projection) => Projection, batchSize: number) => {
        await sessionProjections.createTables(db, { scratch: suffix });
        const scratch = sessionProjections.forScratch(suffix);
        await new ProjectionRunner(projection(scratch.projection), { store: stores.store, db, logger: capturingLogger().logger, batchSize }).catchUp();
        const rows = await snapshotTables(db, scratch.tables);
        await sessionProjections.dropTables(db, { scratch: suffix });
        await db.deleteFrom(CHECKPOINTS_TABLE).where('name', '=', scratch.projection.name).execute();
        return rows;
      };
      const oneByOne = await build(`one_${Math.random().toString(36).slice(2, 8)}`, (p) => ({ ...p, applyBatch: undefined }), 1);
      expect(oneByOne['id']).toHaveLength(5);
      expect(await build(`fold_${Math.random().toString(36).slice(2, 8)}`, (p) => p, 100)).toEqual(oneByOne);
    });
  });
}
