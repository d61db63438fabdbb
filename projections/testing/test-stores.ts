import { Writable } from 'node:stream';
import { migrate, openInMemoryDatabase, openServerDatabase, type SqlDatabase } from '../../libs/database/src/index.js';
import { createScratchDatabase, NO_SERVER_REASON, serverDatabaseUrl } from '../../libs/database/src/testing/scratch-database.js';
import {
  EVENT_STORE_HISTORY,
  eventStoreMigrations,
  PostgresEventStore,
  type AppendedEvent,
  type EventStore,
  type JsonObject,
} from '../../libs/eventstore/src/index.js';
import { createLogger, type Logger } from '../../libs/logging/src/pino-logger.js';
import { userStream, type UserEvent } from '../../libs/user/src/events.js';

export interface TestStores {
  database: SqlDatabase;
  store: PostgresEventStore;
  /** Server PostgreSQL: the scratch database's URL (for a second process or connection). */
  url?: string;
  cleanup(): Promise<void>;
}

export interface Backend {
  label: string;
  available: boolean;
  reason: string;
  open(): Promise<TestStores>;
}

/** Events and read model in one database, as the server runs them: PGlite in memory, and server PostgreSQL when DATABASE_URL is set. */
export const backends: Backend[] = [
  {
    label: 'embedded PGlite',
    available: true,
    reason: '',
    async open() {
      const database = await openInMemoryDatabase();
      await migrate(database.db, EVENT_STORE_HISTORY, eventStoreMigrations);
      const store = new PostgresEventStore(database);
      return {
        database,
        store,
        async cleanup() {
          await store.close();
          await database.close();
        },
      };
    },
  },
  {
    label: 'server PostgreSQL',
    available: Boolean(serverDatabaseUrl),
    reason: NO_SERVER_REASON,
    async open() {
      const scratch = await createScratchDatabase('projections');
      const database = openServerDatabase({ connectionString: scratch.url, maxConnections: 10 });
      await migrate(database.db, EVENT_STORE_HISTORY, eventStoreMigrations);
      const store = new PostgresEventStore(database);
      return {
        database,
        store,
        url: scratch.url,
        async cleanup() {
          await store.close();
          await database.close();
          await scratch.drop();
        },
      };
    },
  },
];

/** A pino logger whose lines the test can read. */
export function capturingLogger(): { logger: Logger; lines: Array<Record<string, any>> } {
  const lines: Array<Record<string, any>> = [];
  const destination = new Writable({
    write(chunk, _encoding, done) {
      for (const line of String(chunk).split('\n')) if (line) lines.push(JSON.parse(line));
      done();
    },
  });
  return { logger: createLogger('debug', destination), lines };
}

/** Appends user events one by one (each its own append, as commands do). */
export async function appendUserEvents(store: EventStore, userId: string, orgId: string, events: UserEvent[]): Promise<AppendedEvent[]> {
  // The fields of EventMetadata (libs/user/src/events.ts).
  const metadata: JsonObject = { instanceId: 'instance-1', resourceOwner: orgId, editor: 'system', correlationId: `test-${userId}` };
  const appended: AppendedEvent[] = [];
  for (const event of events) {
    const result = await store.append(userStream(userId), [{ type: event.type, data: event.data as unknown as JsonObject, metadata }], 'any');
    appended.push(...result.events);
  }
  return appended;
}
