import 'reflect-metadata';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import { Global, Module, type INestApplicationContext } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { CommandBus } from '@nestjs/cqrs';
import type { Caller, RoleGrant } from '#access';
import { EVENT_STORE, PostgresEventStore } from '#eventstore';
import { userStream } from '#user';
import { foldUser } from '#user';
import { addMachineUser, AddMachineUserCommand } from './add-machine-user.js';
import { addPersonalAccessToken, AddPersonalAccessTokenCommand } from './add-personal-access-token.js';
import { createOrg, CreateOrgCommand } from './create-org.js';
import { usernameStream } from '#user';
import { orgStream } from './events.js';
import { OrgModule } from './org.module.js';
import { FailingAppendStore, testBackend, type TestStores } from '#eventstore/testing';
import { claimUsername, releaseUsername, usernameHolder } from '#user';

const INSTANCE = '100000000000000001';
const DEFAULT_ORG = '100000000000000002';
const caller = (roles: RoleGrant[], orgId = DEFAULT_ORG, userId = '100000000000000099'): Caller => ({
  userId,
  orgId,
  instanceId: INSTANCE,
  kind: 'machine',
  roles,
});
const iamOwner = caller([{ role: 'IAM_OWNER' }]);
const metadata = { instanceId: INSTANCE, resourceOwner: DEFAULT_ORG, editor: 'test', correlationId: 'c-1' };

const rejection = (promise: Promise<unknown>) => promise.then(() => undefined, (err: unknown) => err as Record<string, unknown>);

// One store for the suite (PGlite takes seconds to start); every test uses names of its own.
describe('organization and machine-user commands', () => {
  let t: TestStores;
  beforeAll(async () => {
    t = await testBackend('pglite').open();
    await createOrg(t.store, { name: 'Default', orgId: DEFAULT_ORG, context: { caller: iamOwner } });
  });
  afterAll(() => t.cleanup());

  describe('CreateOrg', () => {
    it('appends org.added with the metadata of the caller and returns the id and details', async () => {
      const { orgId, details } = await createOrg(t.store, { name: '  ACME ', context: { caller: iamOwner, correlationId: 'corr-7' } });
      expect(orgId).toMatch(/^\d{18,19}$/);
      expect(details).toMatchObject({ sequence: 1, resourceOwner: orgId });
      const [event] = await t.store.readStream(orgStream(orgId));
      expect(event).toMatchObject({
        type: 'org.added',
        data: { name: 'ACME' },
        metadata: { instanceId: INSTANCE, resourceOwner: orgId, editor: iamOwner.userId, correlationId: 'corr-7' },
      });
    });

    it('needs org.write on the instance: an organization owner may not', async () => {
      const err = await rejection(createOrg(t.store, { name: 'x', context: { caller: caller([{ role: 'ORG_OWNER', orgId: DEFAULT_ORG }]) } }));
      expect(err).toMatchObject({ kind: 'PermissionDenied', id: 'AUTH-AWfge' });
    });

    it('refuses an empty name', async () => {
      expect(await rejection(createOrg(t.store, { name: ' ', context: { caller: iamOwner } }))).toMatchObject({ kind: 'InvalidArgument' });
    });
  });

  describe('AddMachineUser', () => {
    it('claims the username and appends the user with its roles', async () => {
      const { userId, details } = await addMachineUser(t.store, {
        username: 'Build-Bot',
        name: 'Build bot',
        roles: [{ role: 'ORG_USER_MANAGER' }, { role: 'IAM_LOGIN_CLIENT' }],
        context: { caller: iamOwner },
      });
      expect(details).toMatchObject({ sequence: 3, resourceOwner: DEFAULT_ORG });
      const state = foldUser(await t.store.readStream(userStream(userId)));
      expect(state).toMatchObject({ exists: true, kind: 'machine', username: 'Build-Bot', orgId: DEFAULT_ORG });
      expect(state.roles).toEqual([{ role: 'ORG_USER_MANAGER', orgId: DEFAULT_ORG }, { role: 'IAM_LOGIN_CLIENT' }]);
      expect(await usernameHolder(t.store, 'build-bot')).toBe(userId);
    });

    it('writes the claim and the user in one append: a failure at its commit leaves neither', async () => {
      let failCommit = true;
      const failingCommit = new PostgresEventStore(t.database, {
        beforeCommit: async () => {
          if (!failCommit) return;
          failCommit = false;
          throw new Error('simulated failure at commit');
        },
      });
      const input = { username: 'atomic-bot', name: 'Atomic bot', roles: [], context: { caller: iamOwner } };
      const before = (await t.store.readAll()).length;
      await expect(addMachineUser(failingCommit, { ...input, userId: '100000000000000777' })).rejects.toThrow('simulated failure at commit');
      expect((await t.store.readAll()).length).toBe(before);
      expect(await t.store.readStream(userStream('100000000000000777'))).toEqual([]);
      const { userId } = await addMachineUser(failingCommit, input);
      expect(await usernameHolder(t.store, 'atomic-bot')).toBe(userId);
      await failingCommit.close();
    });

    it('without multi-stream appends (EventStoreDB): the claim first, given back when the user cannot be written', async () => {
      const singleStream = new FailingAppendStore(t.store);
      singleStream.failNextAppend((stream) => stream.startsWith('user-'));
      const input = { username: 'one-by-one', name: 'One by one', roles: [], context: { caller: iamOwner } };
      await expect(addMachineUser(singleStream, input)).rejects.toThrow('simulated crash');
      expect(await usernameHolder(t.store, 'one-by-one')).toBeUndefined();
      const { userId } = await addMachineUser(singleStream, input);
      expect(await usernameHolder(t.store, 'one-by-one')).toBe(userId);
    });

    it('refuses a username that is taken, whatever its case: AlreadyExists, and writes no user', async () => {
      await addMachineUser(t.store, { username: 'robot', name: 'Robot', roles: [], context: { caller: iamOwner } });
      const before = (await t.store.readAll()).length;
      const err = await rejection(addMachineUser(t.store, { username: 'ROBOT', name: 'Robot 2', roles: [], context: { caller: iamOwner } }));
      expect(err).toMatchObject({ kind: 'AlreadyExists', id: 'V3-DKcYh', key: 'Errors.User.AlreadyExists' });
      expect((await t.store.readAll()).length).toBe(before);
    });

    it('gives exactly one of two concurrent claims of a name', async () => {
      const results = await Promise.allSettled(
        ['a', 'b', 'c'].map((n) => addMachineUser(t.store, { username: 'same', name: n, roles: [], context: { caller: iamOwner } })),
      );
      expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
      for (const r of results.filter((r) => r.status === 'rejected')) {
        expect((r as PromiseRejectedResult).reason).toMatchObject({ kind: 'AlreadyExists' });
      }
      expect((await t.store.readStream(usernameStream('same'))).length).toBe(1);
    });

    it('lets an organization owner add users to its organization, but not hand out instance roles', async () => {
      const owner = caller([{ role: 'ORG_OWNER', orgId: DEFAULT_ORG }]);
      await expect(addMachineUser(t.store, { username: 'o1', name: 'o1', roles: [{ role: 'ORG_OWNER' }], context: { caller: owner } })).resolves.toBeDefined();
      const err = await rejection(addMachineUser(t.store, { username: 'o2', name: 'o2', roles: [{ role: 'IAM_OWNER' }], context: { caller: owner } }));
      expect(err).toMatchObject({ kind: 'PermissionDenied', id: 'AUTH-AWfge' });
      expect(await usernameHolder(t.store, 'o2')).toBeUndefined();
    });

    it('lets a user manager add users without roles, but not owners', async () => {
      const manager = caller([{ role: 'ORG_USER_MANAGER', orgId: DEFAULT_ORG }]);
      await expect(addMachineUser(t.store, { username: 'm1', name: 'm1', roles: [], context: { caller: manager } })).resolves.toBeDefined();
      expect(await rejection(addMachineUser(t.store, { username: 'm2', name: 'm2', roles: [{ role: 'ORG_OWNER' }], context: { caller: manager } }))).toMatchObject({
        kind: 'PermissionDenied',
      });
    });

    it('refuses an organization that does not exist, and one the caller has no role on', async () => {
      expect(await rejection(addMachineUser(t.store, { username: 'x', name: 'x', orgId: '123', roles: [], context: { caller: iamOwner } }))).toMatchObject({
        kind: 'NotFound',
        id: 'COMMAND-0n8fs',
      });
      const other = await createOrg(t.store, { name: 'Other', context: { caller: iamOwner } });
      const owner = caller([{ role: 'ORG_OWNER', orgId: DEFAULT_ORG }]);
      expect(await rejection(addMachineUser(t.store, { username: 'y', name: 'y', orgId: other.orgId, roles: [], context: { caller: owner } }))).toMatchObject({
        kind: 'PermissionDenied',
      });
    });

    it('refuses unknown roles, an instance role on an organization, and bad usernames', async () => {
      const add = (username: string, roles: RoleGrant[]) => rejection(addMachineUser(t.store, { username, name: 'n', roles, context: { caller: iamOwner } }));
      expect(await add('r1', [{ role: 'ROOT' as never }])).toMatchObject({ kind: 'InvalidArgument' });
      expect(await add('r2', [{ role: 'IAM_OWNER', orgId: DEFAULT_ORG }])).toMatchObject({ kind: 'InvalidArgument' });
      expect(await add('', [])).toMatchObject({ kind: 'InvalidArgument' });
      expect(await add('two words', [])).toMatchObject({ kind: 'InvalidArgument' });
      expect(await add('x'.repeat(181), [])).toMatchObject({ kind: 'InvalidArgument' });
    });
  });

  describe('usernames', () => {
    it('is idempotent for the holder, and free again once released by it', async () => {
      await claimUsername(t.store, 'Ada', 'u1', metadata);
      await claimUsername(t.store, 'ada', 'u1', metadata);
      expect(await rejection(claimUsername(t.store, 'ADA', 'u2', metadata))).toMatchObject({ kind: 'AlreadyExists' });
      await releaseUsername(t.store, 'ada', 'u2', metadata); // not the holder: nothing
      expect(await usernameHolder(t.store, 'ada')).toBe('u1');
      await releaseUsername(t.store, 'ada', 'u1', metadata);
      await claimUsername(t.store, 'ada', 'u2', metadata);
      expect(await usernameHolder(t.store, 'Ada')).toBe('u2');
      expect((await t.store.readStream(usernameStream('ada'))).map((e) => e.type)).toEqual([
        'username.claimed',
        'username.released',
        'username.claimed',
      ]);
    });
  });

  describe('AddPersonalAccessToken', () => {
    it('returns the token once and stores only its hash', async () => {
      const { userId } = await addMachineUser(t.store, { username: 'pat-bot-1', name: 'Bot', roles: [], context: { caller: iamOwner } });
      const expiresAt = new Date(Date.now() + 3_600_000);
      const pat = await addPersonalAccessToken(t.store, { userId, expiresAt, context: { caller: iamOwner } }, new Date());
      expect(pat.token).toMatch(new RegExp(`^pat_${userId}_${pat.tokenId}_[A-Za-z0-9_-]{43}$`));
      const events = await t.store.readStream(userStream(userId));
      const added = events.find((e) => e.type === 'user.pat.added')!;
      expect(added.data).toEqual({ tokenId: pat.tokenId, hash: expect.stringMatching(/^[0-9a-f]{64}$/), expiresAt: expiresAt.toISOString() });
      expect(JSON.stringify(events)).not.toContain(pat.token.slice(-43));
    });

    it('refuses a human user, an unknown user, a past expiry, and a caller without user.write (even on itself)', async () => {
      const { userId } = await addMachineUser(t.store, { username: 'pat-bot-2', name: 'Bot', roles: [], context: { caller: iamOwner } });
      await t.store.append(userStream('h1'), [{ type: 'user.human.added', data: { username: 'h', orgId: DEFAULT_ORG, profile: {}, email: 'h@x' } }], 'no_stream');
      expect(await rejection(addPersonalAccessToken(t.store, { userId: 'h1', context: { caller: iamOwner } }, new Date()))).toMatchObject({ kind: 'FailedPrecondition' });
      expect(await rejection(addPersonalAccessToken(t.store, { userId: '42', context: { caller: iamOwner } }, new Date()))).toMatchObject({ kind: 'NotFound' });
      expect(await rejection(addPersonalAccessToken(t.store, { userId, expiresAt: new Date(Date.UTC(2026, 0, 1)), context: { caller: iamOwner } }, new Date(Date.UTC(2026, 0, 1, 0, 0, 1))))).toMatchObject({
        kind: 'InvalidArgument',
      });
      const itself = caller([], DEFAULT_ORG, userId);
      expect(await rejection(addPersonalAccessToken(t.store, { userId, context: { caller: itself } }, new Date()))).toMatchObject({ kind: 'PermissionDenied' });
    });
  });
});

describe('OrgModule on the CommandBus', () => {
  let t: TestStores;
  let app: INestApplicationContext;
  beforeEach(async () => {
    t = await testBackend('pglite').open();
    @Global()
    @Module({ providers: [{ provide: EVENT_STORE, useValue: t.store }], exports: [EVENT_STORE] })
    class StoreModule {}
    @Module({ imports: [StoreModule, OrgModule] })
    class TestModule {}
    app = await NestFactory.createApplicationContext(TestModule, { logger: false });
  });
  afterEach(async () => {
    await app.close();
    await t.cleanup();
  });

  it('runs the three commands through their handlers', async () => {
    const bus = app.get(CommandBus);
    const { orgId } = await bus.execute(new CreateOrgCommand({ name: 'Bus org', context: { caller: iamOwner } }));
    const { userId } = await bus.execute(
      new AddMachineUserCommand({ username: 'bus-bot', name: 'Bus bot', orgId, roles: [{ role: 'ORG_OWNER' }], context: { caller: iamOwner } }),
    );
    const { token } = await bus.execute(new AddPersonalAccessTokenCommand({ userId, context: { caller: iamOwner } }));
    expect(token.startsWith(`pat_${userId}_`)).toBe(true);
    expect(foldUser(await t.store.readStream(userStream(userId))).roles).toEqual([{ role: 'ORG_OWNER', orgId }]);
  });
});
