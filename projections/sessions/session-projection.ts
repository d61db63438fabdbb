import type { RecordedEvent } from '#eventstore';
import { SessionEventType, sessionIdOfStream, userAgentOfAdded, type SessionEvent } from '#session/events';
import { UserEventType, userIdOfStream } from '#user/events';
import { changeProjection, versionedReadModel, type Change, type ChangeReducer, type Projection, type VersionedProjection } from '#projections/runner';
import { SESSION_PROJECTION_HISTORY, sessionProjectionMigrations, sessionsReadModel, sessionsTable, sessionTables, type SessionRow } from './schema.js';

export const SESSION_PROJECTION_NAME = 'sessions';

export function sessionIdOf(event: Pick<RecordedEvent, 'id' | 'type' | 'stream'>): string {
  const sessionId = sessionIdOfStream(event.stream);
  if (!sessionId) throw new Error(`event ${event.id} of type ${event.type} is on stream ${event.stream}, not on a session stream`);
  return sessionId;
}

type SessionEventOf<T extends SessionEvent['type']> = Omit<RecordedEvent, 'type' | 'data'> & Extract<SessionEvent, { type: T }>;
type RecordedEventHead = Omit<RecordedEvent, 'data'>;
type SessionReducers = { readonly [T in SessionEvent['type']]: (event: SessionEventOf<T>) => readonly Change[] };

/** Moves the session's details (sequence, change_date) to the event and sets `columns`, unless the event was already reduced. */
function touch(event: RecordedEventHead, columns: Partial<Omit<SessionRow, 'id' | 'sequence' | 'change_date'>> = {}): Change {
  return sessionsTable.update({ id: sessionIdOf(event) }, Object.assign({ sequence: event.sequence, change_date: event.createdAt }, columns));
}

const text = (value: unknown) => (typeof value === 'string' ? value : '');

/**
 * The sessions read model's reducers, pure functions from a session event to row changes (the
 * runner applies them; apply-changes.ts). `session.added` inserts the row, with its creator
 * (the event's editor) and organization (its resource owner); every later event moves the
 * details in an update guarded by the row's sequence, so reducing an event twice changes
 * nothing. Terminated sessions keep their row, marked.
 */
const reducers: SessionReducers = {
  [SessionEventType.Added]: (event) => {
    const agent = userAgentOfAdded(event.data);
    return [
      sessionsTable.insert({
        id: sessionIdOf(event),
        creator: text(event.metadata['editor']),
        resource_owner: text(event.metadata['resourceOwner']),
        user_agent_fingerprint_id: agent?.fingerprintId ?? null,
        user_agent_ip: agent?.ip ?? null,
        user_agent_description: agent?.description ?? null,
        user_agent_header: agent?.header ? JSON.stringify(agent.header) : null,
        metadata: '{}',
        terminated: false,
        sequence: event.sequence,
        creation_date: event.createdAt,
        change_date: event.createdAt,
      }),
    ];
  },
  [SessionEventType.UserChecked]: (event) => [
    touch(event, {
      user_id: event.data.userId,
      user_org_id: event.data.orgId,
      resource_owner: event.data.orgId,
      login_name: event.data.loginName,
      user_checked_at: new Date(event.data.checkedAt),
    }),
  ],
  [SessionEventType.OtpEmailChecked]: (event) => [touch(event, { otp_email_checked_at: new Date(event.data.checkedAt) })],
  [SessionEventType.LifetimeSet]: (event) => [touch(event, { expiration: new Date(event.data.expiresAt) })],
  [SessionEventType.MetadataSet]: (event) => [touch(event, { metadata: JSON.stringify(event.data.metadata) })],
  [SessionEventType.Terminated]: (event) => [touch(event, { terminated: true })],
  // The events that change nothing listed still move the details.
  [SessionEventType.OtpEmailChallenged]: (event) => [touch(event)],
  [SessionEventType.OtpEmailSent]: (event) => [touch(event)],
  [SessionEventType.TokenSet]: (event) => [touch(event)],
};

/**
 * A deleted user's sessions end with it and leave no row behind: nothing of them (login name,
 * user agent) can be listed or found again.
 */
const userRemoved: ChangeReducer = (event) => {
  const userId = userIdOfStream(event.stream);
  if (!userId) throw new Error(`event ${event.id} of type ${event.type} is on stream ${event.stream}, not on a user stream`);
  return [sessionsTable.deleteWhere({ user_id: userId })];
};

/** By event type. The store's events are untyped; an event of a session event type carries that type's data. */
export const sessionReducers: Readonly<Record<string, ChangeReducer>> = {
  ...(reducers as unknown as Record<string, ChangeReducer>),
  [UserEventType.Removed]: userRemoved,
};

/** The sessions read model on a set of tables (version 1's by default), with its own checkpoint name. */
export function createSessionProjection(target: { version: number } | { scratch: string } = { version: 1 }, name = SESSION_PROJECTION_NAME): Projection {
  return changeProjection({ name, historyTable: SESSION_PROJECTION_HISTORY, migrations: sessionProjectionMigrations, names: sessionTables(target), reducers: sessionReducers });
}

/** Version 1 (table `projections.sessions`, checkpoint `sessions`). */
export const sessionProjection: Projection = createSessionProjection();

/** The sessions read model with its versions (`projections replay sessions` builds `sessions_vN`, checkpoint `sessions@N`). */
export const sessionProjections: VersionedProjection = versionedReadModel({
  name: SESSION_PROJECTION_NAME,
  historyTable: SESSION_PROJECTION_HISTORY,
  migrations: sessionProjectionMigrations,
  model: sessionsReadModel,
  reducers: sessionReducers,
});
