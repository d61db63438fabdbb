import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { Caller, RoleGrant } from '#access';
import { testBackend, type TestStores } from '#eventstore/testing';
import { foldUser, userStream } from '#user';
import { addMachineUser } from './add-machine-user.js';
import { addPersonalAccessToken } from './add-personal-access-token.js';
import { createOrg } from './create-org.js';
import { listPersonalAccessTokens, removeMemberRole, removePersonalAccessToken } from './revoke.js';

const INSTANCE = '300000000000000001';
const ORG = '300000000000000002';
const caller = (roles: RoleGrant[], userId = '300000000000000099', orgId = ORG): Caller => ({ userId, orgId, instanceId: INSTANCE, kind: 'machine', roles });
const iamOwner = caller([{ role: 'IAM_OWNER' }]);
const rejection = (promise: Promise<unknown>) => promise.then(() => undefined, (err: unknown) => err as Record<string, unknown>);

describe('revoking tokens and roles', () => {
  let t: TestStores;
  let otherOrg: string;
  beforeAll(async () => {
    t = await testBackend('pglite').open();
    await createOrg(t.store, { name: 'Default', orgId: ORG, context: { caller: iamOwner } });
    ({ orgId: otherOrg } = await createOrg(t.store, { name: 'Other', context: { caller: iamOwner } }));
  });
  afterAll(() => t.cleanup());

  const bot = async (username: string, roles: RoleGrant[] = []) =>
    (await addMachineUser(t.store, { username, name: username, roles, context: { caller: iamOwner } })).userId;

  describe('ListPersonalAccessTokens', () => {
    it('lists ids, creation and expiry of the live tokens, never a token or a hash', async () => {
      const userId = await bot('list-1');
      const expiresAt = new Date(Date.now() + 3_600_000);
      const first = await addPersonalAccessToken(t.store, { userId, expiresAt, context: { caller: iamOwner } }, new Date());
      const second = await addPersonalAccessToken(t.store, { userId, context: { caller: iamOwner } }, new Date());
      await removePersonalAccessToken(t.store, { userId, tokenId: first.tokenId, context: { caller: iamOwner } });
      const third = await addPersonalAccessToken(t.store, { userId, expiresAt, context: { caller: iamOwner } }, new Date());

      const tokens = await listPersonalAccessTokens(t.store, { userId, context: { caller: iamOwner } });
      expect(tokens).toEqual([
        { tokenId: second.tokenId, createdAt: expect.any(Date) },
        { tokenId: third.tokenId, createdAt: expect.any(Date), expiresAt },
      ]);
      expect(JSON.stringify(tokens)).not.toMatch(/pat_|[0-9a-f]{64}/);
    });

    it('needs user.read on the user organization; NotFound for an unknown user', async () => {
      const userId = await bot('list-2');
      const stranger = caller([{ role: 'ORG_OWNER', orgId: otherOrg }]);
      expect(await rejection(listPersonalAccessTokens(t.store, { userId, context: { caller: stranger } }))).toMatchObject({ kind: 'PermissionDenied', id: 'AUTH-AWfge' });
      const manager = caller([{ role: 'ORG_USER_MANAGER', orgId: ORG }]);
      await expect(listPersonalAccessTokens(t.store, { userId, context: { caller: manager } })).resolves.toEqual([]);
      expect(await rejection(listPersonalAccessTokens(t.store, { userId: '42', context: { caller: iamOwner } }))).toMatchObject({ kind: 'NotFound', id: 'COMMAND-P4tNf' });
    });
  });

  describe('RemovePersonalAccessToken', () => {
    it('appends user.pat.removed; the fold drops the token; a second removal is NotFound', async () => {
      const userId = await bot('revoke-1');
      const { tokenId } = await addPersonalAccessToken(t.store, { userId, context: { caller: iamOwner } }, new Date());
      const { details } = await removePersonalAccessToken(t.store, { userId, tokenId, context: { caller: iamOwner, correlationId: 'c-9' } });
      expect(details).toMatchObject({ resourceOwner: ORG });
      const events = await t.store.readStream(userStream(userId));
      expect(events.at(-1)).toMatchObject({ type: 'user.pat.removed', data: { tokenId }, metadata: { editor: iamOwner.userId, correlationId: 'c-9', resourceOwner: ORG } });
      expect(foldUser(events).pats).toEqual({});
      expect(await rejection(removePersonalAccessToken(t.store, { userId, tokenId, context: { caller: iamOwner } }))).toMatchObject({
        kind: 'NotFound',
        id: 'COMMAND-4m77G',
      });
    });

    it('needs user.write on the user organization; writes nothing when refused', async () => {
      const userId = await bot('revoke-2');
      const { tokenId } = await addPersonalAccessToken(t.store, { userId, context: { caller: iamOwner } }, new Date());
      const before = (await t.store.readStream(userStream(userId))).length;
      const stranger = caller([{ role: 'ORG_USER_MANAGER', orgId: otherOrg }]);
      expect(await rejection(removePersonalAccessToken(t.store, { userId, tokenId, context: { caller: stranger } }))).toMatchObject({ kind: 'PermissionDenied' });
      expect(await rejection(removePersonalAccessToken(t.store, { userId, tokenId: ' ', context: { caller: iamOwner } }))).toMatchObject({ kind: 'InvalidArgument' });
      expect((await t.store.readStream(userStream(userId))).length).toBe(before);
      const manager = caller([{ role: 'ORG_USER_MANAGER', orgId: ORG }]);
      await expect(removePersonalAccessToken(t.store, { userId, tokenId, context: { caller: manager } })).resolves.toBeDefined();
    });
  });

  it('nobody issues or revokes a token of a user mightier than themselves', async () => {
    const ownerId = await bot('mighty-1', [{ role: 'ORG_OWNER' }]);
    const { tokenId } = await addPersonalAccessToken(t.store, { userId: ownerId, context: { caller: iamOwner } }, new Date());
    const manager = caller([{ role: 'ORG_USER_MANAGER', orgId: ORG }]);
    expect(await rejection(addPersonalAccessToken(t.store, { userId: ownerId, context: { caller: manager } }, new Date()))).toMatchObject({ kind: 'PermissionDenied' });
    expect(await rejection(removePersonalAccessToken(t.store, { userId: ownerId, tokenId, context: { caller: manager } }))).toMatchObject({ kind: 'PermissionDenied' });
    const orgOwner = caller([{ role: 'ORG_OWNER', orgId: ORG }]);
    await expect(removePersonalAccessToken(t.store, { userId: ownerId, tokenId, context: { caller: orgOwner } })).resolves.toBeDefined();
    const adminId = await bot('mighty-2', [{ role: 'IAM_OWNER' }]);
    expect(await rejection(addPersonalAccessToken(t.store, { userId: adminId, context: { caller: orgOwner } }, new Date()))).toMatchObject({ kind: 'PermissionDenied' });
  });

  describe('RemoveMemberRole', () => {
    it('takes every grant of the role there away, and only that one', async () => {
      const userId = await bot('role-1', [{ role: 'ORG_OWNER' }, { role: 'ORG_OWNER', orgId: otherOrg }, { role: 'IAM_LOGIN_CLIENT' }]);
      await removeMemberRole(t.store, { userId, role: 'ORG_OWNER', context: { caller: iamOwner } });
      const events = await t.store.readStream(userStream(userId));
      expect(events.at(-1)).toMatchObject({ type: 'user.member.role.removed', data: { role: 'ORG_OWNER', orgId: ORG } });
      expect(foldUser(events).roles).toEqual([{ role: 'ORG_OWNER', orgId: otherOrg }, { role: 'IAM_LOGIN_CLIENT' }]);
      await removeMemberRole(t.store, { userId, role: 'IAM_LOGIN_CLIENT', context: { caller: iamOwner } });
      expect(foldUser(await t.store.readStream(userStream(userId))).roles).toEqual([{ role: 'ORG_OWNER', orgId: otherOrg }]);
      expect(await rejection(removeMemberRole(t.store, { userId, role: 'IAM_LOGIN_CLIENT', context: { caller: iamOwner } }))).toMatchObject({
        kind: 'NotFound',
        id: 'COMMAND-R0lNf',
      });
    });

    it('needs what granting needs: iam.write for an instance role, org.write on the organization for an organization role', async () => {
      const userId = await bot('role-2', [{ role: 'ORG_USER_MANAGER' }, { role: 'IAM_LOGIN_CLIENT' }]);
      const orgOwner = caller([{ role: 'ORG_OWNER', orgId: ORG }]);
      expect(await rejection(removeMemberRole(t.store, { userId, role: 'IAM_LOGIN_CLIENT', context: { caller: orgOwner } }))).toMatchObject({ kind: 'PermissionDenied' });
      const manager = caller([{ role: 'ORG_USER_MANAGER', orgId: ORG }]);
      expect(await rejection(removeMemberRole(t.store, { userId, role: 'ORG_USER_MANAGER', context: { caller: manager } }))).toMatchObject({ kind: 'PermissionDenied' });
      await expect(removeMemberRole(t.store, { userId, role: 'ORG_USER_MANAGER', context: { caller: orgOwner } })).resolves.toBeDefined();
      expect(await rejection(removeMemberRole(t.store, { userId, role: 'IAM_LOGIN_CLIENT', orgId: ORG, context: { caller: iamOwner } }))).toMatchObject({
        kind: 'InvalidArgument',
        id: 'USER-R0le1',
      });
    });

    it('refuses to take away the caller its own IAM_OWNER (FailedPrecondition), but another owner may', async () => {
      const ownerId = await bot('owner-1', [{ role: 'IAM_OWNER' }]);
      const self = caller([{ role: 'IAM_OWNER' }], ownerId);
      const before = (await t.store.readStream(userStream(ownerId))).length;
      expect(await rejection(removeMemberRole(t.store, { userId: ownerId, role: 'IAM_OWNER', context: { caller: self } }))).toMatchObject({
        kind: 'FailedPrecondition',
        id: 'COMMAND-R0lSf',
      });
      expect((await t.store.readStream(userStream(ownerId))).length).toBe(before);
      await removeMemberRole(t.store, { userId: ownerId, role: 'IAM_OWNER', context: { caller: iamOwner } });
      expect(foldUser(await t.store.readStream(userStream(ownerId))).roles).toEqual([]);
    });
  });
});
