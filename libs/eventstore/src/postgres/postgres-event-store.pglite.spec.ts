import { eventStoreContract, testBackend, watchPostgresLooks } from '#eventstore/testing';

// PGlite runs one transaction at a time, so the out-of-order commit case of the server suite
// cannot happen here and is not part of this suite.
eventStoreContract('PostgresEventStore on embedded PGlite', async () => {
  const stores = await testBackend('pglite').open();
  return { ...stores, watchLooks: () => watchPostgresLooks(stores.database) };
});
