import { afterAll, afterEach, beforeAll, beforeEach, expect, it } from '@jest/globals';
import { CommandBus, QueryBus } from '@nestjs/cqrs';
import type { TestingModule } from '@nestjs/testing';
import { sql, type Kysely } from 'kysely';
import { describeWhen, eventually } from '#test-kit';
import type { SqlDatabase } from '#database';
import type { EventStore } from '#eventstore';
import { connectTestStores } from '#eventstore/testing';
import { metricsRegistry } from '#metrics';
import { AddOtpEmailCommand, UserEventType } from '#user';
import { CHECKPOINTS_TABLE, migrateProjections, VERSIONS_TABLE, type ProjectionRunner } from '#projections/runner';
import { appendRandomHistory, snapshotTables, userIdOf } from '#projections/testing';
import { humanCaller, startUserApp } from '#projections/testing';
import { appendUserEvents, backends, capturingLogger, type TestStores } from '#projections/testing';
import { GetUserByIdQuery } from '#projections/users';
import { ListAuthMethodTypesQuery } from '#projections/users';
import { USER_PROJECTION_RUNNER } from '#projections/users';
import { userProjections } from '#projections/users';
import { sessionProjections } from '#projections/sessions';
import type { AuthMethodTypesView, UserView } from '#projections/users';
import {
  formatStatus,
  formatVerifyReport,
  projectionStatus,
  replayProjection,
  ReplayBusyError,
  ReplayInterruptedError,
  verifyProjection,
  type OperationDeps,
  type ReplayProgress,
} from './index.js';
import { type ObjectDetails } from '#kernel';

const ORG = '100000000000000001';
const ADMIN = { userId: '900000000000000001', orgId: ORG, instanceId: 'instance-1', kind: 'machine' as const, roles: [{ role: 'IAM_OWNER' as const }] };

async function rywMisses(reason: string): Promise<number> {
  const metric = (await metricsRegistry.getMetricsAsJSON()).find((m) => m.name === 'projection_read_your_writes_timeouts_total');
  return metric?.values.find((v) => v.labels.projection === 'users' && v.labels.reason === reason)?.value ?? 0;
}

const activeVersion = async (db: Kysely<any>) =>
  Number((await db.selectFrom(VERSIONS_TABLE).select('active_version').where('name', '=', 'users').executeTakeFirst())?.active_version ?? 1);

const tableExists = async (db: Kysely<any>, table: string) =>
  (await sql<{ t: string | null }>`select to_regclass(${table})::text as t`.execute(db)).rows[0]?.t !== null;

for (const backend of backends) {
  describeWhen(backend.available, backend.reason, `projections replay, verify and status on ${backend.label}`, () => {
    let stores: TestStores;
    let app: TestingModule;
    let queries: QueryBus;
    let commands: CommandBus;
    let runner: ProjectionRunner;
    let log: ReturnType<typeof capturingLogger>;
    /** The operator's side: on server PostgreSQL another pool and listener, as the CLI in another process has. */
    let operator: { database: SqlDatabase; store: EventStore; close(): Promise<void> };
    let deps: OperationDeps;
    const ada = userIdOf(1);

    beforeAll(async () => {
      stores = await backend.open();
      await migrateProjections(stores.database.db, userProjections);
      // `projections status` reports every read model; this suite exercises the users one.
      await migrateProjections(stores.database.db, sessionProjections);
      await appendRandomHistory(stores.store, { seed: 99, users: 60, maxEvents: 10 });
    }, 60_000);
    afterAll(async () => {
      await stores?.cleanup();
    });
    beforeEach(async () => {
      log = capturingLogger();
      app = await startUserApp(stores, log.logger);
      queries = app.get(QueryBus);
      commands = app.get(CommandBus);
      runner = app.get<ProjectionRunner>(USER_PROJECTION_RUNNER);
      if (stores.url) {
        const other = connectTestStores(stores.url);
        operator = { database: other.database, store: other.store, close: other.cleanup };
      } else {
        operator = { database: stores.database, store: stores.store, close: async () => undefined };
      }
      deps = { database: operator.database, store: operator.store, logger: log.logger };
      expect(await runner.waitUntil(await stores.store.headPosition(), 15_000)).toBe(true);
    });
    afterEach(async () => {
      await app?.close();
      await operator?.close();
    });

    const LIVE_WRITES = 40;
    const getAda = (): Promise<UserView> => queries.execute(new GetUserByIdQuery({ userId: ada, caller: ADMIN }));

    it('replays while the service serves the old version, switches in one step, and the service then reads (and its runner maintains) the new tables', async () => {
      const db = stores.database.db;
      const before = await activeVersion(db);
      const oldTables = userProjections.tables(before);
      // Damage the live read model, as a bug in a reducer would: the replay repairs it.
      const { email } = (await getAda()).user;
      await sql`update ${sql.table(oldTables[0]!.name)} set email = 'damaged@example.com' where id = ${ada}`.execute(db);
      expect((await getAda()).user.email).toBe('damaged@example.com');

      // Queries, and writes with reads after them, all through the replay.
      let serving = true;
      const answers: string[] = [];
      const readYourWrites: string[] = [];
      let writes = 0;
      const service = (async () => {
        let n = 1000;
        while (serving) {
          answers.push((await getAda()).user.email ?? '');
          // A bounded number of writes: the replay chases the head, and a writer as fast as the
          // replay would keep it chasing (each write is a few events, a replay batch is five).
          if (n >= 1000 + LIVE_WRITES) {
            await new Promise((resolve) => setTimeout(resolve, 5));
            continue;
          }
          // A new user with OTP Email, read right after its write.
          const userId = userIdOf(++n);
          await appendUserEvents(stores.store, userId, ORG, [
            {
              type: UserEventType.HumanAdded,
              data: { username: `live${n}`, orgId: ORG, profile: { givenName: 'L', familyName: 'L', displayName: 'L' }, email: `live${n}@example.com` },
            },
            { type: UserEventType.EmailVerified, data: { email: `live${n}@example.com` } },
          ]);
          const added: ObjectDetails = await commands.execute(new AddOtpEmailCommand({ userId, caller: humanCaller(userId, ORG) }));
          const listed: AuthMethodTypesView = await queries.execute(new ListAuthMethodTypesQuery({ userId, caller: humanCaller(userId, ORG) }));
          writes++;
          if (listed.details.processedSequence !== added.sequence || !listed.types.includes('OTP_EMAIL')) readYourWrites.push(`${userId}: ${JSON.stringify(listed)}`);
          // Pacing, not waiting for anything: the service leaves the replay room to run.
          await new Promise((resolve) => setTimeout(resolve, 5));
        }
      })();

      const progress: ReplayProgress[] = [];
      const timeoutsBefore = await rywMisses('timeout');
      const result = await replayProjection(deps, 'users', { batchSize: 5, onProgress: (p) => progress.push(p) });
      const answeredDuringReplay = answers.length;
      // Keep serving after the switch until a few more answers have come, then stop.
      await eventually(() => expect(answers.length).toBeGreaterThanOrEqual(answeredDuringReplay + 3), { timeoutMs: 30_000 });
      serving = false;
      await service;

      expect(result).toMatchObject({ projection: 'users', version: before + 1, previousVersion: before });
      expect(result.events).toBeGreaterThan(300);
      expect(await activeVersion(db)).toBe(before + 1);
      // During the replay the old (damaged) version answered; after the switch the new one does.
      expect(answers[0]).toBe('damaged@example.com');
      expect(answers.at(-1)).toBe(email);
      expect(answeredDuringReplay).toBeGreaterThanOrEqual(3);
      expect(answers.indexOf(email!)).toBeGreaterThanOrEqual(answeredDuringReplay - 1);
      expect(answers.slice(answers.indexOf(email!)).every((a) => a === email)).toBe(true);
      expect((await getAda()).user.email).toBe(email);
      // Reads after writes never missed, before, during or after the switch, and never waited out.
      expect(writes).toBeGreaterThan(0);
      expect(readYourWrites).toEqual([]);
      // A read that waited out says which query, the head it waited for and where the runner was.
      const waitedOut = log.lines
        .filter((l) => typeof l.msg === 'string' && l.msg.startsWith('read-your-writes:'))
        .map((l) => `${l.msg} (the runner on version ${l.runnerVersion})`);
      expect({ timeouts: (await rywMisses('timeout')) - timeoutsBefore, waitedOut }).toEqual({ timeouts: 0, waitedOut: [] });
      // The progress went up to the total.
      expect(progress.length).toBeGreaterThan(5);
      expect(progress.at(-1)).toMatchObject({ phase: 'done', version: before + 1 });
      expect(progress.at(-1)!.done).toBe(progress.at(-1)!.total);

      // The server's runner continues on the new version from its checkpoint, and keeps it up to date.
      await eventually(() => expect(runner.status()).toMatchObject({ version: before + 1, state: 'running' }));
      expect(log.lines.some((l) => String(l.msg).includes(`the active version switched from ${before} to ${before + 1}`))).toBe(true);
      const [verified] = await appendUserEvents(stores.store, ada, ORG, [{ type: UserEventType.EmailChanged, data: { email: 'ada.new@example.com' } }]);
      expect(await runner.waitUntil(verified!.position, 10_000)).toBe(true);
      const newTables = userProjections.tables(before + 1);
      expect((await db.selectFrom(newTables[0]!.name).select('email').where('id', '=', ada).executeTakeFirst())?.email).toBe('ada.new@example.com');
      // The old version stays (not maintained) until the next replay.
      expect(await tableExists(db, oldTables[0]!.name)).toBe(true);
      const checkpoint = await db.selectFrom(CHECKPOINTS_TABLE).select(['state']).where('name', '=', `users@${before + 1}`).executeTakeFirst();
      expect(checkpoint?.state).toBe('running');

      // status shows it; verify agrees with a fresh rebuild.
      const [status] = await projectionStatus(deps);
      expect(status).toMatchObject({ projection: 'users', state: 'running', activeVersion: before + 1, previousVersion: before, stale: false });
      expect(formatStatus([status!]).join('\n')).toContain(`replaced version ${before}`);
      const report = await verifyProjection(deps, 'users');
      expect(report).toMatchObject({ equal: true, version: before + 1 });
    }, 120_000);

    it('an interrupted replay switches nothing; run again, it drops the half-built version and finishes', async () => {
      const db = stores.database.db;
      const before = await activeVersion(db);
      const abort = new AbortController();
      let batches = 0;
      const interrupted = await replayProjection(deps, 'users', {
        batchSize: 40,
        signal: abort.signal,
        onProgress: (p) => p.phase === 'building' && ++batches === 4 && abort.abort(),
      }).catch((err: unknown) => err);
      expect(interrupted).toBeInstanceOf(ReplayInterruptedError);
      expect((interrupted as Error).message).toContain(`nothing was switched: version ${before} still serves`);
      expect(await activeVersion(db)).toBe(before);
      const halfBuilt = before + 1;
      expect(await tableExists(db, userProjections.tables(halfBuilt)[0]!.name)).toBe(true);
      const [status] = await projectionStatus(deps);
      expect(status).toMatchObject({ state: 'running', activeVersion: before, replay: { version: halfBuilt, state: 'interrupted' } });
      expect(formatStatus([status!]).join('\n')).toContain('replay interrupted');
      // The service was not disturbed.
      expect((await getAda()).user.id).toBe(ada);

      const result = await replayProjection(deps, 'users', { batchSize: 200 });
      expect(result.version).toBe(halfBuilt + 1);
      expect(await tableExists(db, userProjections.tables(halfBuilt)[0]!.name)).toBe(false);
      expect(await activeVersion(db)).toBe(halfBuilt + 1);
      const [after] = await projectionStatus(deps);
      expect(after).not.toHaveProperty('replay');
      expect((await getAda()).user.id).toBe(ada);
      // The rebuilt tables equal a fresh replay of the same events, and the one it replaced.
      const fresh = await snapshotTables(db, userProjections.tables(halfBuilt + 1));
      expect((fresh['id'] as unknown[]).length).toBeGreaterThan(60);
    }, 120_000);

    it('one replay at a time per read model', async () => {
      let second: unknown;
      await replayProjection(deps, 'users', {
        batchSize: 100,
        onProgress: (p) => {
          if (p.phase === 'building' && second === undefined) {
            second = replayProjection(deps, 'users').catch((err: unknown) => err);
          }
        },
      });
      expect(await second).toBeInstanceOf(ReplayBusyError);
    }, 60_000);

    it('verify passes on a consistent model, and fails naming the row and the column after one row is corrupted', async () => {
      const db = stores.database.db;
      const ok = await verifyProjection(deps, 'users');
      expect(ok.equal).toBe(true);
      expect(ok.tables.map((t) => [t.equal, t.liveRows === t.rebuiltRows])).toEqual([
        [true, true],
        [true, true],
      ]);
      expect(formatVerifyReport(ok)[0]).toMatch(/^OK: users version \d+ at checkpoint \d+\.\d+ equals a fresh rebuild$/);
      const version = await activeVersion(db);
      const [users, methods] = userProjections.tables(version);
      await sql`update ${sql.table(users!.name)} set display_name = 'Mallory' where id = ${ada}`.execute(db);
      const bad = await verifyProjection(deps, 'users');
      expect(bad.equal).toBe(false);
      expect(bad.tables[0]).toMatchObject({
        table: users!.name,
        equal: false,
        different: 1,
        missing: 0,
        extra: 0,
        examples: [{ kind: 'different', key: { id: ada }, columns: [{ column: 'display_name', live: 'Mallory' }] }],
      });
      expect(bad.tables[1]!.equal).toBe(true);
      const text = formatVerifyReport(bad).join('\n');
      expect(text).toContain(`DIFFERENT: users version ${version}`);
      expect(text).toContain(`different id=${ada}: display_name: live "Mallory"`);
      // A row too many is named as well.
      await sql`insert into ${sql.table(methods!.name)} (user_id, method_type, sequence, change_date) values ('nobody', 'OTP_EMAIL', 1, now())`.execute(db);
      const extra = await verifyProjection(deps, 'users');
      expect(extra.tables[1]).toMatchObject({ equal: false, extra: 1, examples: [{ kind: 'extra', key: { user_id: 'nobody', method_type: 'OTP_EMAIL' } }] });
      // Repair for the next tests.
      await replayProjection(deps, 'users');
      expect((await verifyProjection(deps, 'users')).equal).toBe(true);
    }, 120_000);

    it('a runner stopped by its tables (a reducer fails on every try) restarts on the version a replay builds, at the switch', async () => {
      const db = stores.database.db;
      const version = await activeVersion(db);
      const methods = userProjections.tables(version)[1]!.name;
      // The live tables refuse what the reducer writes, as a broken read model would.
      await sql`alter table ${sql.table(methods)} add constraint refuses_otp check (method_type <> 'OTP_EMAIL') not valid`.execute(db);
      const userId = userIdOf(7000);
      await appendUserEvents(stores.store, userId, ORG, [
        {
          type: UserEventType.HumanAdded,
          data: { username: 'broken', orgId: ORG, profile: { givenName: 'B', familyName: 'B', displayName: 'B' }, email: 'b@example.com' },
        },
        { type: UserEventType.EmailVerified, data: { email: 'b@example.com' } },
      ]);
      const self = humanCaller(userId, ORG);
      await commands.execute(new AddOtpEmailCommand({ userId, caller: self }));
      await eventually(() => expect(runner.status()).toMatchObject({ state: 'failed', failure: { event: { type: UserEventType.OtpEmailAdded } } }));
      const [failed] = await projectionStatus(deps);
      expect(failed).toMatchObject({ state: 'failed', failure: { reason: expect.stringContaining('refuses_otp') } });

      const result = await replayProjection(deps, 'users');
      expect(result.version).toBe(version + 1);
      await eventually(() => expect(runner.status()).toMatchObject({ state: 'running', version: version + 1 }));
      expect(log.lines.some((l) => String(l.msg).includes('restarting the stopped runner'))).toBe(true);
      const listed: AuthMethodTypesView = await queries.execute(new ListAuthMethodTypesQuery({ userId, caller: self }));
      expect(listed.types).toEqual(['OTP_EMAIL']);
      const [status] = await projectionStatus(deps);
      expect(status).toMatchObject({ state: 'running', activeVersion: version + 1 });
      expect(status).not.toHaveProperty('failure');
    }, 60_000);

    it('status: lag in events and seconds while the runner is stopped; a failure stored for other processes, and reads that no longer wait', async () => {
      await runner.stop();
      let [status] = await projectionStatus(deps);
      expect(status).toMatchObject({ state: 'stopped', lag: { events: 0, seconds: 0 } });
      const appended = await appendUserEvents(stores.store, ada, ORG, [
        { type: UserEventType.EmailChanged, data: { email: 'a1@example.com' } },
        { type: UserEventType.EmailChanged, data: { email: 'a2@example.com' } },
        { type: UserEventType.EmailChanged, data: { email: 'a3@example.com' } },
      ]);
      // The lag in seconds grows with the age of the oldest unprocessed event: wait until it is a second old.
      [status] = await eventually(
        async () => {
          const [now] = await projectionStatus(deps);
          expect(now!.lag.seconds).toBeGreaterThanOrEqual(1);
          return [now];
        },
        { intervalMs: 100 },
      );
      expect(status!.lag.events).toBe(3);
      expect(status!.lag.oldestUnprocessedAt).toBe(appended[0]!.createdAt.toISOString());
      expect(status!.head).toBe(appended[2]!.position);

      // An event its reducer cannot take: the runner stops there and says why, in the database too.
      const [bad] = await stores.store.append(`user-${userIdOf(5000)}`, [{ type: UserEventType.HumanAdded, data: { username: 'x' } }], 'any').then((r) => r.events);
      runner.start();
      await eventually(() => expect(runner.status().state).toBe('failed'));
      [status] = await projectionStatus(deps);
      expect(status).toMatchObject({
        state: 'failed',
        checkpoint: { position: appended[2]!.position, state: 'failed' },
        lag: { events: 1 },
        failure: { event: { type: UserEventType.HumanAdded, position: bad!.position, sequence: 1 }, reason: expect.stringContaining('givenName') },
      });
      expect(formatStatus([status!]).join('\n')).toMatch(/failure {5}the reducer for user\.human\.added failed on event .* \(stream user-200000000000005000, sequence 1, position/);
      // Reads answer at once with what the read model has, and say so.
      const failedBefore = await rywMisses('failed');
      const started = Date.now();
      expect((await getAda()).user.email).toBe('a3@example.com');
      expect(Date.now() - started).toBeLessThan(1_900);
      expect(await rywMisses('failed')).toBe(failedBefore + 1);
      expect(log.lines.some((l) => l.level === 'warn' && String(l.msg).includes('is stopped by a failing event'))).toBe(true);
      // Clean up the bad event's effect for any later test: remove it.
      await sql`delete from eventstore.events where stream = ${`user-${userIdOf(5000)}`}`.execute(stores.database.db);
    }, 60_000);
  });
}
