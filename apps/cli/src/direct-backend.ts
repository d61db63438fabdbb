import 'reflect-metadata';
import { Module, type DynamicModule, type INestApplicationContext } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { Role } from '#access';
import { systemCaller } from '#auth';
import type { EventStore } from '#eventstore';
import type { Logger } from '#logging';
import { readInstance } from '#org';
import { OrgModule } from '#org';
import { DeleteUserHandler, UsernameClaimsModule, type UsernameSweep } from '#user';
import { AdminOperations } from '#runtime';
import type { Config } from '#config';
import { InfrastructureModule } from '#runtime';
import { openEventStore, openPersonalDataKeys, openSqlDatabase } from '#runtime';
import { CliError, type AdminBackend } from './backend.js';

/** The commands and the stores, without the HTTP side and without the first-start setup. */
@Module({})
export class DirectAdminModule {
  static forRoot(infrastructure: Parameters<typeof InfrastructureModule.forRoot>[0]): DynamicModule {
    return {
      module: DirectAdminModule,
      imports: [InfrastructureModule.forRoot(infrastructure), OrgModule, UsernameClaimsModule],
      // DeleteUser for `users erase` (the rest of UserModule needs the code cipher).
      providers: [AdminOperations, DeleteUserHandler],
    };
  }
}

const UNDEFINED_TABLE = '42P01';

/**
 * Works on the database of DATABASE_URL directly (server PostgreSQL: the server does not own
 * it alone), through the same commands as the server, in a Nest application context, as the
 * system caller (IAM_OWNER). The stores are opened on first use and closed by close().
 */
export class DirectBackend implements AdminBackend {
  private opened?: Promise<{ app: INestApplicationContext; store: EventStore }>;

  constructor(
    private readonly config: Config,
    private readonly logger: Logger,
  ) {}

  async createOrg(name: string): Promise<{ orgId: string }> {
    const { operations, caller } = await this.prepare();
    return operations.createOrg(caller, name);
  }

  async createMachineUser(request: { name: string; role: Role; orgId?: string; username?: string }): Promise<{ userId: string; token: string }> {
    const { operations, caller } = await this.prepare();
    const { userId, token } = await operations.createMachineUser(caller, request);
    return { userId, token };
  }

  async listTokens(userId: string): Promise<{ tokens: { tokenId: string; createdAt: string; expiresAt?: string }[] }> {
    const { operations, caller } = await this.prepare();
    return operations.listTokens(caller, userId);
  }

  async revokeToken(userId: string, tokenId: string): Promise<unknown> {
    const { operations, caller } = await this.prepare();
    return operations.revokeToken(caller, userId, tokenId);
  }

  async eraseUser(userId: string): Promise<{ rewritten: number; moved: number }> {
    const { operations, caller } = await this.prepare();
    return operations.eraseUser(caller, userId);
  }

  async removeRole(userId: string, role: Role, orgId?: string): Promise<unknown> {
    const { operations, caller } = await this.prepare();
    return operations.removeRole(caller, userId, role, orgId);
  }

  async sweepUsernames(): Promise<UsernameSweep> {
    const { operations, caller } = await this.prepare();
    return operations.sweepUsernameClaims(caller);
  }

  async close(): Promise<void> {
    const opened = await this.opened?.catch(() => undefined);
    this.opened = undefined;
    await opened?.app.close();
  }

  private async prepare() {
    this.opened ??= this.open();
    const { app, store } = await this.opened;
    const instance = await readInstance(store).catch((err: unknown) => {
      if ((err as { code?: string }).code === UNDEFINED_TABLE) return undefined;
      throw new CliError(`cannot read the database of DATABASE_URL: ${(err as Error).message}`);
    });
    if (!instance) {
      throw new CliError(
        'the database of DATABASE_URL has no instance yet: start the server once on it (it sets up the schema, the instance and the first admin)',
      );
    }
    return { operations: app.get(AdminOperations), caller: systemCaller(instance) };
  }

  private async open() {
    const database = await openSqlDatabase(this.config).catch((err: unknown) => {
      throw new CliError(`cannot open the database of DATABASE_URL: ${(err as Error).message}`);
    });
    try {
      const personalDataKeys = openPersonalDataKeys(this.config, database);
      const eventStore = await openEventStore(this.config, database, personalDataKeys);
      const app = await NestFactory.createApplicationContext(
        DirectAdminModule.forRoot({ config: this.config, logger: this.logger, database, eventStore, personalDataKeys }),
        { logger: false },
      );
      return { app, store: eventStore };
    } catch (err) {
      await database.close().catch(() => undefined);
      throw err;
    }
  }
}
