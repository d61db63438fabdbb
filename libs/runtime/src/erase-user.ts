import { sql } from 'kysely';
import { ERASED_FIELD, HASHED_USERNAME_STREAM, SEALED_FIELD, type PersonalDataKeys, type PersonalDataPolicy } from '#crypto';
import type { SqlDatabase } from '#database';
import { failedPrecondition } from '#errors';
import { PostgresEventStore, type EventStore, type JsonObject } from '#eventstore';
import { personalDataPolicies } from './stores.js';

const LEGACY_USERNAME_STREAM = 'username-';

export interface PastDataErasure {
  /** Payloads whose personal fields were emptied. */
  rewritten: number;
  /** Events moved from a claim stream named by the plain username to its hashed name. */
  moved: number;
}

/**
 * Empties, in place, the personal fields the user's events still hold in plain text (written
 * before personal data was sealed per person): the user's stream, the username claims it made
 * (a claim stream still named by the plain name moves to its hashed name, all its events), and
 * the sessions that checked the user (login name, user agent). Sealed payloads are left alone:
 * the destroyed key already made them unreadable. PostgreSQL and PGlite only
 * (PostgresEventStore.rewriteInPlace); on EventStoreDB, FailedPrecondition `USER-EraseEs`
 * (docs/privacy.md says what an operator does there).
 */
export async function erasePastPersonalData(
  store: EventStore,
  database: SqlDatabase,
  keys: PersonalDataKeys,
  userId: string,
  policies: Readonly<Record<string, PersonalDataPolicy>> = personalDataPolicies,
): Promise<PastDataErasure> {
  if (!(store instanceof PostgresEventStore)) throw failedPrecondition('USER-EraseEs', 'Errors.User.Erase.StoreUnsupported');
  const { rows } = await sql<{ id: string; stream: string; type: string; data: JsonObject }>`
    select id::text as id, stream, type, data from eventstore.events
    where stream = ${`user-${userId}`}
       or (type = 'username.claimed' and data->>'userId' = ${userId})
       or stream in (select s.stream from eventstore.events s where s.type = 'session.user.checked' and s.data->>'userId' = ${userId})`.execute(database.db);

  const changes: { id: string; data?: JsonObject; stream?: string }[] = [];
  const legacyClaimStreams = new Set<string>();
  for (const event of rows) {
    if (event.type === 'username.claimed' && event.stream.startsWith(LEGACY_USERNAME_STREAM)) legacyClaimStreams.add(event.stream);
    const policy = policies[event.type];
    if (!policy || SEALED_FIELD in event.data || ERASED_FIELD in event.data) continue;
    // The sessions selected are this user's: their events' person is the user.
    if (policy.subject(event.stream, event.data, userId) !== userId) continue;
    if (!policy.fields.some((field) => field in event.data)) continue;
    const kept = Object.fromEntries(Object.entries(event.data).filter(([field]) => !policy.fields.includes(field)));
    changes.push({ id: event.id, data: { ...kept, ...structuredClone(policy.erased), [ERASED_FIELD]: true } });
  }

  let moved = 0;
  for (const stream of legacyClaimStreams) {
    const hashed = `${HASHED_USERNAME_STREAM}${await keys.usernameIndex(stream.slice(LEGACY_USERNAME_STREAM.length))}`;
    const { rows: existing } = await sql<{ n: number }>`select count(*)::int as n from eventstore.events where stream = ${hashed}`.execute(database.db);
    // A hashed stream of that name cannot exist while the plain one does (every claimer uses the
    // plain one); should one, the plain one stays where it is rather than merging two histories.
    if ((existing[0]?.n ?? 0) > 0) continue;
    const { rows: claimEvents } = await sql<{ id: string }>`select id::text as id from eventstore.events where stream = ${stream}`.execute(database.db);
    for (const { id } of claimEvents) {
      const change = changes.find((c) => c.id === id);
      if (change) change.stream = hashed;
      else changes.push({ id, stream: hashed });
      moved++;
    }
  }
  await store.rewriteInPlace(changes);
  return { rewritten: changes.filter((c) => c.data).length, moved };
}
