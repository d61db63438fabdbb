import type { Caller } from '#access';
import { newCorrelationId } from './decide-on-stream.js';
import type { EventMetadata } from './event-metadata.js';

/** Who acts, and the correlation id that ties the events of one request together. */
export interface CommandContext {
  caller: Caller;
  correlationId?: string;
  /**
   * The organization the request names (`x-zitadel-orgid`), already known to exist; where a
   * command creates something without being told the organization, it goes there instead of
   * the caller's own.
   */
  requestOrgId?: string;
}

export function eventMetadata(context: CommandContext, resourceOwner: string): EventMetadata {
  return {
    instanceId: context.caller.instanceId,
    resourceOwner,
    editor: context.caller.userId,
    correlationId: context.correlationId ?? newCorrelationId(),
  };
}
