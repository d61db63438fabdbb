import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { randomUUID } from 'node:crypto';
import { CodeCipher } from '#crypto';
import { serverDatabaseUrl } from '#database/testing';
import { FailingAppendStore, testBackend, type TestStores } from '#eventstore/testing';
import type { EventStore } from '#eventstore';
import { TestClock } from '#kernel/testing';
import { caller, ORG } from '#user/testing';
import { userStream } from '../events.js';
import { USERNAME_CLAIM_TTL_MS, usernameHolder, usernameStream } from '../usernames.js';
import { AddHumanUserCommand, type AddHumanUserInput } from './add-human-user.js';
import { AddHumanUserHandler } from './add-human-user.handler.js';
import { DeleteUserCommand } from '../delete-user/delete-user.js';
import { DeleteUserHandler } from '../delete-user/delete-user.handler.js';

const admin = caller({ roles: [{ role: 'ORG_OWNER', orgId: ORG }] });
const cipher = new CodeCipher(Buffer.alloc(32, 7));
const rejection = (promise: Promise<unknown>) => promise.then(() => undefined, (err: unknown) => err);

// The multi-stream capability on (the PostgreSQL adapter as it is) and off (the same store seen
// through a wrapper without appendMany, as EventStoreDB is).
const kinds = serverDatabaseUrl ? (['pglite', 'server'] as const) : (['pglite'] as const);
const cases = kinds.flatMap((kind) => [
  [kind, 'multi-stream appends'] as const,
  [kind, 'single-stream appends only'] as const,
]);

describe.each(cases)('AddHumanUser on %s with %s', (kind, capability) => {
  let stores: TestStores;
  let store: EventStore;
  let handler: AddHumanUserHandler;
  let deleteHandler: DeleteUserHandler;
  const clock = new TestClock(Date.now());

  beforeAll(async () => {
    stores = await testBackend(kind, 'addhuman').open();
    store = capability === 'multi-stream appends' ? stores.store : new FailingAppendStore(stores.store);
    expect(Boolean(store.appendMany)).toBe(capability === 'multi-stream appends');
    await store.append(`org-${ORG}`, [{ type: 'org.added', data: { name: 'ACME' } }], 'any');
    handler = new AddHumanUserHandler(store, cipher, clock);
    deleteHandler = new DeleteUserHandler(store);
  });
  afterAll(async () => {
    await stores?.cleanup();
  });

  const add = (overrides: Partial<AddHumanUserInput> = {}) =>
    handler.execute(
      new AddHumanUserCommand({
        caller: admin,
        userId: randomUUID(),
        username: `u-${randomUUID()}`,
        profile: { givenName: 'Ada', familyName: 'Lovelace' },
        email: 'ada@example.com',
        verification: { kind: 'return' },
        ...overrides,
      }),
    );

  it('writes the claim and the user', async () => {
    const username = `ada-${randomUUID()}`;
    const { userId } = await add({ username });
    expect(await usernameHolder(store, username)).toBe(userId);
    expect((await store.readStream(userStream(userId))).map((e) => e.type)).toEqual(['user.human.added', 'user.email.code.added']);
  });

  it.each([
    ['givenName', { profile: { givenName: 'A\u0000da', familyName: 'L' } }],
    ['nickName', { profile: { givenName: 'Ada', familyName: 'L', nickName: 'x\u0000' } }],
    ['preferredLanguage', { profile: { givenName: 'Ada', familyName: 'L', preferredLanguage: 'e\u0000n' } }],
    ['a lone surrogate in the family name', { profile: { givenName: 'Ada', familyName: 'L\uD800' } }],
  ])('writes nothing at all when the user cannot be stored (%s)', async (_label, overrides) => {
    const head = await store.headPosition();
    const username = `bad-${randomUUID()}`;
    expect(await rejection(add({ username, ...overrides }))).toBeInstanceOf(Error);
    expect(await store.headPosition()).toBe(head);
    expect(await store.readStream(usernameStream(username))).toEqual([]);
  });

  it('gives a taken name to nobody else, and writes nothing for the refused request', async () => {
    const username = `grace-${randomUUID()}`;
    await add({ username });
    const head = await store.headPosition();
    expect(await rejection(add({ username: username.toUpperCase() }))).toMatchObject({ kind: 'AlreadyExists', id: 'V3-DKcYh' });
    expect(await store.headPosition()).toBe(head);
  });

  it('lets exactly one of 12 concurrent registrations of one name win; no claim without its user remains', async () => {
    const username = `race-${randomUUID()}`;
    const outcomes = await Promise.allSettled(Array.from({ length: 12 }, () => add({ username })));
    const winners = outcomes.filter((o) => o.status === 'fulfilled');
    expect(winners).toHaveLength(1);
    for (const o of outcomes) if (o.status === 'rejected') expect(o.reason).toMatchObject({ kind: 'AlreadyExists' });
    const claims = await store.readStream(usernameStream(username));
    expect(claims.map((e) => e.type)).toEqual(['username.claimed']);
    expect(await usernameHolder(store, username)).toBe((winners[0] as PromiseFulfilledResult<{ userId: string }>).value.userId);
  });

  it('frees a claim whose user never appeared once the bound has passed, and fences the late user off', async () => {
    // The state a crash between the claim and the user leaves behind.
    const username = `orphan-${randomUUID()}`;
    const orphan = randomUUID();
    await store.append(usernameStream(username), [{ type: 'username.claimed', data: { userId: orphan, username } }], 'no_stream');

    clock.set(new Date());
    expect(await rejection(add({ username }))).toMatchObject({ kind: 'AlreadyExists', id: 'V3-DKcYh' });

    clock.set(new Date(Date.now() + USERNAME_CLAIM_TTL_MS + 1_000)); // claims carry the store's (real) time
    const { userId } = await add({ username });
    expect(await usernameHolder(store, username)).toBe(userId);
    expect((await store.readStream(usernameStream(username))).map((e) => [e.type, e.data.userId])).toEqual([
      ['username.claimed', orphan],
      ['username.released', orphan],
      ['username.claimed', userId],
    ]);
    // The crashed registration, were it to resume now, cannot create its user any more.
    expect((await store.readStream(userStream(orphan))).map((e) => e.type)).toEqual(['user.registration.abandoned']);
    await expect(store.append(userStream(orphan), [{ type: 'user.human.added', data: {} }], 'no_stream')).rejects.toMatchObject({
      name: 'WrongExpectedVersionError',
    });
    expect(await rejection(add({ userId: orphan, username: `again-${randomUUID()}` }))).toMatchObject({ kind: 'AlreadyExists' });
  });

  it('keeps an expired claim whose user did appear', async () => {
    const username = `kept-${randomUUID()}`;
    const { userId } = await add({ username });
    clock.set(new Date(Date.now() + USERNAME_CLAIM_TTL_MS + 1_000));
    expect(await rejection(add({ username }))).toMatchObject({ kind: 'AlreadyExists', id: 'V3-DKcYh' });
    expect(await usernameHolder(store, username)).toBe(userId);
  });

  it('DeleteUser gives the name back with the removal, so another user can take it at once', async () => {
    const username = `gone-${randomUUID()}`;
    const { userId } = await add({ username });
    const details = await deleteHandler.execute(new DeleteUserCommand({ caller: admin, userId }));
    expect(details).toMatchObject({ resourceOwner: ORG });
    expect((await store.readStream(userStream(userId))).at(-1)).toMatchObject({ type: 'user.removed', sequence: details.sequence });
    expect(await usernameHolder(store, username)).toBeUndefined();
    const { userId: next } = await add({ username: username.toUpperCase() });
    expect(await usernameHolder(store, username)).toBe(next);
    // Deleted is deleted: a second DeleteUser, like every other command, finds no user.
    const head = await store.headPosition();
    expect(await rejection(deleteHandler.execute(new DeleteUserCommand({ caller: admin, userId })))).toMatchObject({ kind: 'NotFound', id: 'COMMAND-bd4ir1mblj' });
    expect(await rejection(deleteHandler.execute(new DeleteUserCommand({ caller: admin, userId: '' })))).toMatchObject({ kind: 'InvalidArgument', id: 'COMMAND-vaipl7s13l' });
    expect(await store.headPosition()).toBe(head);
  });

  it('frees at once a claim a crash left behind on a deleted user (removal written, release not)', async () => {
    const username = `half-${randomUUID()}`;
    const { userId } = await add({ username });
    await store.append(userStream(userId), [{ type: 'user.removed', data: {} }], 'any');
    expect(await usernameHolder(store, username)).toBe(userId);
    const { userId: next } = await add({ username });
    expect(await usernameHolder(store, username)).toBe(next);
  });
});
