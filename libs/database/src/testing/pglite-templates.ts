import { createHash, randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { cp, mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PGlite, type PGliteOptions } from '@electric-sql/pglite';
import { Kysely, type Migration } from 'kysely';
import { PGliteDialect } from '../pglite-dialect.js';
import { migrate } from '../migrations.js';
import { openInMemoryDatabase, type SqlDatabase } from '../sql-database.js';

/**
 * Starting PGlite from nothing runs initdb in WebAssembly and compiles two large modules: seconds
 * per database, and the suites open hundreds. Tests start instead from a template — the same
 * database after initdb and the migrations, dumped once per machine and kept on disk under a key
 * made of PGlite's version and the migrations' code — with the modules compiled once per test
 * file. What a test sees is byte for byte what a fresh start would have built; the start from
 * nothing itself stays covered by the suites that run the server on a new data directory.
 */
const require = createRequire(import.meta.url);
const pgliteVersion: string = JSON.parse(
  await readFile(join(require.resolve('@electric-sql/pglite/pglite.wasm'), '..', '..', 'package.json'), 'utf8'),
).version;
const cacheDir = join(tmpdir(), `otp-email-pglite-templates-${pgliteVersion}`);

type CompiledModule = NonNullable<PGliteOptions['pgliteWasmModule']>;
/** Node's WebAssembly global; the compile target of this project's TypeScript libs does not declare it. */
const wasm = (globalThis as unknown as { WebAssembly: { compile(bytes: Uint8Array): Promise<CompiledModule> } }).WebAssembly;

let compiled: Promise<Pick<PGliteOptions, 'pgliteWasmModule' | 'initdbWasmModule' | 'fsBundle'>> | undefined;

function compiledModules() {
  compiled ??= (async () => {
    const [pglite, initdb, bundle] = await Promise.all([
      readFile(require.resolve('@electric-sql/pglite/pglite.wasm')),
      readFile(require.resolve('@electric-sql/pglite/initdb.wasm')),
      readFile(require.resolve('@electric-sql/pglite/pglite.data')),
    ]);
    const [pgliteWasmModule, initdbWasmModule] = await Promise.all([wasm.compile(pglite), wasm.compile(initdb)]);
    return { pgliteWasmModule, initdbWasmModule, fsBundle: new Blob([bundle]) };
  })();
  return compiled;
}

export type MigrationSets = Record<string, Record<string, Migration>>;

/** Changes whenever a history, a migration's name or a migration's code changes. */
function templateKey(schemas: MigrationSets): string {
  const hash = createHash('sha256');
  for (const [history, migrations] of Object.entries(schemas)) {
    hash.update(`history ${history}\n`);
    for (const [name, migration] of Object.entries(migrations)) {
      hash.update(`${name}\n${migration.up.toString()}\n${migration.down?.toString() ?? ''}\n`);
    }
  }
  return hash.digest('hex').slice(0, 24);
}

/** Written under a private name first, then renamed: a reader never sees half a file, and two builders racing both succeed. */
async function writeAtomically(path: string, content: Uint8Array): Promise<void> {
  await mkdir(cacheDir, { recursive: true, mode: 0o700 });
  const partial = `${path}.${randomBytes(6).toString('hex')}.partial`;
  await writeFile(partial, content, { mode: 0o600 });
  await rename(partial, path);
}

const templates = new Map<string, Promise<Blob>>();

async function template(schemas: MigrationSets): Promise<Blob> {
  const key = templateKey(schemas);
  let found = templates.get(key);
  if (!found) {
    found = (async () => {
      const path = join(cacheDir, `${key}.tar`);
      if (existsSync(path)) return new Blob([await readFile(path)]);
      const pglite = await PGlite.create(await compiledModules());
      const db = new Kysely<any>({ dialect: new PGliteDialect(pglite) });
      try {
        for (const [history, migrations] of Object.entries(schemas)) await migrate(db, history, migrations);
        const dump = await pglite.dumpDataDir('none');
        await writeAtomically(path, new Uint8Array(await dump.arrayBuffer()));
        return dump;
      } finally {
        await db.destroy();
        await pglite.close();
      }
    })();
    found.catch(() => templates.delete(key));
    templates.set(key, found);
  }
  return found;
}

/**
 * A fresh in-memory database with `schemas` (history table → migrations) applied, in the order
 * given, started from the cached template.
 */
export async function openMigratedInMemoryDatabase(schemas: MigrationSets = {}): Promise<SqlDatabase> {
  const [modules, loadDataDir] = await Promise.all([compiledModules(), template(schemas)]);
  return openInMemoryDatabase({ ...modules, loadDataDir });
}

let initializedDataDir: Promise<string> | undefined;

/**
 * Puts an initialized (initdb'd, empty) PGlite cluster into `dataDir/pg`, where the server's
 * embedded database lives, so a test server skips initdb; the server then runs its migrations
 * as on any restart.
 */
export async function seedEmbeddedDataDir(dataDir: string): Promise<void> {
  initializedDataDir ??= (async () => {
    const path = join(cacheDir, 'initialized-pg');
    if (existsSync(join(path, 'PG_VERSION'))) return path;
    const building = join(cacheDir, `initialized-pg.${randomBytes(6).toString('hex')}.partial`);
    await mkdir(cacheDir, { recursive: true, mode: 0o700 });
    const pglite = await PGlite.create({ dataDir: building, ...(await compiledModules()) });
    await pglite.close();
    try {
      await rename(building, path);
    } catch (err) {
      // Another worker got there first: its copy is as good as ours.
      if (!existsSync(join(path, 'PG_VERSION'))) throw err;
      await rm(building, { recursive: true, force: true });
    }
    return path;
  })();
  await cp(await initializedDataDir, join(dataDir, 'pg'), { recursive: true });
}
