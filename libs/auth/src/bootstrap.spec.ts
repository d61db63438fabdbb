import 'reflect-metadata';
import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { Global, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { existsSync, mkdtempSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describeWhen } from '#test-kit';
import { CONFIG, loadConfig } from '#config';
import { NO_SERVER_REASON, serverDatabaseUrl } from '#database/testing';
import { EVENT_STORE, type EventStore, type JsonObject } from '#eventstore';
import { createLogger, LOGGER } from '#logging';
import { capturingLogger } from '#logging/testing';
import { INSTANCE_STREAM } from '#org';
import { readInstance } from '#org';
import { connectTestStores, testBackend, type TestStores } from '#eventstore/testing';
import { usernameHolder } from '#user';
import { AuthModule } from './auth.module.js';
import { AUTHENTICATOR, type Authenticator } from './authenticator.js';
import { bootstrapInstance, BootstrapError, systemCaller } from './bootstrap.js';
import { TokenAuthenticator } from './token-authenticator.js';

const dirs: string[] = [];
const tempDir = () => {
  const dir = mkdtempSync(join(tmpdir(), 'bootstrap-'));
  dirs.push(dir);
  return dir;
};
afterAll(() => dirs.forEach((dir) => rmSync(dir, { recursive: true, force: true })));


const eventCount = async (store: EventStore) => (await store.readAll({ limit: 10_000 })).length;

describe('bootstrap at first start', () => {
  let t: TestStores | undefined;
  afterEach(async () => {
    await t?.cleanup();
    t = undefined;
  });

  it('creates the instance, the default organization and the admin, and writes its token once with mode 0600', async () => {
    t = await testBackend('pglite').open();
    const dataDir = join(tempDir(), 'nested', 'data'); // created when missing
    const { logger, lines, raw } = capturingLogger();
    const result = await bootstrapInstance({ store: t.store, dataDir, logger });

    expect(result.createdInstance).toBe(true);
    const path = join(dataDir, 'admin.pat');
    expect(result.adminTokenPath).toBe(path);
    expect(statSync(path).mode & 0o777).toBe(0o600);
    const token = readFileSync(path, 'utf8').trim();

    const instance = (await readInstance(t.store))!;
    expect(instance).toEqual(result.instance);
    expect(instance.instanceId).toMatch(/^\d{18,19}$/);
    const caller = await new TokenAuthenticator(t.store).authenticate(`Bearer ${token}`);
    expect(caller).toEqual({
      userId: instance.adminUserId,
      orgId: instance.defaultOrgId,
      instanceId: instance.instanceId,
      kind: 'machine',
      roles: [{ role: 'IAM_OWNER' }],
    });
    expect(await usernameHolder(t.store, 'admin')).toBe(instance.adminUserId);
    const [orgAdded] = await t.store.readStream(`org-${instance.defaultOrgId}`);
    expect(orgAdded).toMatchObject({ type: 'org.added', data: { name: 'Default' }, metadata: { editor: 'system', instanceId: instance.instanceId } });

    // The log names the file, never the token.
    expect(lines.some((l) => String(l.msg).includes(path) && l.path === path)).toBe(true);
    expect(raw.join('')).not.toContain(token.slice(-43));
    // Nor does any event.
    expect(JSON.stringify(await t.store.readAll({ limit: 10_000 }))).not.toContain(token.slice(-43));

    // A second start changes nothing: no event, the same file.
    const before = await eventCount(t.store);
    const stamp = statSync(path).mtimeMs;
    const again = await bootstrapInstance({ store: t.store, dataDir, logger });
    expect(again).toEqual({ instance, createdInstance: false });
    expect(await eventCount(t.store)).toBe(before);
    expect(readFileSync(path, 'utf8').trim()).toBe(token);
    expect(statSync(path).mtimeMs).toBe(stamp);
  });

  it('two concurrent starts create one instance, one admin and one token file', async () => {
    t = await testBackend('pglite').open();
    const shared = tempDir();
    const [a, b] = [tempDir(), tempDir()];
    const results = await Promise.all([
      bootstrapInstance({ store: t.store, dataDir: shared }),
      bootstrapInstance({ store: t.store, dataDir: shared }),
      bootstrapInstance({ store: t.store, dataDir: a }),
      bootstrapInstance({ store: t.store, dataDir: b }),
    ]);
    expect(results.filter((r) => r.createdInstance)).toHaveLength(1);
    expect(new Set(results.map((r) => r.instance.instanceId)).size).toBe(1);
    expect(results.filter((r) => r.adminTokenPath)).toHaveLength(1);
    expect([shared, a, b].filter((dir) => existsSync(join(dir, 'admin.pat')))).toHaveLength(1);
    expect(await t.store.readStream(INSTANCE_STREAM)).toHaveLength(1);
    const instance = results[0]!.instance;
    expect((await t.store.readStream(`user-${instance.adminUserId}`)).map((e) => e.type)).toEqual([
      'user.machine.added',
      'user.member.role.granted',
      'user.pat.added',
    ]);
  });

  it('refuses to create the admin while an old admin.pat is there, and finishes once it is moved away', async () => {
    t = await testBackend('pglite').open();
    const dataDir = tempDir();
    const path = join(dataDir, 'admin.pat');
    writeFileSync(path, 'pat_old_token\n', { mode: 0o600 });
    const err = await bootstrapInstance({ store: t.store, dataDir }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(BootstrapError);
    expect((err as Error).message).toContain(path);
    expect(readFileSync(path, 'utf8')).toBe('pat_old_token\n');
    const instance = (await readInstance(t.store))!;
    expect(await t.store.readStream(`user-${instance.adminUserId}`)).toHaveLength(0);

    renameSync(path, `${path}.old`);
    const result = await bootstrapInstance({ store: t.store, dataDir });
    expect(result).toMatchObject({ createdInstance: false, adminTokenPath: path, instance });
    await expect(new TokenAuthenticator(t.store).authenticate(`Bearer ${readFileSync(path, 'utf8').trim()}`)).resolves.toMatchObject({
      userId: instance.adminUserId,
    });
  });

  it('finishes a setup that stopped after instance.added', async () => {
    t = await testBackend('pglite').open();
    const planned = { instanceId: '500000000000000001', name: 'default', defaultOrgId: '500000000000000002', adminUserId: '500000000000000003' };
    const metadata = { instanceId: planned.instanceId, resourceOwner: planned.instanceId, editor: 'system', correlationId: 'c' } as JsonObject;
    await t.store.append(INSTANCE_STREAM, [{ type: 'instance.added', data: planned, metadata }], 'no_stream');
    const result = await bootstrapInstance({ store: t.store, dataDir: tempDir() });
    expect(result).toMatchObject({ createdInstance: false, instance: planned });
    expect(result.adminTokenPath).toBeDefined();
    expect(await t.store.readStream(`org-${planned.defaultOrgId}`)).toHaveLength(1);
    expect(await usernameHolder(t.store, 'ADMIN')).toBe(planned.adminUserId);
  });

  it('builds the system caller: IAM_OWNER in the default organization', () => {
    expect(systemCaller({ instanceId: 'i', defaultOrgId: 'o' })).toEqual({
      userId: 'system',
      orgId: 'o',
      instanceId: 'i',
      kind: 'machine',
      roles: [{ role: 'IAM_OWNER' }],
    });
  });
});

describe('AuthModule', () => {
  it('runs the bootstrap when the application starts and provides AUTHENTICATOR', async () => {
    const t = await testBackend('pglite').open();
    const dataDir = tempDir();
    @Global()
    @Module({
      providers: [
        { provide: EVENT_STORE, useValue: t.store },
        { provide: CONFIG, useValue: loadConfig({ DATA_DIR: dataDir }) },
        { provide: LOGGER, useValue: createLogger('silent') },
      ],
      exports: [EVENT_STORE, CONFIG, LOGGER],
    })
    class Infrastructure {}
    @Module({ imports: [Infrastructure, AuthModule] })
    class TestApp {}
    const app = await NestFactory.createApplicationContext(TestApp, { logger: false });
    try {
      const token = readFileSync(join(dataDir, 'admin.pat'), 'utf8').trim();
      const caller = await app.get<Authenticator>(AUTHENTICATOR).authenticate(`Bearer ${token}`);
      expect(caller.roles).toEqual([{ role: 'IAM_OWNER' }]);
    } finally {
      await app.close();
      await t.cleanup();
    }
  });
});

describeWhen(Boolean(serverDatabaseUrl), NO_SERVER_REASON, 'bootstrap on server PostgreSQL', () => {
  it('two servers starting at once on one database create one instance', async () => {
    const first = await testBackend('server', 'bootstrap').open();
    // A second server: its own pool and store on the same database.
    const second = connectTestStores(first.url!);
    try {
      const dataDir = tempDir();
      const results = await Promise.all([
        bootstrapInstance({ store: first.store, dataDir }),
        bootstrapInstance({ store: second.store, dataDir }),
        bootstrapInstance({ store: first.store, dataDir: tempDir() }),
        bootstrapInstance({ store: second.store, dataDir: tempDir() }),
      ]);
      expect(results.filter((r) => r.createdInstance)).toHaveLength(1);
      expect(results.filter((r) => r.adminTokenPath)).toHaveLength(1);
      expect(await first.store.readStream(INSTANCE_STREAM)).toHaveLength(1);
      const token = readFileSync(results.find((r) => r.adminTokenPath)!.adminTokenPath!, 'utf8').trim();
      await expect(new TokenAuthenticator(second.store).authenticate(`Bearer ${token}`)).resolves.toMatchObject({
        roles: [{ role: 'IAM_OWNER' }],
      });
    } finally {
      await second.cleanup();
      await first.cleanup();
    }
  });
});
