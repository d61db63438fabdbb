import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Global, Inject, Injectable, Module, type DynamicModule } from '@nestjs/common';
import { CommandBus, CqrsModule } from '@nestjs/cqrs';
import { Test, type TestingModule } from '@nestjs/testing';
import { serverDatabaseUrl } from '#database/testing';
import { testBackend, type TestStores } from '#eventstore/testing';
import { CryptoModule } from '#crypto';
import { EVENT_STORE, type EventStore } from '#eventstore';
import { AddOtpEmailCommand, RemoveOtpEmailCommand, SetEmailCommand, UserModule, VerifyEmailCommand, type SetEmailResult } from './index.js';
import { caller, emailVerified, humanAdded, ORG, USER } from '#user/testing';
import type { Caller } from '#access';
import { CLOCK, readStreamOf, type ObjectDetails } from '#kernel';
import { TestClock } from '#kernel/testing';
import type { UserEvent } from './events.js';

/** A sibling feature module: it knows the commands and the CommandBus, nothing else of users. */
@Injectable()
class MfaEnrollment {
  constructor(@Inject(CommandBus) private readonly commands: CommandBus) {}
  enroll(userId: string, who: Caller): Promise<ObjectDetails> {
    return this.commands.execute(new AddOtpEmailCommand({ userId, caller: who }));
  }
  unenroll(userId: string, who: Caller): Promise<ObjectDetails> {
    return this.commands.execute(new RemoveOtpEmailCommand({ userId, caller: who }));
  }
}
@Module({ imports: [UserModule], providers: [MfaEnrollment] })
class SiblingModule {}

/** The app root provides the store globally; this stands in for it. */
@Global()
@Module({})
class StoreModule {
  static of(store: EventStore): DynamicModule {
    return { module: StoreModule, providers: [{ provide: EVENT_STORE, useValue: store }], exports: [EVENT_STORE] };
  }
}

const self = caller({ userId: USER, kind: 'human' });

describe.each(serverDatabaseUrl ? (['pglite', 'server'] as const) : (['pglite'] as const))('user commands from a sibling module (%s)', (kind) => {
  let moduleRef: TestingModule;
  let stores: TestStores;
  let store: EventStore;
  let sibling: MfaEnrollment;
  let commands: CommandBus;
  let userNo = 0;
  const clock = new TestClock();

  beforeAll(async () => {
    stores = await testBackend(kind, 'usermodule').open();
    store = stores.store;
    moduleRef = await Test.createTestingModule({
      imports: [
        CqrsModule.forRoot(),
        StoreModule.of(store),
        CryptoModule.forRoot({ key: Buffer.alloc(32, 5), dataDir: '/nonexistent' }),
        SiblingModule,
      ],
    })
      .overrideProvider(CLOCK)
      .useValue(clock)
      .compile();
    await moduleRef.init();
    sibling = moduleRef.get(MfaEnrollment);
    commands = moduleRef.get(CommandBus);
  });
  afterAll(async () => {
    await moduleRef?.close();
    await stores?.cleanup();
  });

  async function seedVerifiedUser(): Promise<string> {
    const userId = `${USER}${++userNo}`;
    await store.append(`user-${userId}`, [humanAdded(), emailVerified()], 'no_stream');
    return userId;
  }

  it('gets the details of the appended event', async () => {
    const userId = await seedVerifiedUser();
    const before = Date.now();
    const details = await sibling.enroll(userId, { ...self, userId });
    const events = await store.readStream(`user-${userId}`);
    expect(events.map((e) => e.type)).toEqual(['user.human.added', 'user.email.verified', 'user.otp.email.added']);
    expect(details).toEqual({ sequence: 3, changeDate: events[2]!.createdAt, resourceOwner: ORG });
    expect(details.changeDate.getTime()).toBeGreaterThanOrEqual(before - 5_000);
  });

  it('gets the same DomainErrors as the API, with their ids', async () => {
    const userId = await seedVerifiedUser();
    await sibling.enroll(userId, { ...self, userId });
    await expect(sibling.enroll(userId, { ...self, userId })).rejects.toMatchObject({ kind: 'AlreadyExists', id: 'COMMAND-MKL2s' });
    await expect(sibling.enroll('', self)).rejects.toMatchObject({ kind: 'InvalidArgument', id: 'COMMAND-Sg1hz' });
    await expect(sibling.unenroll('', self)).rejects.toMatchObject({ kind: 'InvalidArgument', id: 'COMMAND-S2h11' });
    await expect(sibling.enroll('404', caller({ roles: [{ role: 'IAM_OWNER' }] }))).rejects.toMatchObject({ kind: 'NotFound', id: 'COMMAND-4g3xq' });
    await expect(sibling.enroll(userId, caller())).rejects.toMatchObject({ kind: 'PermissionDenied', id: 'AUTH-AWfge' });
    const details = await sibling.unenroll(userId, { ...self, userId });
    expect(details.sequence).toBe(4);
    await expect(sibling.unenroll(userId, { ...self, userId })).rejects.toMatchObject({ kind: 'NotFound', id: 'COMMAND-b312D' });
  });

  it('reads the time from CLOCK: a code expires an hour after SetEmail by that clock', async () => {
    const userId = await seedVerifiedUser();
    const who = { ...self, userId };
    const setEmail = (email: string): Promise<SetEmailResult> =>
      commands.execute(new SetEmailCommand({ userId, caller: who, email, verification: { kind: 'return' } }));
    const issuedAt = clock.time;
    const { verificationCode } = await setEmail('ada@new.example.com');
    const added = (await readStreamOf<UserEvent>(store, `user-${userId}`)).at(-1);
    expect(added).toMatchObject({ type: 'user.email.code.added', data: { expiresAt: new Date(issuedAt + 3_600_000).toISOString() } });

    clock.advance(3_600_000);
    await expect(commands.execute(new VerifyEmailCommand({ userId, caller: who, code: verificationCode! }))).rejects.toMatchObject({
      kind: 'InvalidArgument',
      id: 'COMMAND-eis9R',
    });
    const again = await setEmail('ada@newer.example.com');
    await expect(commands.execute(new VerifyEmailCommand({ userId, caller: who, code: again.verificationCode! }))).resolves.toMatchObject({ resourceOwner: ORG });
  });

  it('lets exactly one of 20 concurrent AddOtpEmail commands on one user succeed', async () => {
    const userId = await seedVerifiedUser();
    const results = await Promise.allSettled(Array.from({ length: 20 }, () => sibling.enroll(userId, { ...self, userId })));
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    const refused = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
    expect(refused).toHaveLength(19);
    for (const r of refused) expect(r.reason).toMatchObject({ kind: 'AlreadyExists', id: 'COMMAND-MKL2s' });
    const added = (await store.readStream(`user-${userId}`)).filter((e) => e.type === 'user.otp.email.added');
    expect(added).toHaveLength(1);
  });
});
