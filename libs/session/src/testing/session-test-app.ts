import { Global, Module, type DynamicModule } from '@nestjs/common';
import { CommandBus, CqrsModule, QueryBus } from '@nestjs/cqrs';
import { Test, type TestingModule } from '@nestjs/testing';
import { CONFIG, loadConfig } from '#config';
import type { Caller } from '#access';
import { CodeCipher } from '#crypto';
import { CryptoModule } from '#crypto';
import { EVENT_STORE, PostgresEventStore, type EventStore } from '#eventstore';
import { UserModule } from '#user';
import { SessionModule } from '#session';
import { CLOCK } from '#kernel';
import { TestClock } from '#kernel/testing';
import { FailingAppendStore, testBackend } from '#eventstore/testing';


/** What apps/server's InfrastructureModule provides globally: the store and the configuration. */
@Global()
@Module({})
class InfrastructureStandIn {
  static of(store: EventStore, env: NodeJS.ProcessEnv): DynamicModule {
    return {
      module: InfrastructureStandIn,
      providers: [
        { provide: EVENT_STORE, useValue: store },
        { provide: CONFIG, useValue: loadConfig(env) },
      ],
      exports: [EVENT_STORE, CONFIG],
    };
  }
}

export const TEST_KEY = Buffer.alloc(32, 5);

export interface SessionTestApp {
  moduleRef: TestingModule;
  store: FailingAppendStore;
  commands: CommandBus;
  queries: QueryBus;
  clock: TestClock;
  cipher: CodeCipher;
  /**
   * The next commit of an append whose first stream (in name order) matches throws `error`
   * inside its transaction, after its rows are inserted: a failure of the database at the last
   * moment, which must leave none of the append's streams written.
   */
  failNextCommit(matches: (stream: string) => boolean, error?: Error): void;
  close(): Promise<void>;
}

/**
 * SessionModule and UserModule on a real event store (in-memory PGlite, or a scratch database on
 * the server of DATABASE_URL), reading the time from `clock`. The store offers multi-stream
 * appends as the server's does on PostgreSQL; `app.store.multiStream = false` takes them away
 * (the EventStoreDB path).
 */
export async function startSessionTestApp(kind: 'pglite' | 'server', env: NodeJS.ProcessEnv = {}): Promise<SessionTestApp> {
  const testStores = await testBackend(kind, 'session').open();
  let commitFailure: { matches: (stream: string) => boolean; error: Error } | undefined;
  const failingCommits = new PostgresEventStore(testStores.database, {
    beforeCommit: async (stream) => {
      if (!commitFailure?.matches(stream)) return;
      const { error } = commitFailure;
      commitFailure = undefined;
      throw error;
    },
  });
  const store = new FailingAppendStore(failingCommits, { multiStream: true });
  const clock = new TestClock();
  const moduleRef = await Test.createTestingModule({
    imports: [
      CqrsModule.forRoot(),
      InfrastructureStandIn.of(store, env),
      CryptoModule.forRoot({ key: TEST_KEY, dataDir: '/nonexistent' }),
      SessionModule,
      UserModule,
    ],
  })
    .overrideProvider(CLOCK)
    .useValue(clock)
    .compile();
  await moduleRef.init();
  return {
    moduleRef,
    store,
    commands: moduleRef.get(CommandBus),
    queries: moduleRef.get(QueryBus),
    clock,
    cipher: new CodeCipher(TEST_KEY),
    failNextCommit(matches, error = new Error('simulated failure at commit')) {
      commitFailure = { matches, error };
    },
    async close() {
      await moduleRef.close();
      await failingCommits.close();
      await testStores.cleanup();
    },
  };
}

export const INSTANCE = 'instance-1';
export const callerWith = (roles: Caller['roles'], userId = '900000000000000077', orgId = '100000000000000001'): Caller => ({
  userId,
  orgId,
  instanceId: INSTANCE,
  kind: 'machine',
  roles,
});
