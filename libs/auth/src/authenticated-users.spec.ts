import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { Caller } from '#access';
import { PostgresEventStore, type EventStore } from '#eventstore';
import { testBackend, type TestStores } from '#eventstore/testing';
import { TestClock } from '#kernel/testing';
import { addMachineUser, addPersonalAccessToken, createOrg, removePersonalAccessToken } from '#org';
import { userStream } from '#user';
import { AuthenticatedUsers } from './authenticated-users.js';
import { TokenAuthenticator } from './token-authenticator.js';

const ORG = '300000000000000002';
const root: Caller = { userId: 'system', orgId: ORG, instanceId: '300000000000000001', kind: 'machine', roles: [{ role: 'IAM_OWNER' }] };
const context = { caller: root };
const TTL_MS = 1_000;

/** Counts the reads of each stream through `store` (the patched instance, as the cache sees it). */
function countReads(store: EventStore): Map<string, number> {
  const reads = new Map<string, number>();
  const readStream = store.readStream.bind(store);
  store.readStream = async (stream) => {
    reads.set(stream, (reads.get(stream) ?? 0) + 1);
    return readStream(stream);
  };
  return reads;
}

describe('AuthenticatedUsers: the callers remembered for authentication, with bounded staleness', () => {
  let t: TestStores;
  /** Another process on the same database: a store instance that shares nothing in memory. */
  let otherProcess: PostgresEventStore;
  const clock = new TestClock(Date.now());

  const machineUserWithToken = async (username: string) => {
    const { userId } = await addMachineUser(t.store, { username, name: username, roles: [{ role: 'ORG_USER_MANAGER' }], context });
    const { token, tokenId } = await addPersonalAccessToken(t.store, { userId, context }, clock.now());
    return { userId, token, tokenId };
  };

  beforeAll(async () => {
    t = await testBackend('pglite').open();
    otherProcess = new PostgresEventStore(t.database);
    await createOrg(t.store, { name: 'Cache', orgId: ORG, context });
  });
  afterAll(() => t.cleanup());

  it('Given a caller just authenticated, When it calls again within the TTL, Then its stream is not read again', async () => {
    const { userId, token } = await machineUserWithToken('cached-reads');
    const reads = countReads(t.store);
    const authenticator = new TokenAuthenticator(t.store, { clock, userCacheTtlMs: TTL_MS });
    for (let i = 0; i < 5; i++) await expect(authenticator.authenticate(`Bearer ${token}`)).resolves.toMatchObject({ userId });
    expect(reads.get(userStream(userId))).toBe(1);
    clock.advance(TTL_MS);
    await authenticator.authenticate(`Bearer ${token}`);
    expect(reads.get(userStream(userId))).toBe(2);
  });

  it('Given a remembered caller, When this process revokes its token, Then the very next request is refused', async () => {
    const { userId, token, tokenId } = await machineUserWithToken('revoked-here');
    const authenticator = new TokenAuthenticator(t.store, { clock, userCacheTtlMs: TTL_MS });
    await expect(authenticator.authenticate(`Bearer ${token}`)).resolves.toMatchObject({ userId });
    await removePersonalAccessToken(t.store, { userId, tokenId, context });
    await expect(authenticator.authenticate(`Bearer ${token}`)).rejects.toMatchObject({ kind: 'Unauthenticated', id: 'AUTH-7fs1e' });
  });

  it('Given a remembered caller, When another process revokes its token, Then it is refused once the TTL has passed, not later', async () => {
    const { userId, token, tokenId } = await machineUserWithToken('revoked-elsewhere');
    const authenticator = new TokenAuthenticator(t.store, { clock, userCacheTtlMs: TTL_MS });
    await expect(authenticator.authenticate(`Bearer ${token}`)).resolves.toMatchObject({ userId });
    await removePersonalAccessToken(otherProcess, { userId, tokenId, context });
    // Within the bound the remembered user still answers: the staleness the setting allows.
    clock.advance(TTL_MS - 1);
    await expect(authenticator.authenticate(`Bearer ${token}`)).resolves.toMatchObject({ userId });
    clock.advance(1);
    await expect(authenticator.authenticate(`Bearer ${token}`)).rejects.toMatchObject({ kind: 'Unauthenticated', id: 'AUTH-7fs1e' });
  });

  it('Given a TTL of 0, When another process revokes a token, Then the next request is refused (every request reads)', async () => {
    const { userId, token, tokenId } = await machineUserWithToken('no-cache');
    const authenticator = new TokenAuthenticator(t.store, { clock, userCacheTtlMs: 0 });
    await expect(authenticator.authenticate(`Bearer ${token}`)).resolves.toMatchObject({ userId });
    await removePersonalAccessToken(otherProcess, { userId, tokenId, context });
    await expect(authenticator.authenticate(`Bearer ${token}`)).rejects.toMatchObject({ kind: 'Unauthenticated' });
  });

  it('Given a read in flight, When this process appends to that user meanwhile, Then the read is not kept', async () => {
    const { userId, tokenId } = await machineUserWithToken('in-flight');
    const users = new AuthenticatedUsers(t.store, { ttlMs: TTL_MS, clock });
    const reads = countReads(t.store);
    // The read starts (its SQL is under way) before the revocation's append completes.
    const reading = users.lookup(userId);
    await removePersonalAccessToken(t.store, { userId, tokenId, context });
    await reading;
    const after = await users.lookup(userId);
    expect(after.state.pats[tokenId]).toBeUndefined();
    expect(reads.get(userStream(userId))).toBeGreaterThanOrEqual(2);
    users.stop();
  });

  it('Given an unknown user id, When the user is created afterwards, Then it is found (unknown ids are never remembered)', async () => {
    const users = new AuthenticatedUsers(t.store, { ttlMs: TTL_MS, clock });
    const reads = countReads(t.store);
    expect((await users.lookup('399999999999999999')).state.exists).toBe(false);
    expect((await users.lookup('399999999999999999')).state.exists).toBe(false);
    expect(reads.get(userStream('399999999999999999'))).toBe(2);
    users.stop();
  });

  it('Given more callers than the limit, When one more authenticates, Then the oldest is forgotten', async () => {
    const a = await machineUserWithToken('limit-a');
    const b = await machineUserWithToken('limit-b');
    const c = await machineUserWithToken('limit-c');
    const users = new AuthenticatedUsers(t.store, { ttlMs: TTL_MS, clock, limit: 2 });
    const reads = countReads(t.store);
    for (const user of [a, b, c, b, c, a]) await users.lookup(user.userId);
    // a was read, forgotten when c came, and read again; b and c were remembered.
    expect([a, b, c].map((u) => reads.get(userStream(u.userId)))).toEqual([2, 1, 1]);
    users.stop();
  });
});
