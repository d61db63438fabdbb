import type { Caller } from '#access';
import { newCorrelationId } from './decide-on-stream.js';
import type { EventMetadata } from './event-metadata.js';

/** Who acts, and the correlation id that ties the events of one request together. */
export interface CommandContext {
  caller: Caller;
  correlationId?: string;
}

export function eventMetadata(context: CommandContext, resourceOwner: string): EventMetadata {
  return {
    instanceId: context.caller.instanceId,
    resourceOwner,
    editor: context.caller.userId,
    correlationId: context.correlationId ?? newCorrelationId(),
  };
}
