import { describe, expect, it } from '@jest/globals';
import type { JsonObject, RecordedEvent } from '#eventstore';
import { UserEventType, type UserEvent } from '#user';
import { userAuthMethodsTable, usersTable } from './schema.js';
import { userReducers } from './user-projection.js';

const ADA = '200000000000000001';
const at = new Date('2026-01-02T03:04:05.678Z');

/** The event as the store records it: the 4th on Ada's stream. */
function recorded(event: UserEvent, stream = `user-${ADA}`): RecordedEvent {
  return { id: 'e-4', stream, type: event.type, sequence: 4, position: '42', createdAt: at, data: event.data as unknown as JsonObject, metadata: {} };
}
const reduce = (event: UserEvent, stream?: string) => userReducers[event.type]!(recorded(event, stream));
/** The guarded update every user event makes: to this event's sequence and time. */
const touch = (columns: Record<string, unknown> = {}) => ({ op: 'update', table: usersTable, key: { id: ADA }, set: { ...columns, sequence: 4, change_date: at } });

describe('user read model reducers: event → row changes', () => {
  it('given HumanAdded, then a users row to insert (unless the user exists), with the defaults written out', () => {
    const event: UserEvent = {
      type: UserEventType.HumanAdded,
      data: { username: 'ada', orgId: 'org-1', profile: { givenName: 'Ada', familyName: 'Lovelace', displayName: 'Ada Lovelace' }, email: 'ada@example.com' },
    };
    expect(reduce(event)).toEqual([
      {
        op: 'insert',
        table: usersTable,
        row: {
          id: ADA,
          org_id: 'org-1',
          username: 'ada',
          kind: 'human',
          state: 'active',
          given_name: 'Ada',
          family_name: 'Lovelace',
          display_name: 'Ada Lovelace',
          nick_name: null,
          preferred_language: null,
          gender: null,
          email: 'ada@example.com',
          email_verified: false,
          otp_email: false,
          sequence: 4,
          change_date: at,
          creation_date: at,
        },
      },
    ]);
  });

  it('given HumanAdded with a gender, then the row has it; written before events had one, it is null (unspecified)', () => {
    const profile = { givenName: 'Ada', familyName: 'Lovelace', displayName: 'Ada Lovelace' };
    const added = (p: typeof profile & { gender?: 'diverse' }): UserEvent => ({ type: UserEventType.HumanAdded, data: { username: 'ada', orgId: 'org-1', profile: p, email: 'a@b.c' } });
    expect(reduce(added({ ...profile, gender: 'diverse' }))).toMatchObject([{ op: 'insert', row: { gender: 'diverse' } }]);
    expect(reduce(added(profile))).toMatchObject([{ op: 'insert', row: { gender: null } }]);
  });

  it('given OtpEmailAdded, then the guarded update of the user and, only if it applies, the factor row', () => {
    expect(reduce({ type: UserEventType.OtpEmailAdded, data: {} })).toEqual([
      touch({ otp_email: true }),
      { op: 'upsert', table: userAuthMethodsTable, row: { user_id: ADA, method_type: 'OTP_EMAIL', sequence: 4, change_date: at } },
    ]);
  });

  it('given OtpEmailRemoved, then the guarded update and the factor row deleted', () => {
    expect(reduce({ type: UserEventType.OtpEmailRemoved, data: {} })).toEqual([
      touch({ otp_email: false }),
      { op: 'delete', table: userAuthMethodsTable, key: { user_id: ADA, method_type: 'OTP_EMAIL' } },
    ]);
  });

  it('given email, lock and unlock events, then their columns in the guarded update; given any other user event, the details only', () => {
    expect(reduce({ type: UserEventType.EmailVerified, data: { email: 'a@b.c' } })).toEqual([touch({ email: 'a@b.c', email_verified: true })]);
    expect(reduce({ type: UserEventType.EmailChanged, data: { email: 'x@b.c' } })).toEqual([touch({ email: 'x@b.c', email_verified: false })]);
    expect(reduce({ type: UserEventType.Locked, data: { reason: 'r' } })).toEqual([touch({ state: 'locked' })]);
    expect(reduce({ type: UserEventType.Unlocked, data: {} })).toEqual([touch({ state: 'active' })]);
    expect(reduce({ type: UserEventType.EmailCodeSent, data: {} })).toEqual([touch()]);
  });

  it('given Removed, then the users row and every factor row deleted: nothing of the user stays readable', () => {
    const changes = reduce({ type: UserEventType.Removed, data: {} });
    expect(changes[0]).toEqual({ op: 'delete', table: usersTable, key: { id: ADA } });
    expect(changes.slice(1)).toContainEqual({ op: 'delete', table: userAuthMethodsTable, key: { user_id: ADA, method_type: 'OTP_EMAIL' } });
    expect(changes.every((change) => change.op === 'delete')).toBe(true);
  });

  it('has a reducer for every user event type', () => {
    expect(Object.keys(userReducers).sort()).toEqual(Object.values(UserEventType).sort());
  });

  it('given a user event on a stream that is not a user stream, then it throws, naming the event', () => {
    expect(() => reduce({ type: UserEventType.Unlocked, data: {} }, 'org-1')).toThrow('event e-4 of type user.unlocked is on stream org-1, not on a user stream');
  });
});
