import { Code, ConnectError, type Interceptor } from '@connectrpc/connect';
import { ErrorDetailSchema } from '@zitadel/proto/zitadel/message_pb.js';
import type { Authenticator } from '#auth';
import { grpcCodeOf, isDomainError, permissionDenied, unauthenticated } from '#errors';
import type { Logger } from '#logging';
import { callerKey, ORG_ID_HEADER, requestOrgKey } from './caller-context.js';
import { InvalidAppendError } from '#eventstore';
import { findUnstorable, notFoundFor, pathBoundFields } from './storable.js';
import { validateMessage } from './validation.js';

/**
 * Outermost: turns what a call throws into what goes on the wire.
 * - DomainError → ConnectError("<text> (<id>)", code) with one zitadel.v1.ErrorDetail {id, message},
 *   as ZITADEL's ZITADELToConnectError does; the code is #errors' grpcCodeOf, the same the
 *   Nest routes answer with.
 * - ConnectError (validation, Unimplemented, protocol errors) → unchanged.
 * - anything else is a bug: logged with its stack, answered as Internal "Internal error"
 *   with nothing of the original message.
 */
export function errorConversion(logger: Logger): Interceptor {
  return (next) => async (req) => {
    try {
      return await next(req);
    } catch (err) {
      throw toConnectError(err, `${req.service.typeName}/${req.method.name}`, logger);
    }
  };
}

export function toConnectError(err: unknown, procedure: string, logger: Logger): ConnectError {
  if (isDomainError(err)) {
    const code: Code = grpcCodeOf(err.kind);
    if (code === Code.Internal) logger.error({ err, procedure, errorId: err.id }, 'internal error');
    return new ConnectError(err.statusMessage, code, undefined, [{ desc: ErrorDetailSchema, value: { id: err.id, message: err.message } }]);
  }
  if (err instanceof ConnectError) return err;
  // The store's own refusal of what it cannot hold: the edge check should have caught it first.
  if (err instanceof InvalidAppendError) {
    logger.warn({ procedure, reason: err.message }, 'the event store refused an append');
    return new ConnectError('invalid argument', Code.InvalidArgument);
  }
  logger.error({ err, procedure }, 'unhandled error in a service method');
  return new ConnectError('Internal error', Code.Internal);
}

/** ZITADEL's auth interceptor answers a missing (or empty) header itself: a plain status, no ErrorDetail. */
export const authHeaderMissing = () => new ConnectError('auth header missing', Code.Unauthenticated);

/** Whether an organization exists (in the event streams, not a read model that may lag). */
export type OrgExists = (orgId: string) => Promise<boolean>;

/**
 * Every call needs `Authorization: Bearer ...` (without it: Unauthenticated "auth header
 * missing", as ZITADEL answers): the Authenticator turns the header into the
 * Caller (or throws Unauthenticated), and the Caller goes into the context under callerKey.
 * Without an Authenticator every call is Unauthenticated.
 *
 * Then the request's organization: `x-zitadel-orgid`, when given, must name an organization
 * that exists (else PermissionDenied `AUTH-Bs7Ds`, as ZITADEL's authz answers); it goes into
 * the context under requestOrgKey. Like ZITADEL, only existence is checked here: permissions
 * are checked later, on the organization that owns the target.
 */
export function authentication(authenticator: Authenticator | undefined, orgExists?: OrgExists): Interceptor {
  const authn = authenticator ?? noAuthenticator;
  return (next) => async (req) => {
    // The front gate (front-gate.ts) authenticates HTTP requests before their bodies are read
    // and hands the Caller on; only calls that did not pass it (in-process) authenticate here.
    if (!req.contextValues.get(callerKey)) {
      const authorization = req.header.get('authorization');
      if (authorization === null || authorization === '') throw authHeaderMissing();
      const caller = await authn.authenticate(authorization);
      req.contextValues.set(callerKey, caller);
    }
    const orgId = req.header.get(ORG_ID_HEADER)?.trim();
    if (orgId) {
      if (!orgExists || !(await orgExists(orgId))) throw permissionDenied('AUTH-Bs7Ds', 'Errors.Org.NotExisting');
      req.contextValues.set(requestOrgKey, orgId);
    }
    return next(req);
  };
}

/** Used until an AuthModule provides AUTHENTICATOR: nobody gets in. */
export const noAuthenticator: Authenticator = {
  async authenticate(authorization) {
    throw authorization ? unauthenticated('AUTH-7fs1e', 'Errors.Token.Invalid') : unauthenticated('AUTH-7fs1e', 'Errors.Token.Missing');
  },
};

/**
 * Checks the request against the descriptors' validate.rules (PGV). A violation is a plain
 * InvalidArgument with the validator's text and no ErrorDetail, as ZITADEL's ValidationHandler.
 */
export const validation: Interceptor = (next) => async (req) => {
  if (!req.stream) {
    // Text the store cannot hold (NUL, lone surrogates) goes no further. In an id the URL path
    // names it is an id nothing can have: the method's NotFound. Anywhere else: InvalidArgument.
    const unstorable = findUnstorable(req.method.input, req.message);
    if (unstorable) {
      if (pathBoundFields(req.method).has(unstorable.topField.name)) throw notFoundFor(req.method);
      throw new ConnectError(`invalid ${req.method.input.name}.${unstorable.path}: value must be valid UTF-8 text without NUL`, Code.InvalidArgument);
    }
    const violation = validateMessage(req.method.input, req.message);
    if (violation) throw new ConnectError(violation, Code.InvalidArgument);
  }
  return next(req);
};
