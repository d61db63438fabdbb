import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { randomUUID } from 'node:crypto';
import { serverDatabaseUrl } from '#database/testing';
import { WrongExpectedVersionError } from '#eventstore';
import { testBackend, type TestStores } from '#eventstore/testing';
import { caller, ORG } from '#user/testing';
import { userStream } from '../events.js';
import { planUsernameClaim, USERNAME_CLAIM_TTL_MS, usernameHolder, usernameStream } from '../usernames.js';
import { sweepOrphanedUsernameClaims } from './sweep-username-claims.js';

const operator = caller({ roles: [{ role: 'IAM_OWNER' }] });
const metadata = { instanceId: 'instance-1', resourceOwner: ORG, editor: 'test', correlationId: 'seed' };
const kinds = serverDatabaseUrl ? (['pglite', 'server'] as const) : (['pglite'] as const);

describe.each(kinds)('sweeping username claims without their user (%s)', (kind) => {
  let stores: TestStores;
  beforeAll(async () => {
    stores = await testBackend(kind, 'sweep').open();
  });
  afterAll(async () => {
    await stores?.cleanup();
  });

  const later = () => new Date(Date.now() + USERNAME_CLAIM_TTL_MS + 60_000);
  const types = async (stream: string) => (await stores.store.readStream(stream)).map((e) => e.type);

  /** A claim whose registration died before its user was written (what a crash on EventStoreDB leaves). */
  async function orphanedClaim(prefix: string) {
    const username = `${prefix}-${randomUUID()}`;
    const userId = `ghost-${randomUUID()}`;
    await stores.store.append(usernameStream(username), [{ type: 'username.claimed', data: { userId, username }, metadata }], 'no_stream');
    return { username, userId };
  }

  async function registeredUser(prefix: string, username = `${prefix}-${randomUUID()}`) {
    const userId = `user-of-${randomUUID()}`;
    await stores.store.appendMany!([
      ...(await planUsernameClaim(stores.store, username, userId, metadata)),
      {
        stream: userStream(userId),
        events: [{ type: 'user.human.added', data: { username, orgId: ORG, profile: { givenName: 'Ada', familyName: 'Lovelace' }, email: 'ada@example.com' }, metadata }],
        expectedRevision: 'no_stream',
      },
    ]);
    return { username, userId };
  }

  it('keeps a young claim, frees an old one with the fence, leaves held and released names alone; a second run does nothing', async () => {
    const orphan = await orphanedClaim('ghost');
    const held = await registeredUser('held');
    const released = await orphanedClaim('gone');
    await stores.store.append(usernameStream(released.username), [{ type: 'username.released', data: { userId: released.userId }, metadata }], 1);
    // A claimer that fenced the user and died before its release (possible only on EventStoreDB).
    const fenced = await orphanedClaim('fenced');
    await stores.store.append(userStream(fenced.userId), [{ type: 'user.registration.abandoned', data: { username: fenced.username } }], 'no_stream');

    // Younger than the TTL: a registration may still be writing its user. Kept, nothing written.
    const head = await stores.store.headPosition();
    const young = await sweepOrphanedUsernameClaims(stores.store, { caller: operator }, { now: new Date() });
    expect(young.released).toEqual([]);
    expect(young.pending.map((c) => c.username)).toEqual(expect.arrayContaining([orphan.username, fenced.username]));
    expect(young.pending.map((c) => c.username)).not.toContain(held.username);
    expect(await stores.store.headPosition()).toBe(head);

    const swept = await sweepOrphanedUsernameClaims(stores.store, { caller: operator }, { now: later() });
    expect(swept.released).toEqual(
      expect.arrayContaining([
        { username: orphan.username, userId: orphan.userId, claimedAt: expect.any(String) },
        { username: fenced.username, userId: fenced.userId, claimedAt: expect.any(String) },
      ]),
    );
    const names = swept.released.map((c) => c.username);
    expect(names).not.toContain(held.username);
    expect(names).not.toContain(released.username);
    expect(swept.pending).toEqual([]);

    // The claim is released as abandoned; the would-be user's stream is fenced (once).
    expect((await stores.store.readStream(usernameStream(orphan.username))).map((e) => [e.type, e.data])).toEqual([
      ['username.claimed', { userId: orphan.userId, username: orphan.username }],
      ['username.released', { userId: orphan.userId, abandoned: true }],
    ]);
    expect(await types(userStream(orphan.userId))).toEqual(['user.registration.abandoned']);
    expect(await types(userStream(fenced.userId))).toEqual(['user.registration.abandoned']);
    expect(await usernameHolder(stores.store, orphan.username)).toBeUndefined();
    expect(await usernameHolder(stores.store, held.username)).toBe(held.userId);

    // A late append of the abandoned user fails; the name can be registered by someone else.
    await expect(
      stores.store.append(userStream(orphan.userId), [{ type: 'user.human.added', data: { username: orphan.username } }], 'no_stream'),
    ).rejects.toBeInstanceOf(WrongExpectedVersionError);
    const next = await registeredUser('', orphan.username);
    expect(await usernameHolder(stores.store, orphan.username)).toBe(next.userId);

    // Idempotent: nothing left to do, nothing written.
    const afterFirst = await stores.store.headPosition();
    const again = await sweepOrphanedUsernameClaims(stores.store, { caller: operator }, { now: later() });
    expect(again.released.filter((c) => [orphan.username, fenced.username].includes(c.username))).toEqual([]);
    expect(await stores.store.headPosition()).toBe(afterFirst);
  });

  it('needs iam.write: an organization owner is refused (AUTH-AWfge) and nothing is written', async () => {
    await orphanedClaim('refused');
    const head = await stores.store.headPosition();
    const owner = caller({ roles: [{ role: 'ORG_OWNER', orgId: ORG }] });
    await expect(sweepOrphanedUsernameClaims(stores.store, { caller: owner }, { now: later() })).rejects.toMatchObject({
      kind: 'PermissionDenied',
      id: 'AUTH-AWfge',
    });
    expect(await stores.store.headPosition()).toBe(head);
  });
});
