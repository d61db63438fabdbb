import { createContextKey, type HandlerContext } from '@connectrpc/connect';
import type { Caller } from '#access';

/**
 * Where the authentication interceptor puts the Caller of a call. Every protocol (gRPC,
 * gRPC-Web, Connect, and REST through the gateway) passes that interceptor, so a service
 * implementation can always ask for it.
 */
export const callerKey = createContextKey<Caller | undefined>(undefined, { description: 'the authenticated caller' });

/** The Caller of the current call. Throws (an Internal error) if authentication did not run. */
export function callerOf(ctx: HandlerContext): Caller {
  const caller = ctx.values.get(callerKey);
  if (!caller) throw new Error('no caller in the handler context: the authentication interceptor did not run');
  return caller;
}
