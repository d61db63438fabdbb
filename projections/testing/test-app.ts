import 'reflect-metadata';
import { Global, Module, type DynamicModule } from '@nestjs/common';
import { CqrsModule } from '@nestjs/cqrs';
import { Test, type TestingModule } from '@nestjs/testing';
import type { Caller } from '#access';
import { CryptoModule } from '#crypto';
import { SQL_DATABASE } from '#database';
import { EVENT_STORE } from '#eventstore';
import { LOGGER, type Logger } from '#logging';
import { UserModule } from '#user';
import { UserProjectionModule } from '#projections/users';
import type { TestStores } from './test-stores.js';

/** What apps/server's InfrastructureModule provides: the stores and the logger, globally. */
@Global()
@Module({})
export class TestInfrastructureModule {
  static forRoot(stores: TestStores, logger: Logger): DynamicModule {
    return {
      module: TestInfrastructureModule,
      providers: [
        { provide: SQL_DATABASE, useValue: stores.database },
        { provide: EVENT_STORE, useValue: stores.store },
        { provide: LOGGER, useValue: logger },
      ],
      exports: [SQL_DATABASE, EVENT_STORE, LOGGER],
    };
  }
}

/**
 * The user commands (real handlers on the CommandBus) and the user read model (queries on the
 * QueryBus, its runner started), on the given stores: what the server runs for these methods.
 */
export async function startUserApp(stores: TestStores, logger: Logger, imports: DynamicModule['imports'] = []): Promise<TestingModule> {
  const app = await Test.createTestingModule({
    imports: [
      CqrsModule.forRoot(),
      TestInfrastructureModule.forRoot(stores, logger),
      CryptoModule.forRoot({ key: Buffer.alloc(32, 5), dataDir: '/nonexistent' }),
      UserModule,
      UserProjectionModule,
      ...(imports ?? []),
    ],
  }).compile();
  await app.init();
  return app;
}

export function humanCaller(userId: string, orgId: string): Caller {
  return { userId, orgId, instanceId: 'instance-1', kind: 'human', roles: [] };
}
