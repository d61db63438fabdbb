import { Query } from '@nestjs/cqrs';
import type { Caller } from '#access';
import type { AuthMethodTypesView } from '../user-view.js';

export interface ListAuthMethodTypesInput {
  userId: string;
  caller: Caller;
}

/**
 * ZITADEL's ListAuthenticationMethodTypes: the user's READY factors. `details.processedSequence`
 * and `details.timestamp` are the sequence and time of the last event reduced for the user
 * (ZITADEL gives the projection's latest state instead; a per-user sequence is comparable with
 * the `sequence` a write on the user returned, a projection-wide one is not). `totalResult` is
 * the number of types.
 */
export class ListAuthMethodTypesQuery extends Query<AuthMethodTypesView> {
  constructor(readonly input: ListAuthMethodTypesInput) {
    super();
  }
}

/** Error id for an empty user id. */
export const LIST_AUTH_METHODS_MISSING_ID = 'QUERY-Lm8aT';
