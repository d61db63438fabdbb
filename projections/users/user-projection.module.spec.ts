import 'reflect-metadata';
import { afterAll, beforeAll, expect, it } from '@jest/globals';
import { Global, Module, type DynamicModule } from '@nestjs/common';
import { CqrsModule, QueryBus } from '@nestjs/cqrs';
import { Test, type TestingModule } from '@nestjs/testing';
import { describeWhen } from '#test-kit';
import type { Caller, RoleGrant } from '#access';
import { isMigrated, SQL_DATABASE } from '#database';
import { EVENT_STORE, type AppendedEvent } from '#eventstore';
import { LOGGER } from '#logging';
import { UserEventType, type UserEvent } from '#user';
import type { ProjectionRunner } from '#projections/runner';
import { appendUserEvents, backends, capturingLogger, type TestStores } from '#projections/testing';
import { GetUserByIdQuery } from './queries/get-user-by-id.query.js';
import { ListAuthMethodTypesQuery } from './queries/list-auth-method-types.query.js';
import { USER_PROJECTION_RUNNER, UserProjectionModule, userProjectionSchemas } from './user-projection.module.js';

const ORG = '100000000000000001';
const OTHER_ORG = '100000000000000002';
const ADA = '200000000000000001';
const ROBOT = '200000000000000002';
const UNKNOWN = '200000000000000099';

const humanAdded: UserEvent = {
  type: UserEventType.HumanAdded,
  data: { username: 'ada', orgId: ORG, profile: { givenName: 'Ada', familyName: 'Lovelace', displayName: 'Ada Lovelace', gender: 'female' }, email: 'ada@example.com' },
};

function caller(userId: string, orgId: string, roles: RoleGrant[] = []): Caller {
  return { userId, orgId, instanceId: 'instance-1', kind: 'human', roles };
}
const self = caller(ADA, ORG);
/** A manager of the user's organization, calling from another organization: GetUserByID allows (the user's org decides). */
const managerOfUsersOrg = caller('300000000000000001', OTHER_ORG, [{ role: 'ORG_USER_MANAGER', orgId: ORG }]);
const loginClient = caller('300000000000000002', OTHER_ORG, [{ role: 'IAM_LOGIN_CLIENT' }]);
/** A manager of its own organization only: GetUserByID denies; ListAuthMethodTypes, checking the request's org as ZITADEL does, allows. */
const managerOfOwnOrg = caller('300000000000000003', OTHER_ORG, [{ role: 'ORG_USER_MANAGER', orgId: OTHER_ORG }]);
const nobody = caller('300000000000000004', ORG);

/** What apps/server's InfrastructureModule provides: the stores and the logger, globally. */
@Global()
@Module({})
class TestInfrastructureModule {
  static forRoot(stores: TestStores, logger: ReturnType<typeof capturingLogger>['logger']): DynamicModule {
    return {
      module: TestInfrastructureModule,
      providers: [
        { provide: SQL_DATABASE, useValue: stores.database },
        { provide: EVENT_STORE, useValue: stores.store },
        { provide: LOGGER, useValue: logger },
      ],
      exports: [SQL_DATABASE, EVENT_STORE, LOGGER],
    };
  }
}

for (const backend of backends) {
  describeWhen(backend.available, backend.reason, `UserProjectionModule and its queries on ${backend.label}`, () => {
    let stores: TestStores;
    let app: TestingModule;
    let queries: QueryBus;
    let runner: ProjectionRunner;
    let ada: AppendedEvent[];
    let robot: AppendedEvent[];

    beforeAll(async () => {
      stores = await backend.open();
      // The root imports CqrsModule.forRoot(), as the application's root module does.
      app = await Test.createTestingModule({
        imports: [CqrsModule.forRoot(), TestInfrastructureModule.forRoot(stores, capturingLogger().logger), UserProjectionModule],
      }).compile();
      await app.init();
      queries = app.get(QueryBus);
      runner = app.get<ProjectionRunner>(USER_PROJECTION_RUNNER);

      ada = await appendUserEvents(stores.store, ADA, ORG, [
        humanAdded,
        { type: UserEventType.EmailVerified, data: { email: 'ada@example.com' } },
        { type: UserEventType.OtpEmailAdded, data: {} },
      ]);
      robot = await appendUserEvents(stores.store, ROBOT, ORG, [
        { type: UserEventType.MachineAdded, data: { username: 'robot', orgId: ORG, name: 'Robot' } },
      ]);
      // No catchUp(): the module started the runner, which follows the store.
      expect(await runner.waitUntil(robot[0]!.position, 15_000)).toBe(true);
    });
    afterAll(async () => {
      await app?.close();
      await stores?.cleanup();
    });

    it('applied its migrations at init and runs the projection', async () => {
      for (const [history, migrations] of Object.entries(userProjectionSchemas)) {
        expect(await isMigrated(stores.database.db, history, migrations)).toBe(true);
      }
      expect(Object.keys(userProjectionSchemas)).toEqual(['projection_runner', 'projection_users']);
      expect(runner.status().state).toBe('running');
    });

    it('GetUserById: the caller reads itself, with details of the last event reduced for the user', async () => {
      const view = await queries.execute(new GetUserByIdQuery({ userId: ADA, caller: self }));
      expect(view).toEqual({
        details: { sequence: 3, changeDate: ada[2]!.createdAt, resourceOwner: ORG, creationDate: ada[0]!.createdAt },
        user: {
          id: ADA,
          orgId: ORG,
          username: 'ada',
          kind: 'human',
          state: 'active',
          givenName: 'Ada',
          familyName: 'Lovelace',
          displayName: 'Ada Lovelace',
          gender: 'female',
          email: 'ada@example.com',
          emailVerified: true,
          otpEmail: true,
          sequence: 3,
          changeDate: ada[2]!.createdAt,
          creationDate: ada[0]!.createdAt,
        },
      });
    });

    it('GetUserById: a caller with user.read on the user\'s organization, or everywhere, reads a machine user', async () => {
      for (const who of [managerOfUsersOrg, loginClient]) {
        const view = await queries.execute(new GetUserByIdQuery({ userId: ROBOT, caller: who }));
        expect(view.details).toEqual({ sequence: 1, changeDate: robot[0]!.createdAt, resourceOwner: ORG, creationDate: robot[0]!.createdAt });
        expect(view.user).toMatchObject({ id: ROBOT, kind: 'machine', machineName: 'Robot', emailVerified: false, otpEmail: false });
        expect(view.user).not.toHaveProperty('email');
        expect(view.user).not.toHaveProperty('gender');
      }
    });

    it('GetUserById: refuses without permission (403 id), and answers unknown (404 id) and empty ids (400 id)', async () => {
      for (const who of [managerOfOwnOrg, nobody]) {
        await expect(queries.execute(new GetUserByIdQuery({ userId: ADA, caller: who }))).rejects.toMatchObject({
          name: 'DomainError',
          kind: 'PermissionDenied',
          id: 'AUTH-AWfge',
          key: 'Errors.Permission.Denied',
        });
      }
      // Existence is checked first, also for a caller asking about itself.
      for (const who of [nobody, caller(UNKNOWN, ORG)]) {
        await expect(queries.execute(new GetUserByIdQuery({ userId: UNKNOWN, caller: who }))).rejects.toMatchObject({
          kind: 'NotFound',
          id: 'QUERY-Dfbg2',
          key: 'Errors.User.NotFound',
        });
      }
      await expect(queries.execute(new GetUserByIdQuery({ userId: '', caller: self }))).rejects.toMatchObject({
        kind: 'InvalidArgument',
        id: 'QUERY-4Fd2s',
        key: 'Errors.User.UserIDMissing',
      });
    });

    it('ListAuthMethodTypes: self and callers with user.read on the request\'s organization see the READY factors with list details', async () => {
      const asked = [
        { caller: self },
        { caller: loginClient },
        // ZITADEL checks the request's organization (x-zitadel-orgid, else the caller's own), not the user's.
        { caller: managerOfOwnOrg },
        { caller: managerOfUsersOrg, requestOrgId: ORG },
      ];
      for (const who of asked) {
        expect(await queries.execute(new ListAuthMethodTypesQuery({ userId: ADA, ...who }))).toEqual({
          details: { totalResult: 1, processedSequence: 3, timestamp: ada[2]!.createdAt },
          types: ['OTP_EMAIL'],
        });
      }
      expect(await queries.execute(new ListAuthMethodTypesQuery({ userId: ROBOT, caller: loginClient }))).toEqual({
        details: { totalResult: 0, processedSequence: 1, timestamp: robot[0]!.createdAt },
        types: [],
      });
    });

    it('ListAuthMethodTypes: an unknown user has no factors (200, empty list); 403 and 400 ids', async () => {
      const before = Date.now();
      const unknown = await queries.execute(new ListAuthMethodTypesQuery({ userId: UNKNOWN, caller: loginClient }));
      expect(unknown).toMatchObject({ details: { totalResult: 0, processedSequence: 0 }, types: [] });
      expect(unknown.details.timestamp.getTime()).toBeGreaterThanOrEqual(before);
      // Without user.read on the request's organization: denied, whether the user exists or not.
      for (const userId of [ADA, UNKNOWN]) {
        for (const who of [{ caller: managerOfUsersOrg }, { caller: managerOfOwnOrg, requestOrgId: ORG }, { caller: nobody }]) {
          await expect(queries.execute(new ListAuthMethodTypesQuery({ userId, ...who }))).rejects.toMatchObject({
            kind: 'PermissionDenied',
            id: 'AUTH-AWfge',
          });
        }
      }
      await expect(queries.execute(new ListAuthMethodTypesQuery({ userId: '', caller: self }))).rejects.toMatchObject({
        kind: 'InvalidArgument',
        id: 'QUERY-Lm8aT',
        key: 'Errors.User.UserIDMissing',
      });
    });

    it('shows a later write once the running projection has passed its position', async () => {
      const [removed] = await appendUserEvents(stores.store, ADA, ORG, [{ type: UserEventType.OtpEmailRemoved, data: {} }]);
      expect(await runner.waitUntil(removed!.position, 15_000)).toBe(true);
      expect(await queries.execute(new ListAuthMethodTypesQuery({ userId: ADA, caller: self }))).toEqual({
        details: { totalResult: 0, processedSequence: 4, timestamp: removed!.createdAt },
        types: [],
      });
      const view = await queries.execute(new GetUserByIdQuery({ userId: ADA, caller: self }));
      expect(view.details).toEqual({ sequence: 4, changeDate: removed!.createdAt, resourceOwner: ORG, creationDate: ada[0]!.createdAt });
      expect(view.user.otpEmail).toBe(false);
    });

    it('stops the runner when the application closes', async () => {
      await app.close();
      expect(runner.status().state).toBe('stopped');
    });
  });
}
