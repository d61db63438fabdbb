import type { Kysely } from 'kysely';
import { isMigrated } from '#database';
import { projectionSchemas, type VersionedProjection } from '#projections/runner';
import { sessionProjections } from '#projections/sessions';
import { userProjections } from '#projections/users';

/** Every read model the operators' commands know, by name. */
export const VERSIONED_PROJECTIONS: Readonly<Record<string, VersionedProjection>> = {
  [userProjections.name]: userProjections,
  [sessionProjections.name]: sessionProjections,
};

/** An operator named a read model that does not exist. */
export class UnknownProjectionError extends Error {
  override readonly name = 'UnknownProjectionError';
}

export function projectionNamed(name: string): VersionedProjection {
  const projection = Object.hasOwn(VERSIONED_PROJECTIONS, name) ? VERSIONED_PROJECTIONS[name] : undefined;
  if (!projection) {
    throw new UnknownProjectionError(`there is no projection "${name}"; the projections are: ${Object.keys(VERSIONED_PROJECTIONS).join(', ')}`);
  }
  return projection;
}

/** The database has not been migrated for the projections (the server applies the migrations at start). */
export class NotMigratedError extends Error {
  override readonly name = 'NotMigratedError';
}

/** Operators' commands never migrate: the server does, at start. */
export async function requireMigrated(db: Kysely<any>, projection: VersionedProjection): Promise<void> {
  for (const [history, migrations] of Object.entries(projectionSchemas(projection))) {
    let done: boolean;
    try {
      done = await isMigrated(db, history, migrations);
    } catch {
      done = false;
    }
    if (!done) {
      throw new NotMigratedError(
        `the database is not migrated for the projection ${projection.name} (${history}): start the server (of this version) once, it applies the migrations`,
      );
    }
  }
}
