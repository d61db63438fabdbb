import { afterAll, afterEach, beforeAll, describe, expect, it, jest } from '@jest/globals';
import { sql } from 'kysely';
import { serverDatabaseUrl } from '#database/testing';
import { readAllToHead, testBackend, type TestStores } from '#eventstore/testing';
import type { EventStore, JsonObject } from '#eventstore';
import { sessionPersonalData } from '#session';
import { userPersonalData } from '#user';
import { CodeCipher } from './code-cipher.js';
import { PERSONAL_DATA_KEYS_HISTORY, personalDataKeyMigrations, PersonalDataKeys } from './personal-data-keys.js';
import { ERASED_FIELD, SEALED_FIELD, withPersonalDataSealing } from './personal-data-sealing.js';

const policies = { ...userPersonalData, ...sessionPersonalData };
const OLD_KEY = { id: 'old', key: Buffer.alloc(32, 1) };
const NEW_KEY = { id: 'new', key: Buffer.alloc(32, 2) };
const humanAdded = (username: string) => ({
  type: 'user.human.added',
  data: { username, orgId: 'org-1', profile: { givenName: 'Augusta', familyName: 'Byron', displayName: 'Augusta Byron' }, email: `${username}@example.com` },
});

describe.each(serverDatabaseUrl ? (['pglite', 'server'] as const) : (['pglite'] as const))('personal data sealed per person (%s)', (kind) => {
  let stores: TestStores;
  let store: EventStore;
  let keys: PersonalDataKeys;
  let n = 0;
  const fresh = () => `${Date.now()}${n++}`;
  /** Every byte the event table holds for a stream name or payload, as text. */
  const dump = async () => {
    const { rows } = await sql<{ text: string }>`select stream || ' ' || data::text || ' ' || metadata::text as text from eventstore.events`.execute(stores.database.db);
    return rows.map((r) => r.text).join('\n');
  };

  beforeAll(async () => {
    stores = await testBackend(kind, 'sealing').open({ [PERSONAL_DATA_KEYS_HISTORY]: personalDataKeyMigrations });
    keys = new PersonalDataKeys(stores.database, new CodeCipher([OLD_KEY], 'old'));
    store = withPersonalDataSealing(stores.store, keys, policies);
  });
  afterAll(async () => {
    await stores?.cleanup();
  });

  it('writes the personal fields sealed and reads them back plain', async () => {
    const user = fresh();
    await store.append(`user-${user}`, [humanAdded(`augusta${user}`), { type: 'user.email.changed', data: { email: `ada${user}@example.org` } }], 'no_stream');
    const raw = await dump();
    expect(raw).not.toContain(`augusta${user}`);
    expect(raw).not.toContain('Byron');
    expect(raw).not.toContain(`ada${user}@example.org`);
    const [added, changed] = await store.readStream(`user-${user}`);
    expect(added!.data).toEqual(humanAdded(`augusta${user}`).data);
    expect(changed!.data).toEqual({ email: `ada${user}@example.org` });
    expect((await readAllToHead(store)).find((e) => e.id === added!.id)!.data).toEqual(added!.data);
  });

  it('keeps a field named __proto__ a field of the payload, sealed and opened', async () => {
    const user = fresh();
    const data = JSON.parse(`{"__proto__": {"polluted": true}, "username": "proto${user}", "orgId": "org-1", "email": "p${user}@example.com"}`) as JsonObject;
    await store.append(`user-${user}`, [{ type: 'user.human.added', data }], 'no_stream');
    const [added] = await store.readStream(`user-${user}`);
    expect(Object.getPrototypeOf(added!.data)).toBe(Object.prototype);
    expect(Object.hasOwn(added!.data, '__proto__')).toBe(true);
    expect(JSON.parse(JSON.stringify(added!.data))).toEqual(JSON.parse(JSON.stringify(data)));
  });

  it('reads the events of a person whose key was destroyed as erased, never as a failure', async () => {
    const user = fresh();
    await store.append(`user-${user}`, [humanAdded(`gone${user}`), { type: 'user.otp.email.added', data: {} }], 'no_stream');
    await keys.destroy(user);
    // Another process, with its own cache, sees the same.
    const other = withPersonalDataSealing(new (stores.store.constructor as new (db: unknown) => EventStore)(stores.database), new PersonalDataKeys(stores.database, new CodeCipher([OLD_KEY], 'old')), policies);
    for (const reader of [store, other]) {
      const [added, otp] = await reader.readStream(`user-${user}`);
      expect(added!.data).toEqual({ orgId: 'org-1', username: '', profile: { givenName: '', familyName: '', displayName: '' }, email: '', [ERASED_FIELD]: true });
      expect(otp!.data).toEqual({});
    }
    expect(JSON.stringify(await readAllToHead(store))).not.toContain(`gone${user}`);
    // Nothing personal of an erased person is written again: a command that raced the deletion
    // meets the user as not found (a 404, not a server error), and nothing is appended.
    const before = (await stores.store.readStream(`user-${user}`)).length;
    await expect(store.append(`user-${user}`, [{ type: 'user.email.changed', data: { email: 'x@example.com' } }], 'any')).rejects.toMatchObject({
      kind: 'NotFound',
      id: 'CRYPTO-Erased',
    });
    expect(await stores.store.readStream(`user-${user}`)).toHaveLength(before);
  });

  it('names username claim streams by a keyed hash, and keeps using a claim stream written before', async () => {
    const name = `grace${fresh()}`;
    await store.append(`username-${name}`, [{ type: 'username.claimed', data: { userId: 'u-1', username: name } }], 'no_stream');
    expect(await dump()).not.toContain(name);
    expect((await store.readStream(`username-${name}`)).map((e) => e.data)).toEqual([{ userId: 'u-1', username: name }]);
    const stream = (await store.readStream(`username-${name}`))[0]!.stream;
    expect(stream).toMatch(/^username#[0-9a-f]{64}$/);
    // The same name hashes the same in another process (the index key is in the table, not in memory).
    const other = new PersonalDataKeys(stores.database, new CodeCipher([OLD_KEY], 'old'));
    expect(`username#${await other.usernameIndex(name)}`).toBe(stream);

    // A claim stream of the plain name, as written before this change: still read and continued.
    const legacy = `hopper${fresh()}`;
    await stores.store.append(`username-${legacy}`, [{ type: 'username.claimed', data: { userId: 'u-2', username: legacy } }], 'no_stream');
    expect((await store.readStream(`username-${legacy}`)).map((e) => e.data.userId)).toEqual(['u-2']);
    await store.append(`username-${legacy}`, [{ type: 'username.released', data: { userId: 'u-2' } }], 1);
    expect((await stores.store.readStream(`username-${legacy}`)).map((e) => e.type)).toEqual(['username.claimed', 'username.released']);
  });

  it('seals a session’s login name and user agent under the checked user’s key', async () => {
    const user = fresh();
    await store.append(
      `session-${user}`,
      [
        { type: 'session.added', data: { userAgent: `Browser of ${user}` } },
        { type: 'session.user.checked', data: { userId: user, orgId: 'org-1', loginName: `login${user}`, checkedAt: new Date().toISOString() } },
      ],
      'no_stream',
    );
    const raw = await dump();
    expect(raw).not.toContain(`login${user}`);
    expect(raw).not.toContain(`Browser of ${user}`);
    expect((await store.readStream(`session-${user}`))[1]!.data).toMatchObject({ userId: user, loginName: `login${user}` });
    await keys.destroy(user);
    expect((await store.readStream(`session-${user}`)).map((e) => e.data)).toEqual([
      { [ERASED_FIELD]: true },
      expect.objectContaining({ userId: user, loginName: '', [ERASED_FIELD]: true }),
    ]);
  });

  it('seals the data keys again under a new service key (rotation); the old one can go afterwards', async () => {
    const user = fresh();
    await store.append(`user-${user}`, [humanAdded(`rotated${user}`)], 'no_stream');
    const rotating = new PersonalDataKeys(stores.database, new CodeCipher([OLD_KEY, NEW_KEY], 'new'));
    expect(await rotating.rewrap()).toBeGreaterThan(0);
    expect(await rotating.rewrap()).toBe(0);
    const onlyNew = withPersonalDataSealing(new (stores.store.constructor as new (db: unknown) => EventStore)(stores.database), new PersonalDataKeys(stores.database, new CodeCipher([NEW_KEY], 'new')), policies);
    expect((await onlyNew.readStream(`user-${user}`))[0]!.data).toMatchObject({ username: `rotated${user}` });
  });

  describe('the key cache', () => {
    afterEach(() => {
      jest.restoreAllMocks();
    });
    const keyReads = (run: { mock: { calls: unknown[][] } }) => run.mock.calls.filter(([statement]) => (statement as { name?: string }).name === 'personal_data_key').length;
    /** Another process's view: its own key cache, nothing in it yet. */
    const coldReader = () => {
      const coldKeys = new PersonalDataKeys(stores.database, new CodeCipher([OLD_KEY], 'old'));
      return { coldKeys, reader: withPersonalDataSealing(new (stores.store.constructor as new (db: unknown) => EventStore)(stores.database), coldKeys, policies) };
    };

    it('Given a person whose key is not cached, When a stream with several of their sealed events is read, Then their key is read once', async () => {
      const user = fresh();
      await store.append(
        `user-${user}`,
        [humanAdded(`many${user}`), { type: 'user.email.changed', data: { email: `b${user}@example.org` } }, { type: 'user.email.verified', data: { email: `b${user}@example.org` } }],
        'no_stream',
      );
      const { reader } = coldReader();
      const run = jest.spyOn(stores.database, 'run');
      const events = await reader.readStream(`user-${user}`);
      expect(events.map((e) => e.data.email)).toEqual([`many${user}@example.com`, `b${user}@example.org`, `b${user}@example.org`]);
      expect(keyReads(run)).toBe(1);
    });

    it('Given a person whose key is not cached, When a reader that needs no personal data reads their stream, Then no key is read and the fields stay sealed', async () => {
      const user = fresh();
      await store.append(`user-${user}`, [humanAdded(`sealed${user}`), { type: 'user.otp.email.added', data: {} }], 'no_stream');
      const { reader } = coldReader();
      const run = jest.spyOn(stores.database, 'run');
      const [added, otp] = await reader.readStream(`user-${user}`, { personalData: false });
      expect(keyReads(run)).toBe(0);
      expect(added!.data).toEqual({ orgId: 'org-1', [SEALED_FIELD]: expect.objectContaining({ subject: user }) });
      expect(JSON.stringify(added)).not.toContain(`sealed${user}`);
      expect(otp!.data).toEqual({});
      // The same reader asked for the personal data opens it, with one key read.
      expect((await reader.readStream(`user-${user}`))[0]!.data).toEqual(humanAdded(`sealed${user}`).data);
      expect(keyReads(run)).toBe(1);
    });

    it('Given a read of a live key on its way, When the key is destroyed before the read is remembered, Then the key reads as erased from then on', async () => {
      const user = fresh();
      await store.append(`user-${user}`, [humanAdded(`raced${user}`)], 'no_stream');
      const { coldKeys } = coldReader();
      let readDone!: () => void;
      const readIsDone = new Promise<void>((resolve) => (readDone = resolve));
      let proceed!: () => void;
      const mayProceed = new Promise<void>((resolve) => (proceed = resolve));
      const run = stores.database.run.bind(stores.database);
      jest.spyOn(stores.database, 'run').mockImplementation(async (statement, values) => {
        const rows = await run(statement, values);
        if (statement.name === 'personal_data_key') {
          readDone();
          await mayProceed;
        }
        return rows as never;
      });
      const inFlight = coldKeys.keyOf(user);
      await readIsDone;
      await coldKeys.destroy(user);
      proceed();
      expect(await inFlight).toBe('erased');
      expect(await coldKeys.keyOf(user)).toBe('erased');
    });
  });
});
