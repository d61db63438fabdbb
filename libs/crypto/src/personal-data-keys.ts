import { randomBytes } from 'node:crypto';
import { sql, type Kysely, type Migration } from 'kysely';
import { preparedStatement, type SqlDatabase } from '#database';
import { CodeCipher } from './code-cipher.js';

/**
 * The data keys that seal personal data, one per person (the subject: a user id), in their own
 * table, `crypto.personal_data_keys`. Each key is 32 random bytes, stored sealed under the
 * service key (CodeCipher: `key_id` names the service key that sealed it, so the service key can
 * rotate: `rewrap` seals every key again under the current one). Destroying a subject's key
 * (DeleteUser, the operator's erase) sets `crypted` to NULL and keeps the row as a tombstone: a
 * sealed value of that subject is then unreadable for good, and readers can tell "erased"
 * from "never had a key". Nothing else in the database can open the values.
 */
export const PERSONAL_DATA_KEYS_HISTORY = 'personal_data_keys';
const TABLE = 'crypto.personal_data_keys';

/** The one declaration of the keys table. */
export const personalDataKeyMigrations: Record<string, Migration> = {
  '0001_personal_data_keys': {
    async up(db) {
      await sql`create schema if not exists crypto`.execute(db);
      await sql`
        create table crypto.personal_data_keys (
          subject text primary key,
          key_id text,
          crypted text,
          created_at timestamptz not null default now(),
          destroyed_at timestamptz
        )`.execute(db);
    },
    async down(db) {
      await sql`drop table crypto.personal_data_keys`.execute(db);
    },
  },
};

/**
 * The subject of the key behind the username index (the HMAC of usernames in claim stream
 * names): not a user id, never destroyed.
 */
export const USERNAME_INDEX_SUBJECT = '~username-index';

/** A subject's key: its cipher, or `erased` when the key was destroyed. */
export type DataKey = { cipher: CodeCipher } | 'erased';

const CACHE_LIMIT = 10_000;
/**
 * How long a live key is kept in memory. A key destroyed by another process (the CLI's erase
 * while the server runs) stops opening values here after at most this long; one destroyed by
 * this process at once.
 */
const LIVE_KEY_TTL_MS = 60_000;

/** Destroys a person's data key: what DeleteUser needs of the key store. */
export interface PersonalDataEraser {
  destroy(subject: string): Promise<void>;
}
export const PERSONAL_DATA_KEYS = Symbol('PersonalDataKeys');

const READ_KEY = preparedStatement('personal_data_key', `select key_id, crypted from ${TABLE} where subject = $1`);

export class PersonalDataKeys implements PersonalDataEraser {
  private readonly cache = new Map<string, { key: DataKey; until: number }>();
  /**
   * Loads in flight, one per subject: a stream's events are opened side by side and most name
   * the same person, so a key not in the cache was read once per sealed event.
   */
  private readonly loading = new Map<string, Promise<DataKey | undefined>>();
  private readonly db: Kysely<any>;

  constructor(
    private readonly database: SqlDatabase,
    private readonly serviceKeys: CodeCipher,
  ) {
    this.db = database.db;
  }

  /** The subject's key; created when `create` and none exists; undefined when none exists. */
  async keyOf(subject: string, create = false): Promise<DataKey | undefined> {
    const cached = this.cache.get(subject);
    if (cached && (cached.key === 'erased' || cached.until > Date.now())) return cached.key;
    const pending = this.loading.get(subject);
    if (pending) {
      const key = await pending;
      if (key !== undefined || !create) return key;
    }
    const load = this.load(subject, create).finally(() => {
      if (this.loading.get(subject) === load) this.loading.delete(subject);
    });
    this.loading.set(subject, load);
    return load;
  }

  private async load(subject: string, create: boolean): Promise<DataKey | undefined> {
    let row = await this.read(subject);
    if (!row && create) {
      const sealed = this.serviceKeys.encrypt(randomBytes(32).toString('base64'));
      await sql`insert into ${sql.raw(TABLE)} (subject, key_id, crypted) values (${subject}, ${sealed.keyId}, ${sealed.crypted}) on conflict (subject) do nothing`.execute(
        this.db,
      );
      row = await this.read(subject);
    }
    if (!row) return undefined;
    // Destroyed while this read was on its way: the tombstone stands, never a live key over it.
    if (this.cache.get(subject)?.key === 'erased') return 'erased';
    const key: DataKey =
      row.crypted === null || row.key_id === null
        ? 'erased'
        : { cipher: new CodeCipher(Buffer.from(this.serviceKeys.decrypt({ keyId: row.key_id, crypted: row.crypted }), 'base64')) };
    this.remember(subject, key);
    return key;
  }

  /**
   * Destroys the subject's key for good (a tombstone stays, so that its values read as erased).
   * A subject without a key gets a tombstone too: nothing can be sealed for it afterwards.
   */
  async destroy(subject: string): Promise<void> {
    if (subject === USERNAME_INDEX_SUBJECT) throw new RangeError('the username index key is never destroyed');
    await sql`
      insert into ${sql.raw(TABLE)} (subject, key_id, crypted, destroyed_at) values (${subject}, null, null, now())
      on conflict (subject) do update set key_id = null, crypted = null, destroyed_at = coalesce(${sql.raw(TABLE)}.destroyed_at, now())`.execute(this.db);
    this.loading.delete(subject);
    this.remember(subject, 'erased');
  }

  /** Whether the subject's key was destroyed. */
  async isErased(subject: string): Promise<boolean> {
    return (await this.keyOf(subject)) === 'erased';
  }

  /**
   * The keyed hash that stands for a username in its claim stream's name: HMAC-SHA256 under the
   * username index key (itself sealed under the service key, so rotating the service key keeps
   * every name's hash).
   */
  async usernameIndex(normalized: string): Promise<string> {
    const key = await this.keyOf(USERNAME_INDEX_SUBJECT, true);
    if (!key || key === 'erased') throw new Error('the username index key is unavailable');
    return key.cipher.hmac(normalized);
  }

  /** Seals every live key again under the current service key (after a rotation); returns how many changed. */
  async rewrap(): Promise<number> {
    const { rows } = await sql<{ subject: string; key_id: string; crypted: string }>`
      select subject, key_id, crypted from ${sql.raw(TABLE)} where crypted is not null and key_id <> ${this.serviceKeys.keyId}`.execute(this.db);
    for (const row of rows) {
      const sealed = this.serviceKeys.encrypt(this.serviceKeys.decrypt({ keyId: row.key_id, crypted: row.crypted }));
      await sql`update ${sql.raw(TABLE)} set key_id = ${sealed.keyId}, crypted = ${sealed.crypted} where subject = ${row.subject} and crypted is not null`.execute(this.db);
    }
    return rows.length;
  }

  private async read(subject: string): Promise<{ key_id: string | null; crypted: string | null } | undefined> {
    const [row] = await this.database.run<{ key_id: string | null; crypted: string | null }>(READ_KEY, [subject]);
    return row;
  }

  private remember(subject: string, key: DataKey): void {
    if (this.cache.size >= CACHE_LIMIT) this.cache.delete(this.cache.keys().next().value!);
    this.cache.delete(subject);
    this.cache.set(subject, { key, until: Date.now() + LIVE_KEY_TTL_MS });
  }
}
