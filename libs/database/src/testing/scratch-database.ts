import { randomBytes } from 'node:crypto';
import pg from 'pg';

/** Server PostgreSQL for tests, when DATABASE_URL is set (`.ci/run` sets it). */
export const serverDatabaseUrl = process.env.DATABASE_URL;
export const NO_SERVER_REASON = 'DATABASE_URL is not set, so the server-PostgreSQL suites do not run (.ci/run sets it)';

/**
 * A fresh database on the server of DATABASE_URL, so suites running side by side never see
 * each other's rows. `drop` removes it.
 */
export async function createScratchDatabase(prefix = 'scratch'): Promise<{ url: string; drop: () => Promise<void> }> {
  if (!serverDatabaseUrl) throw new Error(NO_SERVER_REASON);
  const name = `${prefix}_${randomBytes(6).toString('hex')}`;
  const admin = new pg.Client({ connectionString: serverDatabaseUrl });
  await admin.connect();
  try {
    await admin.query(`create database ${pg.escapeIdentifier(name)}`);
  } finally {
    await admin.end();
  }
  const url = new URL(serverDatabaseUrl);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    async drop() {
      const client = new pg.Client({ connectionString: serverDatabaseUrl });
      await client.connect();
      try {
        await client.query(`drop database if exists ${pg.escapeIdentifier(name)} with (force)`);
      } finally {
        await client.end();
      }
    },
  };
}
