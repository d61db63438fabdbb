import type { RecordedEvent } from '#eventstore';
import { UserEventType, userIdOfStream, type UserEvent } from '#user/events';
import { changeProjection, versionedReadModel, type Change, type ChangeReducer, type Projection, type VersionedProjection } from '#projections/runner';
import { USER_PROJECTION_HISTORY, userAuthMethodsTable, userProjectionMigrations, usersReadModel, usersTable, userTables, type UserRow } from './schema.js';
import { AuthMethodType } from './user-view.js';

export const USER_PROJECTION_NAME = 'users';

export function userIdOf(event: Pick<RecordedEvent, 'id' | 'type' | 'stream'>): string {
  const userId = userIdOfStream(event.stream);
  if (!userId) throw new Error(`event ${event.id} of type ${event.type} is on stream ${event.stream}, not on a user stream`);
  return userId;
}

/** A recorded user event of type T, with T's data. */
type UserEventOf<T extends UserEvent['type']> = Omit<RecordedEvent, 'type' | 'data'> & Extract<UserEvent, { type: T }>;
type RecordedEventHead = Omit<RecordedEvent, 'data'>;
type UserReducers = { readonly [T in UserEvent['type']]: (event: UserEventOf<T>) => readonly Change[] };

/** Moves the user's details (sequence, change_date) to the event and sets `columns`, unless the event was already reduced. */
function touch(event: RecordedEventHead, columns: Partial<Omit<UserRow, 'id' | 'sequence' | 'change_date'>> = {}): Change {
  // Object.assign, not a spread: V8 takes a slow path for `{ ...columns, sequence }` here, a few µs per event in a replay.
  return usersTable.update({ id: userIdOf(event) }, Object.assign({ sequence: event.sequence, change_date: event.createdAt }, columns));
}

/** The columns every new user row has, whatever its kind. */
function created<T extends object>(event: RecordedEventHead, columns: T) {
  return Object.assign(
    { id: userIdOf(event), state: 'active', email_verified: false, otp_email: false, sequence: event.sequence, change_date: event.createdAt, creation_date: event.createdAt },
    columns,
  );
}

/**
 * The user read model's reducers (tables `users` and `user_auth_methods`), as pure functions
 * from an event to row changes; the runner applies them one event at a time or folds a whole
 * batch (apply-changes.ts). Every user event moves the user's `sequence` and `change_date`
 * (details on read); the ones that change what is shown also change their columns, in the same
 * guarded update. The guard (the row's `sequence` below the event's) makes every reducer
 * idempotent: an event already reduced for the user, or one for a user the table does not
 * hold, changes nothing, and neither do the changes after it (the factor's row).
 */
const reducers: UserReducers = {
  [UserEventType.HumanAdded]: (event) => [
    usersTable.insert(
      created(event, {
        org_id: event.data.orgId,
        username: event.data.username,
        kind: 'human',
        given_name: event.data.profile.givenName,
        family_name: event.data.profile.familyName,
        display_name: event.data.profile.displayName,
        nick_name: event.data.profile.nickName ?? null,
        preferred_language: event.data.profile.preferredLanguage ?? null,
        gender: event.data.profile.gender ?? null,
        email: event.data.email,
      }),
    ),
  ],
  [UserEventType.MachineAdded]: (event) => [
    usersTable.insert(
      created(event, {
        org_id: event.data.orgId,
        username: event.data.username,
        kind: 'machine',
        machine_name: event.data.name,
        machine_description: event.data.description ?? null,
      }),
    ),
  ],
  [UserEventType.EmailChanged]: (event) => [touch(event, { email: event.data.email, email_verified: false })],
  [UserEventType.EmailVerified]: (event) => [touch(event, { email: event.data.email, email_verified: true })],
  [UserEventType.OtpEmailAdded]: (event) => [
    touch(event, { otp_email: true }),
    userAuthMethodsTable.upsert({ user_id: userIdOf(event), method_type: AuthMethodType.OtpEmail, sequence: event.sequence, change_date: event.createdAt }),
  ],
  [UserEventType.OtpEmailRemoved]: (event) => [
    touch(event, { otp_email: false }),
    userAuthMethodsTable.delete({ user_id: userIdOf(event), method_type: AuthMethodType.OtpEmail }),
  ],
  [UserEventType.Locked]: (event) => [touch(event, { state: 'locked' })],
  [UserEventType.Unlocked]: (event) => [touch(event, { state: 'active' })],
  // The events that change nothing shown still move the details.
  [UserEventType.EmailCodeAdded]: (event) => [touch(event)],
  [UserEventType.EmailCodeSent]: (event) => [touch(event)],
  [UserEventType.EmailVerificationFailed]: (event) => [touch(event)],
  [UserEventType.OtpEmailCheckSucceeded]: (event) => [touch(event)],
  [UserEventType.OtpEmailCheckFailed]: (event) => [touch(event)],
  [UserEventType.OtpEmailChallengeSent]: (event) => [touch(event)],
  [UserEventType.PatAdded]: (event) => [touch(event)],
  [UserEventType.PatRemoved]: (event) => [touch(event)],
  [UserEventType.MemberRoleGranted]: (event) => [touch(event)],
  [UserEventType.MemberRoleRemoved]: (event) => [touch(event)],
  // A user that was never created: there is no row to change.
  [UserEventType.RegistrationAbandoned]: () => [],
  // The erasure of a deleted user's past payloads: its row is gone already.
  [UserEventType.Erased]: () => [],
  // A deleted user leaves no row behind: nothing of it can be read, listed or found again.
  [UserEventType.Removed]: (event) => [
    usersTable.delete({ id: userIdOf(event) }),
    ...Object.values(AuthMethodType).map((method_type) => userAuthMethodsTable.delete({ user_id: userIdOf(event), method_type })),
  ],
};

/**
 * By event type. The one cast of the read model: the store's events are untyped (`data` is a
 * JsonObject); an event of a user event type carries that type's data.
 */
export const userReducers: Readonly<Record<string, ChangeReducer>> = reducers as unknown as Record<string, ChangeReducer>;

/** The user read model on a set of tables (version 1's by default), with its own checkpoint name. */
export function createUserProjection(target: { version: number } | { scratch: string } = { version: 1 }, name = USER_PROJECTION_NAME): Projection {
  return changeProjection({ name, historyTable: USER_PROJECTION_HISTORY, migrations: userProjectionMigrations, names: userTables(target), reducers: userReducers });
}

/** Version 1 of the user read model (tables `projections.users` and `projections.user_auth_methods`, checkpoint `users`). */
export const userProjection: Projection = createUserProjection();

/**
 * The user read model with its versions, as the server runs it (the active version) and
 * `projections replay users` rebuilds it: version N has the tables `projections.users_vN` and
 * `projections.user_auth_methods_vN` and the checkpoint `users@N`.
 */
export const userProjections: VersionedProjection = versionedReadModel({
  name: USER_PROJECTION_NAME,
  historyTable: USER_PROJECTION_HISTORY,
  migrations: userProjectionMigrations,
  model: usersReadModel,
  reducers: userReducers,
});
