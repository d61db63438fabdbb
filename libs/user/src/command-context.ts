import type { Caller } from '../../auth/src/caller.js';
import type { EventMetadata } from './events.js';
import { newCorrelationId } from './decide-on-stream.js';

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
