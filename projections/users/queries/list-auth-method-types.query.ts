import { Query } from '@nestjs/cqrs';
import type { Caller } from '#access';
import type { AuthMethodTypesView } from '../user-view.js';

export interface ListAuthMethodTypesInput {
  userId: string;
  caller: Caller;
  /** The organization the request names (`x-zitadel-orgid`); the caller's own when absent. */
  requestOrgId?: string;
}

/**
 * ZITADEL's ListAuthenticationMethodTypes: the user's READY factors. As in ZITADEL, the caller
 * is the user or holds `user.read` on the request's organization (not the user's), and a user
 * that does not exist has no factors: an empty list, not NotFound.
 * `details.processedSequence` and `details.timestamp` are the sequence and time of the last
 * event reduced for the user, 0 and the query's time for an unknown user (ZITADEL gives the
 * projection's latest state instead; a per-user sequence is comparable with the `sequence` a
 * write on the user returned, a projection-wide one is not). `totalResult` is the number of types.
 */
export class ListAuthMethodTypesQuery extends Query<AuthMethodTypesView> {
  constructor(readonly input: ListAuthMethodTypesInput) {
    super();
  }
}

/** Error id for an empty user id. */
export const LIST_AUTH_METHODS_MISSING_ID = 'QUERY-Lm8aT';
