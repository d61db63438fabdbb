import { Query } from '@nestjs/cqrs';
import type { Caller } from '#access';
import type { SessionListView } from '../session-view.js';

/** ZITADEL's TimestampQueryMethod. */
export type TimestampMethod = 'equals' | 'greater' | 'greaterOrEquals' | 'less' | 'lessOrEquals';

/** ListSessions' search queries in read-model terms (ZITADEL's, each an equality but the creation date). */
export type SessionFilter =
  | { ids: readonly string[] }
  | { userId: string }
  | { creationDate: Date; method: TimestampMethod }
  | { creator: string }
  | { fingerprintId: string };

export interface ListSessionsInput {
  caller: Caller;
  /** Combined with `and`, as ZITADEL combines a request's queries. */
  filters: readonly SessionFilter[];
  offset: number;
  /** 0: no limit, as in ZITADEL. */
  limit: number;
  asc: boolean;
}

/**
 * ZITADEL's ListSessions from the sessions read model: only sessions the caller may read (its
 * creator, its checked user, or `session.read` on the checked user's organization or
 * instance-wide) are matched, counted and paged; terminated sessions never (ZITADEL deletes
 * their rows). Sorted by creation date (the one sorting column), then id.
 */
export class ListSessionsQuery extends Query<SessionListView> {
  constructor(readonly input: ListSessionsInput) {
    super();
  }
}
