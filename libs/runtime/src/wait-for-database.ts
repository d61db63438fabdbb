import { sql } from 'kysely';
import type { SqlDatabase } from '#database';
import type { Logger } from '#logging';

/** Where a connection URL points, without its user or password. */
export function databaseAddress(url: string): string {
  try {
    const parsed = new URL(url);
    return `${parsed.hostname}:${parsed.port || '5432'}${parsed.pathname}`;
  } catch {
    return '(unparsable DATABASE_URL)';
  }
}

/**
 * Waits until server PostgreSQL answers, trying again with a growing pause (0.25 s doubling up
 * to 5 s) for at most `waitMs`: in a deployment the database often starts at the same time as
 * this process. Says once that it is waiting; gives up with one error naming the address and
 * the last reason. Any answer at all (even an error about the query) means it is reachable.
 */
export async function waitForDatabase(database: SqlDatabase, options: { address: string; waitMs: number; logger: Logger }): Promise<void> {
  const deadline = Date.now() + options.waitMs;
  let pause = 250;
  let told = false;
  for (;;) {
    try {
      await sql`select 1`.execute(database.db);
      if (told) options.logger.info({ database: options.address }, 'database reachable');
      return;
    } catch (err) {
      const reason = reasonOf(err);
      if (!isUnreachable(err) || Date.now() + pause > deadline) {
        throw new DatabaseUnreachableError(`cannot reach the database at ${options.address}: ${reason}`, { cause: err });
      }
      if (!told) {
        options.logger.warn({ database: options.address, reason }, `waiting for the database at ${options.address} (${reason}), for up to ${Math.round(options.waitMs / 1000)} s`);
        told = true;
      }
      await new Promise((resolve) => setTimeout(resolve, pause));
      pause = Math.min(pause * 2, 5_000);
    }
  }
}

export class DatabaseUnreachableError extends Error {
  override readonly name = 'DatabaseUnreachableError';
}

const TRANSIENT = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'EAI_AGAIN', 'ENOTFOUND', '57P03']);

/** Worth waiting for: the server is not there (yet), or is starting up (57P03 cannot_connect_now). */
function isUnreachable(err: unknown): boolean {
  const errors = err instanceof AggregateError ? err.errors : [err];
  return errors.some((e) => TRANSIENT.has(String((e as { code?: unknown })?.code)));
}

function reasonOf(err: unknown): string {
  const first = err instanceof AggregateError ? err.errors[0] : err;
  const code = (first as { code?: unknown })?.code;
  const message = (first as Error)?.message || String(first);
  return code && !message.includes(String(code)) ? `${code} ${message}` : message || String(code);
}
