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

/**
 * The organization of the call, from `x-zitadel-orgid` (header on REST, metadata on gRPC and
 * Connect), as ZITADEL's authz context sets it. Undefined when the call names none.
 */
export const requestOrgKey = createContextKey<string | undefined>(undefined, { description: 'the organization of the request' });

/** The metadata (header) naming the request's organization. */
export const ORG_ID_HEADER = 'x-zitadel-orgid';

/**
 * The address of the call's client: the connection's peer, or what a trusted proxy's
 * X-Forwarded-For names (client-address.ts). Undefined for calls that did not come over a
 * connection (in-process).
 */
export const clientAddressKey = createContextKey<string | undefined>(undefined, { description: 'the address of the client' });

/**
 * How the REST gateway hands the client's address to its in-process call (whose context values
 * connect's router transport does not carry). The gateway always sets or removes it itself, and
 * it is read only on calls that did not come over a connection: a client cannot set it.
 */
export const GATEWAY_CLIENT_ADDRESS_HEADER = 'x-gateway-client-address';

/**
 * The client's address of a call: what the transport found for a call that came over a
 * connection ('' when the peer was unknown), else (an in-process call of the REST gateway) what
 * the gateway passed on.
 */
export function clientAddressOf(ctx: HandlerContext): string | undefined {
  const address = ctx.values.get(clientAddressKey);
  if (address !== undefined) return address || undefined;
  return ctx.requestHeader.get(GATEWAY_CLIENT_ADDRESS_HEADER) ?? undefined;
}

/** What commands need of a call: who, its correlation id, its organization. */
export function commandContextOf(ctx: HandlerContext): { caller: Caller; correlationId?: string; requestOrgId?: string } {
  const requestOrgId = ctx.values.get(requestOrgKey);
  const correlationId = ctx.requestHeader.get('x-correlation-id') ?? undefined;
  return { caller: callerOf(ctx), ...(correlationId ? { correlationId } : {}), ...(requestOrgId ? { requestOrgId } : {}) };
}
