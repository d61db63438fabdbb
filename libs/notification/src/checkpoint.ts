import type { Kysely } from 'kysely';
import { CheckpointLease, readCheckpoint } from '#consumer';
import type { Position } from '#eventstore';
import { NOTIFIER_CHECKPOINTS_TABLE } from './schema.js';

/**
 * The notifier's checkpoint row, with a lease: only the process holding the lease follows the
 * store and sends, so two server processes on one PostgreSQL never send the same code twice.
 * The notifier's consumer takes, renews and releases it; this names the row for status and tests.
 */
export class NotifierCheckpoint extends CheckpointLease {
  constructor(db: Kysely<any>, name: string, owner: string, leaseMs: number) {
    super(db, NOTIFIER_CHECKPOINTS_TABLE, name, owner, leaseMs);
  }

  /** The stored checkpoint (START when there is none), for status and tests. */
  static read(db: Kysely<any>, name: string): Promise<Position> {
    return readCheckpoint(db, NOTIFIER_CHECKPOINTS_TABLE, name);
  }
}
