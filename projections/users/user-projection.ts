import type { Transaction } from 'kysely';
import type { RecordedEvent } from '#eventstore';
import { UserEventType, type UserEvent } from '#user';
import { versionCheckpointName, type Projection, type Reducer, type VersionedProjection } from '#projections/runner';
import {
  createUserTables,
  dropUserTables,
  USER_PROJECTION_HISTORY,
  USER_TABLES,
  userProjectionMigrations,
  userTableSpecs,
  userTablesOf,
  type UserTables,
} from './schema.js';
import { createUserBatchReducer, userIdOf } from './user-batch.js';
import { AuthMethodType } from './user-view.js';

export const USER_PROJECTION_NAME = 'users';

type DataOf<T extends UserEvent['type']> = Extract<UserEvent, { type: T }>['data'];
const dataOf = <T extends UserEvent['type']>(event: RecordedEvent, _type: T) => event.data as unknown as DataOf<T>;

/**
 * The user read model's reducers (tables `users` and `user_auth_methods`). Every user event
 * moves the user's `sequence` and `change_date` (details on read); the ones that change what
 * is shown also change their columns, in the same guarded UPDATE. The guard
 * (`sequence < event.sequence`) makes every reducer idempotent: an event already reduced for
 * the user, or one for a user the table does not hold, changes nothing.
 *
 * `applyBatch` (user-batch.ts) folds a whole batch to the same rows with a few multi-row
 * statements (replays); the runner falls back to these reducers when it throws.
 */
export function createUserProjection(tables: UserTables = USER_TABLES, name = USER_PROJECTION_NAME): Projection {
  /** Moves the user's details to this event and sets `columns`; false when the event was already reduced. */
  async function touch(trx: Transaction<any>, event: RecordedEvent, columns: Record<string, unknown> = {}): Promise<boolean> {
    const row = await trx
      .updateTable(tables.users)
      .set({ ...columns, sequence: event.sequence, change_date: event.createdAt })
      .where('id', '=', userIdOf(event))
      .where('sequence', '<', event.sequence)
      .returning('id')
      .executeTakeFirst();
    return row !== undefined;
  }

  const humanAdded: Reducer = async (trx, event) => {
    const data = dataOf(event, UserEventType.HumanAdded);
    await trx
      .insertInto(tables.users)
      .values({
        id: userIdOf(event),
        org_id: data.orgId,
        username: data.username,
        kind: 'human',
        state: 'active',
        given_name: data.profile.givenName,
        family_name: data.profile.familyName,
        display_name: data.profile.displayName,
        nick_name: data.profile.nickName ?? null,
        preferred_language: data.profile.preferredLanguage ?? null,
        email: data.email,
        email_verified: false,
        otp_email: false,
        sequence: event.sequence,
        change_date: event.createdAt,
        creation_date: event.createdAt,
      })
      .onConflict((oc) => oc.column('id').doNothing())
      .execute();
  };

  const machineAdded: Reducer = async (trx, event) => {
    const data = dataOf(event, UserEventType.MachineAdded);
    await trx
      .insertInto(tables.users)
      .values({
        id: userIdOf(event),
        org_id: data.orgId,
        username: data.username,
        kind: 'machine',
        state: 'active',
        machine_name: data.name,
        machine_description: data.description ?? null,
        email_verified: false,
        otp_email: false,
        sequence: event.sequence,
        change_date: event.createdAt,
        creation_date: event.createdAt,
      })
      .onConflict((oc) => oc.column('id').doNothing())
      .execute();
  };

  const otpEmailAdded: Reducer = async (trx, event) => {
    if (!(await touch(trx, event, { otp_email: true }))) return;
    const method = { user_id: userIdOf(event), method_type: AuthMethodType.OtpEmail, sequence: event.sequence, change_date: event.createdAt };
    await trx
      .insertInto(tables.authMethods)
      .values(method)
      .onConflict((oc) => oc.columns(['user_id', 'method_type']).doUpdateSet({ sequence: method.sequence, change_date: method.change_date }))
      .execute();
  };

  const otpEmailRemoved: Reducer = async (trx, event) => {
    if (!(await touch(trx, event, { otp_email: false }))) return;
    await trx
      .deleteFrom(tables.authMethods)
      .where('user_id', '=', userIdOf(event))
      .where('method_type', '=', AuthMethodType.OtpEmail)
      .execute();
  };

  const reducers: Record<string, Reducer> = {};
  // Every user event, also the ones that change nothing shown, moves the details.
  for (const type of Object.values(UserEventType)) {
    reducers[type] = async (trx, event) => {
      await touch(trx, event);
    };
  }
  Object.assign(reducers, {
    [UserEventType.HumanAdded]: humanAdded,
    [UserEventType.MachineAdded]: machineAdded,
    [UserEventType.EmailChanged]: async (trx, event) => {
      const data = dataOf(event, UserEventType.EmailChanged);
      await touch(trx, event, { email: data.email, email_verified: false });
    },
    [UserEventType.EmailVerified]: async (trx, event) => {
      const data = dataOf(event, UserEventType.EmailVerified);
      await touch(trx, event, { email: data.email, email_verified: true });
    },
    [UserEventType.OtpEmailAdded]: otpEmailAdded,
    [UserEventType.OtpEmailRemoved]: otpEmailRemoved,
    [UserEventType.Locked]: async (trx, event) => {
      await touch(trx, event, { state: 'locked' });
    },
    [UserEventType.Unlocked]: async (trx, event) => {
      await touch(trx, event, { state: 'active' });
    },
  } satisfies Record<string, Reducer>);

  return {
    name,
    historyTable: USER_PROJECTION_HISTORY,
    migrations: userProjectionMigrations,
    reducers,
    applyBatch: createUserBatchReducer(tables),
  };
}

/** Version 1 of the user read model (tables `projections.users` and `projections.user_auth_methods`, checkpoint `users`). */
export const userProjection: Projection = createUserProjection();

/**
 * The user read model with its versions, as the server runs it (the active version) and
 * `projections replay users` rebuilds it: version N has the tables `projections.users_vN` and
 * `projections.user_auth_methods_vN` and the checkpoint `users@N`.
 */
export const userProjections: VersionedProjection = {
  name: USER_PROJECTION_NAME,
  historyTable: USER_PROJECTION_HISTORY,
  migrations: userProjectionMigrations,
  forVersion: (version) => createUserProjection(userTablesOf({ version }), versionCheckpointName(USER_PROJECTION_NAME, version)),
  tables: (version) => userTableSpecs(userTablesOf({ version })),
  createTables: (db, target) => createUserTables(db, userTablesOf(target)),
  dropTables: (db, target) => dropUserTables(db, userTablesOf(target)),
  forScratch: (suffix) => {
    const tables = userTablesOf({ scratch: suffix });
    return { projection: createUserProjection(tables, `${USER_PROJECTION_NAME}@${suffix}`), tables: userTableSpecs(tables) };
  },
};
