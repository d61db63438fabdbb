import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { sql } from 'kysely';
import { CodeCipher, ERASED_FIELD, PERSONAL_DATA_KEYS_HISTORY, personalDataKeyMigrations, PersonalDataKeys, withPersonalDataSealing } from '#crypto';
import { serverDatabaseUrl } from '#database/testing';
import type { EventStore } from '#eventstore';
import { readAllToHead, testBackend, type TestStores } from '#eventstore/testing';
import { foldUsernameClaim, foldUser, type UsernameEvent } from '#user';
import { erasePastPersonalData } from './erase-user.js';
import { personalDataPolicies } from './stores.js';

const KEY = { id: 'k1', key: Buffer.alloc(32, 3) };
const human = (username: string, given: string) => ({
  type: 'user.human.added',
  data: { username, orgId: 'org-1', profile: { givenName: given, familyName: 'Oldrecord', displayName: `${given} Oldrecord` }, email: `${username}@example.com` },
});

describe.each(serverDatabaseUrl ? (['pglite', 'server'] as const) : (['pglite'] as const))('users erase: plain personal data from before sealing (%s)', (kind) => {
  let stores: TestStores;
  let sealed: EventStore;
  let keys: PersonalDataKeys;
  const dump = async () => {
    const { rows } = await sql<{ text: string }>`select stream || ' ' || data::text as text from eventstore.events order by transaction_id, global_seq`.execute(stores.database.db);
    return rows.map((r) => r.text).join('\n');
  };

  beforeAll(async () => {
    stores = await testBackend(kind, 'erase').open({ [PERSONAL_DATA_KEYS_HISTORY]: personalDataKeyMigrations });
    keys = new PersonalDataKeys(stores.database, new CodeCipher([KEY], 'k1'));
    sealed = withPersonalDataSealing(new (stores.store.constructor as new (db: unknown) => EventStore)(stores.database), keys, personalDataPolicies);
  });
  afterAll(async () => {
    await stores?.cleanup();
  });

  it('empties the user’s plain fields in place (user, claim and session streams), moves its claim stream to the hashed name, and leaves others alone', async () => {
    // As the store held them before sealing: written straight to the adapter, in plain text.
    const raw = stores.store;
    await raw.append('user-old1', [human('winifred', 'Winifred'), { type: 'user.email.changed', data: { email: 'wini@example.org' } }], 'no_stream');
    await raw.append('username-winifred', [{ type: 'username.claimed', data: { userId: 'old1', username: 'winifred' } }], 'no_stream');
    await raw.append('user-old2', [human('rosalind', 'Rosalind')], 'no_stream');
    await raw.append('username-rosalind', [{ type: 'username.claimed', data: { userId: 'old2', username: 'rosalind' } }], 'no_stream');
    await raw.append(
      'session-s1',
      [
        { type: 'session.added', data: { userAgent: 'Winifred’s laptop' } },
        { type: 'session.user.checked', data: { userId: 'old1', orgId: 'org-1', loginName: 'winifred', checkedAt: '2026-01-01T00:00:00.000Z' } },
        { type: 'session.token.set', data: { tokenId: 't', hash: 'h' } },
      ],
      'no_stream',
    );
    // Deleted (the release of its name included) before the operator erases it.
    await sealed.append('user-old1', [{ type: 'user.removed', data: {} }], 2);
    await sealed.append('username-winifred', [{ type: 'username.released', data: { userId: 'old1' } }], 1);
    // readAll never passes a transaction still open, on server PostgreSQL any of the cluster's
    // (another suite's): the positions are taken once it shows everything up to the head.
    const everything = async () => (await readAllToHead(raw)).map((e) => [e.id, e.position, e.sequence]);
    const positions = await everything();

    await keys.destroy('old1');
    const erasure = await erasePastPersonalData(sealed, stores.database, keys, 'old1');
    expect(erasure).toEqual({ rewritten: 5, moved: 2 });

    const after = await dump();
    for (const text of ['winifred', 'Winifred', 'wini@example.org', 'laptop']) expect(after).not.toContain(text);
    expect(after).toContain('rosalind');
    expect(after).toContain('Rosalind');
    // Same events, same places: checkpoints and sequences stay valid.
    expect(await everything()).toEqual(positions);

    const user = await sealed.readStream('user-old1');
    expect(user[0]!.data).toMatchObject({ username: '', email: '', orgId: 'org-1', [ERASED_FIELD]: true });
    expect(foldUser(user)).toMatchObject({ exists: false, removed: true, orgId: 'org-1' });
    // The name's claim history now lives under its keyed hash, and the name is free.
    const claims = (await sealed.readStream('username-winifred')) as never as Parameters<typeof foldUsernameClaim>[0];
    expect(claims.map((e: UsernameEvent) => e.type)).toEqual(['username.claimed', 'username.released']);
    expect(foldUsernameClaim(claims).holder).toBeUndefined();
    expect((await sealed.readStream('session-s1')).map((e) => e.data)).toEqual([
      { [ERASED_FIELD]: true },
      { userId: 'old1', orgId: 'org-1', loginName: '', checkedAt: '2026-01-01T00:00:00.000Z', [ERASED_FIELD]: true },
      { tokenId: 't', hash: 'h' },
    ]);
    expect((await sealed.readStream('user-old2'))[0]!.data).toEqual(human('rosalind', 'Rosalind').data);

    // Erasing again finds nothing left to do.
    expect(await erasePastPersonalData(sealed, stores.database, keys, 'old1')).toEqual({ rewritten: 0, moved: 0 });
  });
});
