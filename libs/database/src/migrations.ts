import { Migrator, type Kysely, type Migration } from 'kysely';

/**
 * Applies one module's versioned migrations. Each module keeps its own history table, so the
 * event store and each read model migrate independently.
 */
export async function migrate(db: Kysely<any>, historyTable: string, migrations: Record<string, Migration>): Promise<string[]> {
  const migrator = new Migrator({
    db,
    provider: { getMigrations: async () => migrations },
    migrationTableName: `${historyTable}_migrations`,
    migrationLockTableName: `${historyTable}_migrations_lock`,
  });
  const { error, results } = await migrator.migrateToLatest();
  if (error) {
    const failed = results?.find((r) => r.status === 'Error');
    throw new Error(`migration ${failed?.migrationName ?? '(unknown)'} of ${historyTable} failed: ${(error as Error).message ?? error}`, {
      cause: error,
    });
  }
  return (results ?? []).filter((r) => r.status === 'Success').map((r) => r.migrationName);
}

/** True when every migration of the module is applied (for /readyz). */
export async function isMigrated(db: Kysely<any>, historyTable: string, migrations: Record<string, Migration>): Promise<boolean> {
  const migrator = new Migrator({
    db,
    provider: { getMigrations: async () => migrations },
    migrationTableName: `${historyTable}_migrations`,
    migrationLockTableName: `${historyTable}_migrations_lock`,
  });
  const all = await migrator.getMigrations();
  return all.every((m) => m.executedAt !== undefined);
}
