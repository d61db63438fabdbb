import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createScratchDatabase, seedEmbeddedDataDir } from '#database/testing';
import { createLogger } from '#logging';
export { createLogger };
import { loadConfig } from '#config';
import { startServer, type RunningServer } from '#server';

export type StoreKind = 'pglite' | 'server';

export interface TestServer {
  url: string;
  dataDir: string;
  /** Server PostgreSQL: the scratch database's URL (pg_dump); embedded: undefined. */
  databaseUrl?: string;
  adminToken: string;
  server: RunningServer;
  stop(): Promise<void>;
}

/**
 * The real server (startServer, as main.ts runs it) on port 0 with a fresh data directory:
 * on embedded PGlite, or on a scratch database of the server in DATABASE_URL.
 */
export async function startTestServer(kind: StoreKind, env: Record<string, string> = {}, logger = createLogger('silent')): Promise<TestServer> {
  const dataDir = mkdtempSync(join(tmpdir(), 'e2e-'));
  const scratch = kind === 'server' ? await createScratchDatabase('e2e') : undefined;
  // An initialized cluster saves each embedded server its initdb; the fresh start itself is
  // covered by the suites that start the server process on a new data directory.
  if (!scratch && !env.DATABASE_URL) await seedEmbeddedDataDir(dataDir);
  const config = loadConfig({
    PORT: '0',
    DATA_DIR: dataDir,
    LOG_LEVEL: 'silent',
    ...(scratch ? { DATABASE_URL: scratch.url, ENCRYPTION_KEY: Buffer.alloc(32, 8).toString('base64') } : {}),
    ...env,
  });
  const server = await startServer(config, logger);
  const adminToken = readFileSync(join(dataDir, 'admin.pat'), 'utf8').trim();
  return {
    url: server.url,
    dataDir,
    ...(scratch ? { databaseUrl: scratch.url } : {}),
    adminToken,
    server,
    async stop() {
      await server.close();
      await scratch?.drop();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

export const storeKinds = (): StoreKind[] => (process.env.DATABASE_URL ? ['pglite', 'server'] : ['pglite']);

/** A small REST client: JSON in, status and JSON out. */
export function restClient(baseUrl: string) {
  return async function call(method: string, path: string, token?: string, body?: unknown) {
    const res = await fetch(`${baseUrl}${path}`, {
      method,
      headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
    const text = await res.text();
    let json: any;
    try {
      json = text ? JSON.parse(text) : undefined;
    } catch {
      json = { unparsed: text };
    }
    return { status: res.status, body: json };
  };
}
