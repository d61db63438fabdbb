import { chmodSync, lstatSync, mkdirSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { PGlite, type PGliteOptions } from '@electric-sql/pglite';
import { CompiledQuery, Kysely, PostgresDialect, sql } from 'kysely';
import pg from 'pg';
import lockfile from 'proper-lockfile';
import { PGliteDialect } from './pglite-dialect.js';
import { PreparedQuery } from './prepared-query.js';
import { serverTypeParsers } from './timestamptz.js';

export type Unlisten = () => Promise<void>;

/**
 * One PostgreSQL database, server or embedded, behind kysely. The event store and the read
 * models share it; `listen`/`notify` carry cross-process wake-ups where there can be other
 * processes (server PostgreSQL only).
 */
export interface SqlDatabase {
  readonly kind: 'server' | 'embedded';
  readonly db: Kysely<any>;
  /**
   * Runs a statement written with `$n` parameters. One declared with preparedStatement (the
   * fixed statements every request makes: the event store's reads and appends) is a named
   * prepared statement on server PostgreSQL: each pooled connection parses and plans it once,
   * where a statement sent through kysely is parsed and planned on every call (measured: 90–150
   * µs of PostgreSQL's CPU per call for a stream's read; docs/benchmarks.md). The embedded
   * database runs either as any other statement, in turn with kysely's.
   */
  run<R>(statement: Statement, values: readonly unknown[]): Promise<R[]>;
  /** `onNotify` gets the notification's payload ('' when none was sent). */
  listen(channel: string, onNotify: (payload: string) => void): Promise<Unlisten>;
  notify(channel: string, payload?: string): Promise<void>;
  close(): Promise<void>;
}

export const SQL_DATABASE = Symbol('SqlDatabase');

/**
 * A statement with `$n` parameters. `name` makes it a prepared statement on server PostgreSQL:
 * a connection keeps the parsed statement under that name, so one name must always carry the
 * same text (preparedStatement declares them).
 */
export interface Statement {
  readonly text: string;
  readonly name?: string;
}

/**
 * Declares a prepared statement. Two names with the same text are harmless; one name with two
 * texts is refused by the driver on first use (the connection already holds the other text).
 */
export function preparedStatement(name: string, text: string): Statement {
  return Object.freeze({ name, text });
}

/** A wake-up for other processes: sent after every append, so prepared like the appends. */
const NOTIFY = preparedStatement('notify', 'select pg_notify($1, $2)');

export class DataDirectoryLockedError extends Error {
  override readonly name = 'DataDirectoryLockedError';
}

export interface ServerDatabaseOptions {
  connectionString: string;
  maxConnections?: number;
  applicationName?: string;
}

export function openServerDatabase(options: ServerDatabaseOptions): SqlDatabase {
  const pool = new pg.Pool({
    connectionString: options.connectionString,
    max: options.maxConnections ?? 20,
    application_name: options.applicationName ?? 'otp-email-identity',
    types: serverTypeParsers as pg.CustomTypesConfig,
  });
  // An idle client that errors (server restart) must not crash the process; the pool drops it.
  pool.on('error', () => undefined);
  const db = new Kysely<any>({ dialect: new PostgresDialect({ pool }) });
  let listener: pg.Client | undefined;
  const handlers = new Map<string, Set<(payload: string) => void>>();

  async function listenerClient(): Promise<pg.Client> {
    if (listener) return listener;
    const client = new pg.Client({ connectionString: options.connectionString });
    client.on('error', () => undefined);
    client.on('notification', (msg) => handlers.get(msg.channel)?.forEach((h) => h(msg.payload ?? '')));
    await client.connect();
    listener = client;
    return client;
  }

  async function run<R>(statement: Statement, values: readonly unknown[]): Promise<R[]> {
    // This runs for every statement of every request: no copy of the values (pg reads them,
    // never writes), and no config object, which pg would copy property by property.
    if (statement.name === undefined) return (await pool.query(statement.text, values as unknown[])).rows as R[];
    const result = (await pool.query(new PreparedQuery(statement.name, statement.text, values))) as unknown as pg.QueryResult;
    return result.rows as R[];
  }

  return {
    kind: 'server',
    db,
    run,
    async listen(channel, onNotify) {
      const client = await listenerClient();
      let set = handlers.get(channel);
      if (!set) {
        set = new Set();
        handlers.set(channel, set);
        await client.query(`LISTEN ${pg.escapeIdentifier(channel)}`);
      }
      set.add(onNotify);
      return async () => {
        set!.delete(onNotify);
      };
    },
    async notify(channel, payload = '') {
      await run(NOTIFY, [channel, payload]);
    },
    async close() {
      await listener?.end().catch(() => undefined);
      await db.destroy();
    },
  };
}

export interface EmbeddedDatabaseOptions {
  /** Holds `pg/` (the database files) and the lock file. */
  dataDir: string;
  /** PostgreSQL's page cache in MB (`shared_buffers`); default EMBEDDED_SHARED_BUFFERS_MB. */
  sharedBuffersMb?: number;
}

/**
 * The embedded database's page cache. PGlite's own default (160 MB) is most of an idle
 * embedded server's memory; below the cache the files are read from the operating system's,
 * which keeps them too. 32 MB holds the hot part of a small instance's events and read models
 * (docs/benchmarks.md has the figures).
 */
export const EMBEDDED_SHARED_BUFFERS_MB = 32;

/**
 * PGlite in this process. The data directory is locked for the life of the process: a second
 * process on the same files would corrupt them, so it is refused with a message that says why.
 */
export async function openEmbeddedDatabase(options: EmbeddedDatabaseOptions): Promise<SqlDatabase> {
  secureDataDir(options.dataDir);
  const lockPath = join(options.dataDir, 'pg.lock');
  let unlock: () => Promise<void>;
  try {
    unlock = await lockfile.lock(options.dataDir, {
      lockfilePath: lockPath,
      realpath: false,
      stale: 15_000,
      update: 5_000,
      retries: 0,
      onCompromised: (err) => process.emitWarning(`lock on ${options.dataDir} lost: ${err.message}`),
    });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ELOCKED') {
      throw new DataDirectoryLockedError(
        `the data directory ${options.dataDir} is in use by another process (lock ${lockPath}); ` +
          'only one process may open the embedded database: stop the other process, or let the CLI work through the running server',
      );
    }
    throw err;
  }
  let pglite: PGlite;
  try {
    pglite = await PGlite.create(join(options.dataDir, 'pg'), {
      startParams: [...PGlite.defaultStartParams, '-c', `shared_buffers=${options.sharedBuffersMb ?? EMBEDDED_SHARED_BUFFERS_MB}MB`],
    });
    // PGlite unpacks its initial files with fixed modes (0666), past the umask: close them again.
    restrictTree(options.dataDir);
  } catch (err) {
    await unlock();
    throw err;
  }
  return wrapPGlite(pglite, async () => {
    await unlock();
    restrictTree(options.dataDir);
  });
}

/**
 * DATA_DIR holds the whole database, the admin's token and the encryption key: only its owner
 * may read it, whatever the umask the process was started with. From here on the process
 * creates files 0600 and directories 0700, and what an older version (or PGlite's initial
 * files, which it writes 0666 whatever the umask) left readable is closed: the directory and
 * everything under it (symbolic links are left alone). DATA_DIR itself being 0700 is what
 * keeps other users out; the file modes are the second line.
 */
export function secureDataDir(dataDir: string): void {
  process.umask(0o077);
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  restrictTree(dataDir);
}

function restrictTree(path: string): void {
  let info;
  try {
    info = lstatSync(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return; // removed meanwhile (a lock file, a WAL segment)
    throw err;
  }
  if (info.isSymbolicLink()) return;
  if (info.isDirectory()) {
    if ((info.mode & 0o777) !== 0o700) chmodSync(path, 0o700);
    for (const name of readdirSync(path)) restrictTree(join(path, name));
  } else if ((info.mode & 0o077) !== 0) {
    chmodSync(path, info.mode & 0o700);
  }
}

/**
 * An embedded database with no files and no lock, for tests that need a fresh, private store.
 * `options` are PGlite's own (a data directory to start from, compiled modules to reuse).
 */
export async function openInMemoryDatabase(options: PGliteOptions = {}): Promise<SqlDatabase> {
  return wrapPGlite(await PGlite.create(options), async () => undefined);
}

function wrapPGlite(pglite: PGlite, onClose: () => Promise<void>): SqlDatabase {
  const db = new Kysely<any>({ dialect: new PGliteDialect(pglite) });
  return {
    kind: 'embedded',
    db,
    async run<R>(statement: Statement, values: readonly unknown[]) {
      return (await db.executeQuery<R>(CompiledQuery.raw(statement.text, [...values]))).rows;
    },
    listen: async (channel, onNotify) => pglite.listen(channel, (payload) => onNotify(payload ?? '')),
    async notify(channel, payload = '') {
      await db.executeQuery(CompiledQuery.raw(NOTIFY.text, [channel, payload]));
    },
    async close() {
      await db.destroy();
      await pglite.close();
      await onClose();
    },
  };
}

/**
 * After personal data was deleted (DeleteUser, `users erase`): on the embedded database the
 * tables of `schemas` are rewritten (VACUUM FULL: a new file, the old one removed; a plain
 * VACUUM frees dead rows but may leave their bytes in the page), the rest vacuumed, and the
 * write-ahead log moved past the deleted values and its old segments removed rather than
 * recycled, so that no file of DATA_DIR holds them any more (a copy of DATA_DIR is the embedded
 * backup). On server PostgreSQL nothing happens here: its files, WAL archives and backups are the
 * operator's (docs/privacy.md).
 */
export async function scrubFreedSpace(database: SqlDatabase, schemas: readonly string[]): Promise<void> {
  if (database.kind !== 'embedded') return;
  const { rows } = await sql<{ name: string }>`
    select quote_ident(schemaname) || '.' || quote_ident(tablename) as name from pg_tables where schemaname = any(${[...schemas]}::text[])`.execute(database.db);
  for (const { name } of rows) await sql`vacuum full ${sql.raw(name)}`.execute(database.db);
  await sql`vacuum`.execute(database.db);
  await sql`set wal_recycle = off`.execute(database.db);
  await sql`select pg_switch_wal()`.execute(database.db);
  await sql`checkpoint`.execute(database.db);
}
