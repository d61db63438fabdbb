import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { addMachineUser } from '#org';
import { addPersonalAccessToken } from '#org';
import { createOrg } from '#org';
import { testBackend, type TestStores } from '#eventstore/testing';
import { userStream } from '#user';
import type { Caller } from '#access';
import { TestClock } from '#kernel/testing';
import { hashPat, issuePat, parsePat } from '#org';
import { readUserFrom } from './authenticated-users.js';
import { verifyPat } from './pat.js';
import { TokenAuthenticator } from './token-authenticator.js';

const INSTANCE = '200000000000000001';
const ORG = '200000000000000002';
const root: Caller = { userId: 'system', orgId: ORG, instanceId: INSTANCE, kind: 'machine', roles: [{ role: 'IAM_OWNER' }] };
const context = { caller: root };

async function refusal(promise: Promise<unknown>) {
  return promise.then(
    () => {
      throw new Error('expected a refusal');
    },
    (err: unknown) => err as Record<string, unknown>,
  );
}

describe('personal access tokens', () => {
  let t: TestStores;
  let authenticator: TokenAuthenticator;
  let userId: string;
  let otherUserId: string;
  let token: string;
  let tokenId: string;
  const clock = new TestClock(Date.now());

  beforeAll(async () => {
    t = await testBackend('pglite').open();
    authenticator = new TokenAuthenticator(t.store, { clock });
    await createOrg(t.store, { name: 'Default', orgId: ORG, context });
    ({ userId } = await addMachineUser(t.store, { username: 'ci', name: 'CI', roles: [{ role: 'ORG_USER_MANAGER' }], context }));
    ({ userId: otherUserId } = await addMachineUser(t.store, { username: 'other', name: 'Other', roles: [], context }));
    ({ token, tokenId } = await addPersonalAccessToken(t.store, { userId, context }, clock.now()));
  });
  afterAll(() => t.cleanup());

  it('has the documented format and a hash over the whole token', () => {
    const issued = issuePat('123456789012345678', '223456789012345678');
    expect(issued.token).toMatch(/^pat_123456789012345678_223456789012345678_[A-Za-z0-9_-]{43}$/);
    expect(parsePat(issued.token)).toEqual({ userId: '123456789012345678', tokenId: '223456789012345678' });
    expect(issued.hash).toBe(hashPat(issued.token));
    expect(issuePat('1', '2').token).not.toBe(issuePat('1', '2').token);
    expect(() => issuePat('a_b', '1')).toThrow();
  });

  it('round trip: the issued token authenticates as its machine user with its roles', async () => {
    const caller = await authenticator.authenticate(`Bearer ${token}`);
    expect(caller).toEqual({ userId, orgId: ORG, instanceId: INSTANCE, kind: 'machine', roles: [{ role: 'ORG_USER_MANAGER', orgId: ORG }] });
    // The prefix is case-sensitive, as ZITADEL's extractBearerToken splits on "Bearer ".
    await expect(authenticator.authenticate(`bearer ${token}`)).rejects.toMatchObject({ id: 'AUTH-7fs1e', message: 'invalid auth header' });
  });

  it('refuses a wrong secret', async () => {
    const last = token.at(-1) === 'A' ? 'B' : 'A';
    const tampered = token.slice(0, -1) + last;
    expect((await verifyPat(readUserFrom(t.store), tampered, clock.now())).ok).toBe(false);
    expect(await refusal(authenticator.authenticate(`Bearer ${tampered}`))).toMatchObject({
      kind: 'Unauthenticated',
      id: 'AUTH-7fs1e',
      key: 'Errors.Token.Invalid',
    });
  });

  it('refuses an unknown token id', async () => {
    const unknown = token.replace(`_${tokenId}_`, '_999999999999999999_');
    expect(await verifyPat(readUserFrom(t.store), unknown, clock.now())).toMatchObject({ ok: false, reason: 'unknown-token' });
    expect(await refusal(authenticator.authenticate(`Bearer ${unknown}`))).toMatchObject({ kind: 'Unauthenticated' });
  });

  it("refuses the token with another user's id in it", async () => {
    // Give the other user a token with the same token id, so only the hash can tell them apart.
    const forged = token.replace(`pat_${userId}_`, `pat_${otherUserId}_`);
    await t.store.append(userStream(otherUserId), [{ type: 'user.pat.added', data: { tokenId, hash: hashPat(issuePat(otherUserId, tokenId).token) } }], 'any');
    expect(await verifyPat(readUserFrom(t.store), forged, clock.now())).toMatchObject({ ok: false, reason: 'wrong-secret' });
    expect(await verifyPat(readUserFrom(t.store), token.replace(`pat_${userId}_`, 'pat_424242424242424242_'), clock.now())).toMatchObject({ ok: false, reason: 'unknown-user' });
    expect(await refusal(authenticator.authenticate(`Bearer ${forged}`))).toMatchObject({ kind: 'Unauthenticated' });
  });

  it('refuses a removed token', async () => {
    const second = await addPersonalAccessToken(t.store, { userId, context }, clock.now());
    await expect(authenticator.authenticate(`Bearer ${second.token}`)).resolves.toMatchObject({ userId });
    await t.store.append(userStream(userId), [{ type: 'user.pat.removed', data: { tokenId: second.tokenId } }], 'any');
    expect(await verifyPat(readUserFrom(t.store), second.token, clock.now())).toMatchObject({ ok: false, reason: 'unknown-token' });
    expect(await refusal(authenticator.authenticate(`Bearer ${second.token}`))).toMatchObject({ kind: 'Unauthenticated' });
    await expect(authenticator.authenticate(`Bearer ${token}`)).resolves.toMatchObject({ userId });
  });

  it('refuses an expired token', async () => {
    const expiring = await addPersonalAccessToken(t.store, { userId, expiresAt: new Date(clock.time + 60_000), context }, clock.now());
    await expect(authenticator.authenticate(`Bearer ${expiring.token}`)).resolves.toMatchObject({ userId });
    const before = clock.time;
    clock.advance(60_000);
    try {
      expect(await refusal(authenticator.authenticate(`Bearer ${expiring.token}`))).toMatchObject({ kind: 'Unauthenticated' });
      expect(await verifyPat(readUserFrom(t.store), expiring.token, clock.now())).toMatchObject({ ok: false, reason: 'expired' });
    } finally {
      clock.time = before;
    }
  });

  it('still authenticates a locked user (locking is about the OTP factor)', async () => {
    const { userId: lockedId } = await addMachineUser(t.store, { username: 'locked', name: 'Locked', roles: [], context });
    const pat = await addPersonalAccessToken(t.store, { userId: lockedId, context }, clock.now());
    await t.store.append(userStream(lockedId), [{ type: 'user.locked', data: {} }], 'any');
    await expect(authenticator.authenticate(`Bearer ${pat.token}`)).resolves.toMatchObject({ userId: lockedId });
  });

  it('refuses a missing header, another scheme, and tokens of no known shape', async () => {
    expect(await refusal(authenticator.authenticate(undefined))).toMatchObject({ kind: 'Unauthenticated', id: 'AUTH-Mz7q2', key: 'Errors.Token.Missing' });
    expect(await refusal(authenticator.authenticate(''))).toMatchObject({ key: 'Errors.Token.Missing' });
    for (const header of [`Basic ${token}`, token, 'Bearer', 'Bearer ', `Bearer ${token} extra`, 'Bearer pat_1_2', 'Bearer opaque-thing']) {
      expect(await refusal(authenticator.authenticate(header))).toMatchObject({ kind: 'Unauthenticated', id: 'AUTH-7fs1e' });
    }
  });
});
