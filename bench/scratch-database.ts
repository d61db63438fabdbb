import { randomBytes } from 'node:crypto';
import pg from 'pg';

/**
 * A scratch database `<prefix>_<random>` on the server of `baseUrl`, for one benchmark run;
 * `drop` removes it (also with connections still open).
 */
export async function createScratchDatabase(prefix: string, baseUrl: string): Promise<{ url: string; name: string; drop: () => Promise<void> }> {
  const name = `${prefix}_${randomBytes(6).toString('hex')}`;
  const admin = async (statement: string) => {
    const client = new pg.Client({ connectionString: baseUrl });
    await client.connect();
    try {
      await client.query(statement);
    } finally {
      await client.end();
    }
  };
  await admin(`create database ${pg.escapeIdentifier(name)}`);
  const url = new URL(baseUrl);
  url.pathname = `/${name}`;
  return { url: url.toString(), name, drop: () => admin(`drop database if exists ${pg.escapeIdentifier(name)} with (force)`) };
}
