import { sql, type Transaction } from 'kysely';
import type { RecordedEvent } from '#eventstore';
import { UserEventType, userIdOfStream, type UserEvent } from '#user';
import type { BatchReducer } from '#projections/runner';
import { USER_COLUMNS, type UserTables } from './schema.js';
import { AuthMethodType } from './user-view.js';

type DataOf<T extends UserEvent['type']> = Extract<UserEvent, { type: T }>['data'];
const dataOf = <T extends UserEvent['type']>(event: RecordedEvent, _type: T) => event.data as unknown as DataOf<T>;

const USER_EVENT_TYPES: ReadonlySet<string> = new Set(Object.values(UserEventType));

export function userIdOf(event: RecordedEvent): string {
  const userId = userIdOfStream(event.stream);
  if (!userId) throw new Error(`event ${event.id} of type ${event.type} is on stream ${event.stream}, not on a user stream`);
  return userId;
}

type Row = Record<string, unknown> & { id: string; sequence: number };

/**
 * The columns a reducer changes after the user was created (the guarded UPDATEs of
 * user-projection.ts), besides `sequence` and `change_date`. The fold loads only these for the
 * users a batch touches, and writes back only these; a reducer that sets another column makes
 * the fold throw (and the runner apply that batch event by event), so a new reducer never
 * gives wrong rows, only a slower replay until it is added here.
 */
const MUTABLE_COLUMNS = ['email', 'email_verified', 'otp_email', 'state'] as const;
const MUTABLE: ReadonlySet<string> = new Set(MUTABLE_COLUMNS);

interface Method {
  sequence: number;
  change_date: Date;
}
interface UserState {
  /** The row: loaded (id, sequence and the mutable columns), or whole when created in this batch. */
  row: Row | undefined;
  /** True when the row was created in this batch (written with an INSERT). */
  created: boolean;
  /** True when an existing row changed (written with an UPDATE). */
  changed: boolean;
  /** method_type → the row, or null once deleted; only the factors the batch changed. */
  methods: Map<string, Method | null>;
}

/**
 * The user read model's batch fold: the same rows as the reducers in user-projection.ts
 * applied one by one, with a handful of statements per batch instead of one or two per event.
 * It loads, for the users the batch touches, their `sequence` and the columns reducers change
 * (MUTABLE_COLUMNS), folds the events in memory with exactly the reducers' rules
 * (HumanAdded/MachineAdded insert unless the row exists; every other user event applies only
 * when `row.sequence < event.sequence`; an undefined value leaves a column as it is, as
 * kysely's `set` does), then writes: one multi-row INSERT for the users created in the batch,
 * one UPDATE ... FROM for the others that changed, one DELETE and one INSERT ... ON CONFLICT
 * for the factors whose state changed (their final state; the rows before do not matter).
 * Anything odd (an event off a user stream, a payload without a field a NOT NULL column needs)
 * throws, and the runner applies the batch event by event to find and report the event.
 */
export function createUserBatchReducer(tables: UserTables): BatchReducer {
  const insertColumns = sql.join(USER_COLUMNS.map((c) => sql.ref(c)));

  return async (trx: Transaction<any>, events: readonly RecordedEvent[]) => {
    const users = new Map<string, UserState>();
    const relevant: Array<{ event: RecordedEvent; userId: string }> = [];
    for (const event of events) {
      if (!USER_EVENT_TYPES.has(event.type)) continue;
      const userId = userIdOf(event);
      relevant.push({ event, userId });
      if (!users.has(userId)) users.set(userId, { row: undefined, created: false, changed: false, methods: new Map() });
    }
    if (relevant.length === 0) return;

    const { rows } = await sql<Row>`
      select id, sequence, email, email_verified, otp_email, state from ${sql.table(tables.users)}
      where id = any(array(select jsonb_array_elements_text(${JSON.stringify([...users.keys()])}::jsonb)))`.execute(trx);
    for (const row of rows) users.get(row.id)!.row = row;

    for (const { event, userId } of relevant) fold(users.get(userId)!, userId, event);

    const created: Row[] = [];
    const changed: Row[] = [];
    const upserts: Array<{ user_id: string; method_type: string; sequence: number; change_date: Date }> = [];
    const deletes: Array<{ user_id: string; method_type: string }> = [];
    for (const [userId, u] of users) {
      if (u.created) created.push(u.row!);
      else if (u.changed) changed.push(u.row!);
      for (const [type, m] of u.methods) {
        if (m) upserts.push({ user_id: userId, method_type: type, sequence: m.sequence, change_date: m.change_date });
        else deletes.push({ user_id: userId, method_type: type });
      }
    }
    if (created.length > 0) {
      await sql`
        insert into ${sql.table(tables.users)} (${insertColumns})
        select ${insertColumns} from jsonb_populate_recordset(null::${sql.table(tables.users)}, ${JSON.stringify(created)}::jsonb)`.execute(trx);
    }
    if (changed.length > 0) {
      await sql`
        update ${sql.table(tables.users)} u
        set email = d.email, email_verified = d.email_verified, otp_email = d.otp_email, state = d.state,
            sequence = d.sequence, change_date = d.change_date
        from jsonb_to_recordset(${JSON.stringify(changed)}::jsonb)
          as d(id text, email text, email_verified boolean, otp_email boolean, state text, sequence integer, change_date timestamptz)
        where u.id = d.id`.execute(trx);
    }
    if (deletes.length > 0) {
      await sql`
        delete from ${sql.table(tables.authMethods)} m
        using jsonb_to_recordset(${JSON.stringify(deletes)}::jsonb) as d(user_id text, method_type text)
        where m.user_id = d.user_id and m.method_type = d.method_type`.execute(trx);
    }
    if (upserts.length > 0) {
      await sql`
        insert into ${sql.table(tables.authMethods)} (user_id, method_type, sequence, change_date)
        select user_id, method_type, sequence, change_date
        from jsonb_to_recordset(${JSON.stringify(upserts)}::jsonb) as m(user_id text, method_type text, sequence integer, change_date timestamptz)
        on conflict (user_id, method_type) do update set sequence = excluded.sequence, change_date = excluded.change_date`.execute(trx);
    }
  };
}

/** One event on the user's state: the reducers' rules, in memory. */
function fold(user: UserState, userId: string, event: RecordedEvent): void {
  /** The guarded UPDATE of the reducers: false when the event was already reduced or the user is unknown. */
  const touch = (columns: Record<string, unknown> = {}): boolean => {
    const row = user.row;
    if (!row || !(row.sequence < event.sequence)) return false;
    for (const [column, value] of Object.entries(columns)) {
      if (!MUTABLE.has(column)) throw new Error(`the batch fold does not write ${column}: add it to MUTABLE_COLUMNS`);
      if (value !== undefined) row[column] = value;
    }
    row.sequence = event.sequence;
    row.change_date = event.createdAt;
    user.changed = true;
    return true;
  };
  const setMethod = (type: string, method: Method | null) => user.methods.set(type, method);

  switch (event.type) {
    case UserEventType.HumanAdded: {
      const data = dataOf(event, UserEventType.HumanAdded);
      const row: Row = {
        id: userId,
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
        machine_name: null,
        machine_description: null,
        sequence: event.sequence,
        change_date: event.createdAt,
        creation_date: event.createdAt,
      };
      if (!user.row) {
        user.row = row;
        user.created = true;
      }
      return;
    }
    case UserEventType.MachineAdded: {
      const data = dataOf(event, UserEventType.MachineAdded);
      const row: Row = {
        id: userId,
        org_id: data.orgId,
        username: data.username,
        kind: 'machine',
        state: 'active',
        given_name: null,
        family_name: null,
        display_name: null,
        nick_name: null,
        preferred_language: null,
        email: null,
        email_verified: false,
        otp_email: false,
        machine_name: data.name,
        machine_description: data.description ?? null,
        sequence: event.sequence,
        change_date: event.createdAt,
        creation_date: event.createdAt,
      };
      if (!user.row) {
        user.row = row;
        user.created = true;
      }
      return;
    }
    case UserEventType.EmailChanged: {
      const data = dataOf(event, UserEventType.EmailChanged);
      touch({ email: data.email, email_verified: false });
      return;
    }
    case UserEventType.EmailVerified: {
      const data = dataOf(event, UserEventType.EmailVerified);
      touch({ email: data.email, email_verified: true });
      return;
    }
    case UserEventType.OtpEmailAdded:
      if (touch({ otp_email: true })) setMethod(AuthMethodType.OtpEmail, { sequence: event.sequence, change_date: event.createdAt });
      return;
    case UserEventType.OtpEmailRemoved:
      if (touch({ otp_email: false })) setMethod(AuthMethodType.OtpEmail, null);
      return;
    case UserEventType.Locked:
      touch({ state: 'locked' });
      return;
    case UserEventType.Unlocked:
      touch({ state: 'active' });
      return;
    default:
      touch();
  }
}
