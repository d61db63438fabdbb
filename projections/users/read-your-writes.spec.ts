import { afterAll, afterEach, beforeAll, beforeEach, expect, it } from '@jest/globals';
import { CommandBus, QueryBus } from '@nestjs/cqrs';
import type { TestingModule } from '@nestjs/testing';
import { describeWhen } from '#test-kit';
import { metricsRegistry } from '#metrics';
import { AddOtpEmailCommand, RemoveOtpEmailCommand, UserEventType } from '#user';
import type { ProjectionRunner } from '#projections/runner';
import { appendUserEvents, backends, capturingLogger, type TestStores } from '#projections/testing';
import { humanCaller, startUserApp } from '#projections/testing';
import { GetUserByIdQuery } from './queries/get-user-by-id.query.js';
import { ListAuthMethodTypesQuery } from './queries/list-auth-method-types.query.js';
import { USER_PROJECTION_RUNNER } from './user-projection.module.js';
import type { AuthMethodTypesView, UserView } from './user-view.js';
import { type ObjectDetails } from '#kernel';

const ORG = '100000000000000001';
let userNo = 0;

async function rywMisses(reason: 'timeout' | 'failed'): Promise<number> {
  const metric = (await metricsRegistry.getMetricsAsJSON()).find((m) => m.name === 'projection_read_your_writes_timeouts_total');
  return metric?.values.find((v) => v.labels.projection === 'users' && v.labels.reason === reason)?.value ?? 0;
}

for (const backend of backends) {
  describeWhen(backend.available, backend.reason, `read-your-writes through the buses on ${backend.label}`, () => {
    let stores: TestStores;
    let app: TestingModule;
    let commands: CommandBus;
    let queries: QueryBus;
    let runner: ProjectionRunner;
    let log: ReturnType<typeof capturingLogger>;

    beforeAll(async () => {
      stores = await backend.open();
    });
    afterAll(async () => {
      await stores?.cleanup();
    });
    beforeEach(async () => {
      log = capturingLogger();
      app = await startUserApp(stores, log.logger);
      commands = app.get(CommandBus);
      queries = app.get(QueryBus);
      runner = app.get<ProjectionRunner>(USER_PROJECTION_RUNNER);
    });
    afterEach(async () => {
      await app?.close();
    });

    /** A human with a verified email (so OTP Email may be added), appended straight to the store. */
    async function verifiedUser(): Promise<string> {
      const userId = `2000000000000${String(++userNo).padStart(5, '0')}`;
      await appendUserEvents(stores.store, userId, ORG, [
        {
          type: UserEventType.HumanAdded,
          data: { username: `ryw${userNo}`, orgId: ORG, profile: { givenName: 'A', familyName: 'B', displayName: 'A B' }, email: `ryw${userNo}@example.com` },
        },
        { type: UserEventType.EmailVerified, data: { email: `ryw${userNo}@example.com` } },
      ]);
      return userId;
    }

    it('200 times in a row: AddOTPEmail on the CommandBus, then at once ListAuthenticationMethodTypes on the QueryBus, never misses the factor (nor its removal)', async () => {
      const userId = await verifiedUser();
      const self = humanCaller(userId, ORG);
      const timeoutsBefore = await rywMisses('timeout');
      const misses: string[] = [];
      for (let i = 0; i < 200; i++) {
        const added: ObjectDetails = await commands.execute(new AddOtpEmailCommand({ userId, caller: self }));
        const listed: AuthMethodTypesView = await queries.execute(new ListAuthMethodTypesQuery({ userId, caller: self }));
        if (!listed.types.includes('OTP_EMAIL') || listed.details.processedSequence !== added.sequence) {
          misses.push(`round ${i}: after AddOTPEmail (sequence ${added.sequence}) the list was ${JSON.stringify(listed)}`);
        }
        const removed: ObjectDetails = await commands.execute(new RemoveOtpEmailCommand({ userId, caller: self }));
        const view: UserView = await queries.execute(new GetUserByIdQuery({ userId, caller: self }));
        if (view.user.otpEmail || view.details.sequence !== removed.sequence) {
          misses.push(`round ${i}: after RemoveOTPEmail (sequence ${removed.sequence}) GetUserByID showed ${JSON.stringify(view.details)} otpEmail=${view.user.otpEmail}`);
        }
      }
      expect(misses).toEqual([]);
      // Every read waited until it could answer: no time-out, no warning.
      expect(await rywMisses('timeout')).toBe(timeoutsBefore);
      expect(log.lines.filter((l) => l.level === 'warn')).toEqual([]);
    }, 120_000);

    it('a new user is found by the first read after it was written', async () => {
      for (let i = 0; i < 20; i++) {
        const userId = await verifiedUser();
        const view: UserView = await queries.execute(new GetUserByIdQuery({ userId, caller: humanCaller(userId, ORG) }));
        expect(view.user).toMatchObject({ id: userId, emailVerified: true, sequence: 2 });
      }
    });

    it('waits at most 2 s: with the runner stopped it answers with what the read model has, a warn line and the time-out metric', async () => {
      const userId = await verifiedUser();
      const self = humanCaller(userId, ORG);
      await queries.execute(new ListAuthMethodTypesQuery({ userId, caller: self }));
      await runner.stop();
      const before = await rywMisses('timeout');
      await commands.execute(new AddOtpEmailCommand({ userId, caller: self }));
      const started = Date.now();
      const listed: AuthMethodTypesView = await queries.execute(new ListAuthMethodTypesQuery({ userId, caller: self }));
      const waited = Date.now() - started;
      expect(waited).toBeGreaterThanOrEqual(1_900);
      expect(waited).toBeLessThan(10_000);
      expect(listed.types).toEqual([]); // what the tables had
      expect(await rywMisses('timeout')).toBe(before + 1);
      const warns = log.lines.filter((l) => l.level === 'warn');
      expect(warns).toHaveLength(1);
      expect(warns[0]).toMatchObject({ projection: 'users', query: 'ListAuthenticationMethodTypes' });
      expect(warns[0]!.msg).toContain('did not pass the store\'s head');
      expect(warns[0]!.msg).toContain('answers with what the read model has');
    });
  });
}
