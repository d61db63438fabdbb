/**
 * A runner process for the crash test (user-projection.equality.spec.ts): builds the scratch
 * tables of CRASH_SUFFIX on CRASH_URL in batches of 25; in the 4th batch it writes the rows,
 * prints "in batch 4" and sleeps inside the transaction until it is killed.
 */
import { sql } from 'kysely';
import { openServerDatabase } from '#database';
import { PostgresEventStore } from '#eventstore';
import { createLogger } from '#logging';
import { ProjectionRunner, type Projection } from '#projections/runner';
import { userProjections } from '#projections/users';

const database = openServerDatabase({ connectionString: process.env.CRASH_URL!, maxConnections: 4 });
const store = new PostgresEventStore(database);
const { projection } = userProjections.forScratch(process.env.CRASH_SUFFIX!);
let batches = 0;
const sleepy: Projection = {
  ...projection,
  applyBatch: async (trx, events) => {
    await projection.applyBatch!(trx, events);
    if (++batches === 4) {
      // The server notices the dead client within 100 ms (instead of at the end of the sleep).
      await sql`set local client_connection_check_interval = 100`.execute(trx);
      process.stdout.write('in batch 4\n');
      await sql`select pg_sleep(60)`.execute(trx);
    }
  },
};
await new ProjectionRunner(sleepy, { store, db: database.db, logger: createLogger('silent'), batchSize: 25 }).catchUp();
process.stdout.write('done without a crash\n');
await database.close();
