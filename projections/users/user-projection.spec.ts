import { afterEach, beforeEach, expect, it } from '@jest/globals';
import { sql, type Kysely } from 'kysely';
import { describeWhen } from '#test-kit';
import type { AppendedEvent } from '#eventstore';
import { UserEventType, type UserEvent } from '#user';
import { CHECKPOINTS_TABLE, migrateProjections, ProjectionRunner } from '#projections/runner';
import { appendUserEvents, backends, capturingLogger, type TestStores } from '#projections/testing';
import { usersReadModelDb } from './schema.js';
import { USER_PROJECTION_NAME, userProjection } from './user-projection.js';

const ORG = '100000000000000001';
const ADA = '200000000000000001';
const ROBOT = '200000000000000002';

const humanAdded: UserEvent = {
  type: UserEventType.HumanAdded,
  data: {
    username: 'ada',
    orgId: ORG,
    profile: { givenName: 'Ada', familyName: 'Lovelace', displayName: 'Ada Lovelace', nickName: 'countess', preferredLanguage: 'en', gender: 'female' },
    email: 'ada@example.com',
  },
};
const emailVerified: UserEvent = { type: UserEventType.EmailVerified, data: { email: 'ada@example.com' } };
const otpAdded: UserEvent = { type: UserEventType.OtpEmailAdded, data: {} };
const otpRemoved: UserEvent = { type: UserEventType.OtpEmailRemoved, data: {} };
const machineAdded: UserEvent = { type: UserEventType.MachineAdded, data: { username: 'robot', orgId: ORG, name: 'Robot', description: 'CI bot' } };

async function userRow(db: Kysely<object>, id: string) {
  return usersReadModelDb(db, 1).selectFrom('users').selectAll().where('id', '=', id).executeTakeFirst();
}
async function authMethods(db: Kysely<object>, id: string) {
  return usersReadModelDb(db, 1).selectFrom('user_auth_methods').selectAll().where('user_id', '=', id).orderBy('method_type').execute();
}
async function snapshot(db: Kysely<object>) {
  const users = await sql`select * from projections.users order by id`.execute(db);
  const methods = await sql`select * from projections.user_auth_methods order by user_id, method_type`.execute(db);
  return { users: users.rows, methods: methods.rows };
}

for (const backend of backends) {
  describeWhen(backend.available, backend.reason, `user projection on ${backend.label}`, () => {
    let stores: TestStores;
    let runner: ProjectionRunner;
    let db: TestStores['database']['db'];

    beforeEach(async () => {
      stores = await backend.open();
      db = stores.database.db;
      await migrateProjections(db, userProjection);
      runner = new ProjectionRunner(userProjection, { store: stores.store, db, logger: capturingLogger().logger });
    });
    afterEach(async () => {
      await runner.stop();
      await stores.cleanup();
    });

    const append = (userId: string, ...events: UserEvent[]) => appendUserEvents(stores.store, userId, ORG, events);
    const atEvent = (e: AppendedEvent) => ({ sequence: e.sequence, change_date: e.createdAt });

    it('reduces a human through email verified, OTP Email added, removed and added again', async () => {
      const [added] = await append(ADA, humanAdded);
      await runner.catchUp();
      expect(await userRow(db, ADA)).toEqual({
        id: ADA,
        org_id: ORG,
        username: 'ada',
        kind: 'human',
        state: 'active',
        given_name: 'Ada',
        family_name: 'Lovelace',
        display_name: 'Ada Lovelace',
        nick_name: 'countess',
        preferred_language: 'en',
        email: 'ada@example.com',
        email_verified: false,
        otp_email: false,
        machine_name: null,
        machine_description: null,
        sequence: 1,
        change_date: added!.createdAt,
        creation_date: added!.createdAt,
        gender: 'female',
      });
      expect(await authMethods(db, ADA)).toEqual([]);

      const [verified] = await append(ADA, emailVerified);
      await runner.catchUp();
      expect(await userRow(db, ADA)).toMatchObject({ email_verified: true, otp_email: false, ...atEvent(verified!), creation_date: added!.createdAt });

      const [otp1] = await append(ADA, otpAdded);
      await runner.catchUp();
      expect(await userRow(db, ADA)).toMatchObject({ otp_email: true, ...atEvent(otp1!) });
      expect(await authMethods(db, ADA)).toEqual([{ user_id: ADA, method_type: 'OTP_EMAIL', ...atEvent(otp1!) }]);

      const [removed] = await append(ADA, otpRemoved);
      await runner.catchUp();
      expect(await userRow(db, ADA)).toMatchObject({ otp_email: false, ...atEvent(removed!) });
      expect(await authMethods(db, ADA)).toEqual([]);

      const [otp2] = await append(ADA, otpAdded);
      await runner.catchUp();
      expect(otp2!.sequence).toBe(5);
      expect(await userRow(db, ADA)).toMatchObject({ otp_email: true, email_verified: true, sequence: 5, change_date: otp2!.createdAt });
      expect(await authMethods(db, ADA)).toEqual([{ user_id: ADA, method_type: 'OTP_EMAIL', sequence: 5, change_date: otp2!.createdAt }]);
    });

    it('reduces a machine user', async () => {
      const [added] = await append(ROBOT, machineAdded);
      await runner.catchUp();
      expect(await userRow(db, ROBOT)).toMatchObject({
        id: ROBOT,
        org_id: ORG,
        username: 'robot',
        kind: 'machine',
        state: 'active',
        given_name: null,
        email: null,
        email_verified: false,
        otp_email: false,
        machine_name: 'Robot',
        machine_description: 'CI bot',
        sequence: 1,
        change_date: added!.createdAt,
        creation_date: added!.createdAt,
        gender: null,
      });
    });

    it('moves the details on every user event, also the ones that change nothing shown; lock and unlock change the state', async () => {
      await append(ADA, humanAdded);
      const [codeAdded, codeSent] = await append(
        ADA,
        {
          type: UserEventType.EmailCodeAdded,
          data: { code: { keyId: 'k1', crypted: 'AAAA' }, expiresAt: '2030-01-01T00:00:00Z', sendEmail: true },
        },
        { type: UserEventType.EmailCodeSent, data: {} },
      );
      await runner.catchUp();
      expect(codeAdded!.sequence).toBe(2);
      expect(await userRow(db, ADA)).toMatchObject({ email_verified: false, ...atEvent(codeSent!) });

      const [locked] = await append(ADA, { type: UserEventType.Locked, data: { reason: 'too many failed checks' } });
      await runner.catchUp();
      expect(await userRow(db, ADA)).toMatchObject({ state: 'locked', ...atEvent(locked!) });

      const [unlocked, pat, changed] = await append(
        ADA,
        { type: UserEventType.Unlocked, data: {} },
        { type: UserEventType.PatAdded, data: { tokenId: 't1', hash: 'h' } },
        { type: UserEventType.EmailChanged, data: { email: 'ada@lovelace.example' } },
      );
      await runner.catchUp();
      expect(unlocked!.sequence).toBeLessThan(pat!.sequence);
      expect(await userRow(db, ADA)).toMatchObject({ state: 'active', email: 'ada@lovelace.example', email_verified: false, ...atEvent(changed!) });
    });

    it('is idempotent: a rewound checkpoint reduces the events again and the rows stay the same', async () => {
      const ada = await append(ADA, humanAdded, emailVerified, otpAdded, otpRemoved, otpAdded);
      await append(ROBOT, machineAdded);
      await runner.catchUp();
      const before = await snapshot(db);
      expect(before.users).toHaveLength(2);
      expect(before.methods).toHaveLength(1);

      // From the start, and from the middle of Ada's stream (after her otp removal).
      for (const rewindTo of ['', ada[2]!.position]) {
        await db.updateTable(CHECKPOINTS_TABLE).set({ position: rewindTo }).where('name', '=', USER_PROJECTION_NAME).execute();
        await runner.catchUp();
        expect(await snapshot(db)).toEqual(before);
      }
    });

    it('follows the store live', async () => {
      runner.start();
      const [added] = await append(ADA, humanAdded);
      expect(await runner.waitUntil(added!.position, 10_000)).toBe(true);
      expect(await userRow(db, ADA)).toMatchObject({ username: 'ada', sequence: 1 });
      const [, otp] = await append(ADA, emailVerified, otpAdded);
      expect(await runner.waitUntil(otp!.position, 10_000)).toBe(true);
      expect(await authMethods(db, ADA)).toEqual([{ user_id: ADA, method_type: 'OTP_EMAIL', ...atEvent(otp!) }]);
    });
  });
}
