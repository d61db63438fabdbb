import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { chmodSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from 'kysely';
import { EMBEDDED_SHARED_BUFFERS_MB, openEmbeddedDatabase } from './sql-database.js';

/** Every path under root with its permission bits. */
function modes(root: string): { path: string; dir: boolean; mode: number }[] {
  const out: { path: string; dir: boolean; mode: number }[] = [];
  const walk = (path: string) => {
    const info = lstatSync(path);
    if (info.isSymbolicLink()) return;
    out.push({ path, dir: info.isDirectory(), mode: info.mode & 0o777 });
    if (info.isDirectory()) for (const name of readdirSync(path)) walk(join(path, name));
  };
  walk(root);
  return out;
}

describe('DATA_DIR is owner-only, whatever the umask', () => {
  let parent: string;
  let previousUmask: number;

  beforeAll(() => {
    parent = mkdtempSync(join(tmpdir(), 'data-dir-'));
    previousUmask = process.umask(0o022); // the usual umask: files 0644, directories 0755
  });
  afterAll(() => {
    process.umask(previousUmask);
    rmSync(parent, { recursive: true, force: true });
  });

  it('creates the database files 0600 and directories 0700, and closes up what was there before', async () => {
    const dataDir = join(parent, 'data');
    mkdirSync(join(dataDir, 'outbox'), { recursive: true, mode: 0o755 });
    chmodSync(dataDir, 0o755);
    writeFileSync(join(dataDir, 'outbox', 'old.eml'), 'x', { mode: 0o644 });
    writeFileSync(join(dataDir, 'encryption.key'), 'x', { mode: 0o666 });
    process.umask(0o022);

    const db = await openEmbeddedDatabase({ dataDir });
    try {
      // Files the database creates while it runs come from the umask the open set.
      await db.db.schema.createTable('t').addColumn('x', 'integer').execute();
      const all = modes(dataDir);
      expect(all.filter((e) => e.path.includes(`${join(dataDir, 'pg')}`)).length).toBeGreaterThan(10);
      const open = all.filter((e) => (e.dir ? e.mode !== 0o700 : (e.mode & 0o077) !== 0));
      expect(open).toEqual([]);
      // The page cache is the embedded default, not PGlite's own 160 MB (the idle server's memory).
      const { rows } = await sql<{ shared_buffers: string }>`show shared_buffers`.execute(db.db);
      expect(rows[0]!.shared_buffers).toBe(`${EMBEDDED_SHARED_BUFFERS_MB}MB`);
    } finally {
      await db.close();
    }
  });
});
