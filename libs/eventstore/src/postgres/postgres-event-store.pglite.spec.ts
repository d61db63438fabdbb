import { openInMemoryDatabase, migrate } from '#database';
import { eventStoreContract } from '#eventstore/testing';
import { PostgresEventStore } from './postgres-event-store.js';
import { EVENT_STORE_HISTORY, eventStoreMigrations } from './schema.js';

// PGlite runs one transaction at a time, so the out-of-order commit case of the server suite
// cannot happen here and is not part of this suite.
eventStoreContract('PostgresEventStore on embedded PGlite', async () => {
  const database = await openInMemoryDatabase();
  await migrate(database.db, EVENT_STORE_HISTORY, eventStoreMigrations);
  const store = new PostgresEventStore(database);
  return {
    store,
    cleanup: async () => {
      await store.close();
      await database.close();
    },
  };
});
