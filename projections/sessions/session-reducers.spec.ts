import { describe, expect, it } from '@jest/globals';
import type { JsonObject, RecordedEvent } from '#eventstore';
import { SessionEventType, type SessionEvent } from '#session/events';
import { UserEventType } from '#user/events';
import { sessionsTable } from './schema.js';
import { sessionReducers } from './session-projection.js';

const SESSION = '400000000000000001';
const at = new Date('2026-01-02T03:04:05.678Z');

/** The event as the store records it: the 3rd on the session's stream, written by a login client for org-1. */
function recorded(event: SessionEvent, stream = `session-${SESSION}`): RecordedEvent {
  return {
    id: 'e-3',
    stream,
    type: event.type,
    sequence: 3,
    position: '42',
    createdAt: at,
    data: event.data as unknown as JsonObject,
    metadata: { instanceId: 'instance-1', resourceOwner: 'org-1', editor: 'client-1', correlationId: 'c-1' },
  };
}
const reduce = (event: SessionEvent, stream?: string) => sessionReducers[event.type]!(recorded(event, stream));
/** The guarded update every later session event makes: to this event's sequence and time. */
const touch = (columns: Record<string, unknown> = {}) => ({ op: 'update', table: sessionsTable, key: { id: SESSION }, set: { ...columns, sequence: 3, change_date: at } });

const insertedRow = (columns: Record<string, unknown>) => ({
  op: 'insert',
  table: sessionsTable,
  row: {
    id: SESSION,
    creator: 'client-1',
    resource_owner: 'org-1',
    user_agent_fingerprint_id: null,
    user_agent_ip: null,
    user_agent_description: null,
    user_agent_header: null,
    metadata: '{}',
    terminated: false,
    sequence: 3,
    creation_date: at,
    change_date: at,
    ...columns,
  },
});

describe('sessions read model reducers: event → row changes', () => {
  it('given session.added with the whole user agent, then a row with its creator (the editor), organization and user agent', () => {
    const event: SessionEvent = {
      type: SessionEventType.Added,
      data: { userAgent: 'Firefox on Linux', fingerprintId: 'fp-1', ip: '10.0.0.7', header: { 'user-agent': ['Firefox'], 'accept-language': ['de', 'en'] } },
    };
    expect(reduce(event)).toEqual([
      insertedRow({
        user_agent_fingerprint_id: 'fp-1',
        user_agent_ip: '10.0.0.7',
        user_agent_description: 'Firefox on Linux',
        user_agent_header: JSON.stringify({ 'user-agent': ['Firefox'], 'accept-language': ['de', 'en'] }),
      }),
    ]);
  });

  it('given an older session.added (a description only, or nothing), then the row with what it names', () => {
    expect(reduce({ type: SessionEventType.Added, data: { userAgent: 'jest' } })).toEqual([insertedRow({ user_agent_description: 'jest' })]);
    expect(reduce({ type: SessionEventType.Added, data: {} })).toEqual([insertedRow({})]);
  });

  it('given a user check, then the user, its organization (now the session\'s) and the check time', () => {
    expect(reduce({ type: SessionEventType.UserChecked, data: { userId: 'u-1', orgId: 'org-2', loginName: 'ada', checkedAt: '2026-01-02T03:04:00.000Z' } })).toEqual([
      touch({ user_id: 'u-1', user_org_id: 'org-2', resource_owner: 'org-2', login_name: 'ada', user_checked_at: new Date('2026-01-02T03:04:00.000Z') }),
    ]);
  });

  it('given the OTP Email check, lifetime, metadata and termination, then their columns in the guarded update', () => {
    expect(reduce({ type: SessionEventType.OtpEmailChecked, data: { checkedAt: '2026-01-02T03:05:00.000Z' } })).toEqual([
      touch({ otp_email_checked_at: new Date('2026-01-02T03:05:00.000Z') }),
    ]);
    expect(reduce({ type: SessionEventType.LifetimeSet, data: { lifetimeMs: 60_000, expiresAt: '2026-01-02T03:06:00.000Z' } })).toEqual([
      touch({ expiration: new Date('2026-01-02T03:06:00.000Z') }),
    ]);
    expect(reduce({ type: SessionEventType.MetadataSet, data: { metadata: { app: 'Y29uc29sZQ==' } } })).toEqual([touch({ metadata: '{"app":"Y29uc29sZQ=="}' })]);
    expect(reduce({ type: SessionEventType.Terminated, data: {} })).toEqual([touch({ terminated: true })]);
  });

  it('given a challenge, a sent email or a new token, then the details only (nothing secret reaches the read model)', () => {
    expect(reduce({ type: SessionEventType.TokenSet, data: { tokenId: 't-1', hash: 'ab'.repeat(32) } })).toEqual([touch()]);
    expect(reduce({ type: SessionEventType.OtpEmailSent, data: { challengeSequence: 2 } })).toEqual([touch()]);
    expect(
      reduce({ type: SessionEventType.OtpEmailChallenged, data: { userId: 'u-1', code: { keyId: 'k', crypted: 'x' }, expiresAt: at.toISOString(), returnCode: false } }),
    ).toEqual([touch()]);
  });

  it('has a reducer for every session event type, and for a user\'s removal', () => {
    expect(Object.keys(sessionReducers).sort()).toEqual([...Object.values(SessionEventType), UserEventType.Removed].sort());
  });

  it('given user.removed, then every session of that user goes (found by its user, not its key)', () => {
    const removed: RecordedEvent = { ...recorded({ type: SessionEventType.Terminated, data: {} }, 'user-200000000000000001'), type: UserEventType.Removed, data: {} };
    expect(sessionReducers[UserEventType.Removed]!(removed)).toEqual([{ op: 'deleteWhere', table: sessionsTable, where: { user_id: '200000000000000001' } }]);
  });

  it('given a session event on a stream that is not a session stream, then it throws, naming the event', () => {
    expect(() => reduce({ type: SessionEventType.Terminated, data: {} }, 'user-1')).toThrow('event e-3 of type session.terminated is on stream user-1, not on a session stream');
  });
});
