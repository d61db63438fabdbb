import { AsyncLocalStorage } from 'node:async_hooks';

/**
 * What is known about the request being handled. The front of the server starts it; the
 * transport fills in what only it learns (the procedure, the caller, the gRPC code, the error
 * id); the access log line is written from it when the response ends.
 */
export interface RequestRecord {
  requestId: string;
  /** `Service/Method` (full service name), set when a known procedure was dispatched. */
  procedure?: string;
  /** The authenticated caller's user id (never a token). */
  callerId?: string;
  /** The gRPC code of a call that reached a procedure. */
  grpcCode?: number;
  /** The DomainError id of a failed call. */
  errorId?: string;
}

/**
 * Carries the request record through every await of the request's handling, so that every log
 * line written meanwhile carries its request id (see createLogger's mixin) without a logger
 * being passed down.
 */
export const requestContext = new AsyncLocalStorage<RequestRecord>();

/** The record of the request being handled, if any. */
export const currentRequest = (): RequestRecord | undefined => requestContext.getStore();
