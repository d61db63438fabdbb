import { sql, type Kysely } from 'kysely';
import type { AppendedEvent, EventStore, JsonObject } from '#eventstore';
import { UserEventType, userStream, type UserEvent } from '#user';
import type { ProjectionTable } from '#projections/runner';

/** A small seeded PRNG (mulberry32), so a failing history can be replayed. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export const ORG = '100000000000000001';
export const userIdOf = (n: number) => `2${String(n).padStart(17, '0')}`;

const metadata = (orgId: string, userId: string): JsonObject => ({
  instanceId: 'instance-1',
  resourceOwner: orgId,
  editor: 'system',
  correlationId: `history-${userId}`,
});

/** Every kind of user event, some of them out of order or repeated (a read model must take anything). */
function randomUserEvent(random: () => number, n: number): UserEvent {
  const pick = random();
  if (pick < 0.14) return { type: UserEventType.EmailChanged, data: { email: `u${n}.${Math.floor(random() * 1000)}@example.com` } };
  if (pick < 0.26) return { type: UserEventType.EmailVerified, data: { email: `u${n}@example.com` } };
  if (pick < 0.44) return { type: UserEventType.OtpEmailAdded, data: {} };
  if (pick < 0.58) return { type: UserEventType.OtpEmailRemoved, data: {} };
  if (pick < 0.64) return { type: UserEventType.Locked, data: { reason: 'too many failed checks' } };
  if (pick < 0.7) return { type: UserEventType.Unlocked, data: {} };
  if (pick < 0.78) {
    return {
      type: UserEventType.EmailCodeAdded,
      data: { code: { keyId: 'k1', crypted: 'AAAA' }, expiresAt: '2030-01-01T00:00:00Z', sendEmail: true },
    };
  }
  if (pick < 0.84) return { type: UserEventType.EmailCodeSent, data: {} };
  if (pick < 0.9) return { type: UserEventType.PatAdded, data: { tokenId: `t${n}`, hash: 'h' } };
  return { type: UserEventType.OtpEmailCheckSucceeded, data: {} } as UserEvent;
}

function created(random: () => number, n: number): UserEvent {
  if (random() < 0.15) {
    return { type: UserEventType.MachineAdded, data: { username: `robot${n}`, orgId: ORG, name: `Robot ${n}`, ...(random() < 0.5 ? { description: 'CI' } : {}) } };
  }
  return {
    type: UserEventType.HumanAdded,
    data: {
      username: `user${n}`,
      orgId: ORG,
      profile: {
        givenName: `Given${n}`,
        familyName: `Family${n}`,
        displayName: `User ${n}`,
        ...(random() < 0.5 ? { nickName: `nick${n}` } : {}),
        ...(random() < 0.5 ? { preferredLanguage: 'en' } : {}),
      },
      email: `u${n}@example.com`,
    },
  };
}

/**
 * Appends a random, interleaved history of `users` users (each created first, then 0 to
 * `maxEvents` events of every kind, sometimes two at once), with events of other streams in
 * between; ends with OTP Email added, removed and added again for the first user. Returns
 * every appended event in position order.
 */
export async function appendRandomHistory(store: EventStore, options: { seed: number; users: number; maxEvents: number }): Promise<AppendedEvent[]> {
  const random = prng(options.seed);
  const remaining = new Map<number, number>();
  const pending: number[] = [];
  for (let n = 1; n <= options.users; n++) pending.push(n);
  const appended: AppendedEvent[] = [];
  const active: number[] = [];
  while (pending.length > 0 || active.length > 0) {
    if (pending.length > 0 && (active.length === 0 || random() < 0.3)) {
      const n = pending.shift()!;
      const event = created(random, n);
      appended.push(...(await append(store, n, [event])));
      remaining.set(n, Math.floor(random() * (options.maxEvents + 1)));
      active.push(n);
      continue;
    }
    const i = Math.floor(random() * active.length);
    const n = active[i]!;
    const count = random() < 0.2 ? 2 : 1;
    appended.push(...(await append(store, n, Array.from({ length: count }, () => randomUserEvent(random, n)))));
    const left = remaining.get(n)! - count;
    remaining.set(n, left);
    if (left <= 0) active.splice(i, 1);
    if (random() < 0.05) appended.push(...(await store.append('org-1', [{ type: 'org.changed', data: { name: 'x' } }], 'any')).events);
  }
  appended.push(
    ...(await append(store, 1, [{ type: UserEventType.EmailVerified, data: { email: 'u1@example.com' } }])),
    ...(await append(store, 1, [{ type: UserEventType.OtpEmailAdded, data: {} }])),
    ...(await append(store, 1, [{ type: UserEventType.OtpEmailRemoved, data: {} }])),
    ...(await append(store, 1, [{ type: UserEventType.OtpEmailAdded, data: {} }])),
  );
  return appended;
}

async function append(store: EventStore, n: number, events: UserEvent[]): Promise<AppendedEvent[]> {
  const userId = userIdOf(n);
  const result = await store.append(
    userStream(userId),
    events.map((e) => ({ type: e.type, data: e.data as unknown as JsonObject, metadata: metadata(ORG, userId) })),
    'any',
  );
  return result.events;
}

/** Every row of every table, ordered by key, every column (what "equal" means in these tests). */
export async function snapshotTables(db: Kysely<any>, tables: ProjectionTable[]): Promise<Record<string, unknown[]>> {
  const out: Record<string, unknown[]> = {};
  for (const table of tables) {
    const { rows } = await sql`
      select ${sql.join(table.columns.map((c) => sql.ref(c)))} from ${sql.table(table.name)}
      order by ${sql.join(table.key.map((c) => sql.ref(c)))}`.execute(db);
    // The key of the snapshot is the table's role, not its name, so versions compare.
    out[table.key.join(',')] = rows;
  }
  return out;
}
