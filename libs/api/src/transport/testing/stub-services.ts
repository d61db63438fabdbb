import { timestampFromDate } from '@bufbuild/protobuf/wkt';
import type { HandlerContext } from '@connectrpc/connect';
import { AuthenticationMethodType } from '@zitadel/proto/zitadel/user/v2/user_service_pb.js';
import type { Caller } from '#access';
import {
  alreadyExists,
  failedPrecondition,
  notFound,
  permissionDenied,
  resourceExhausted,
} from '#errors';
import { callerOf } from '#api';
import type { SessionServiceImpl, UserServiceImpl } from '#api';

export const CHANGE_DATE = '2024-05-06T07:08:09.123Z';

/** What the stub implementations received. */
export interface Received {
  method: string;
  request: Record<string, unknown>;
  caller: Caller;
}

/**
 * Test doubles of the service implementations. AddOTPEmail answers by user id:
 * "123" (and anything else) succeeds; "not-ready", "exists", "missing", "denied", "limited"
 * throw DomainErrors; "bug" throws a plain Error (with a secret in its message); "slow"
 * waits for `hold` before answering; "until-aborted" answers once its context's signal aborts
 * (the client went away), and adds the method's name to `aborted` then.
 */
export function stubServices(hold?: Promise<void>) {
  const received: Received[] = [];
  const aborted: string[] = [];
  const record = (method: string, request: object, ctx: HandlerContext) =>
    received.push({ method, request: request as Record<string, unknown>, caller: callerOf(ctx) });
  const details = { sequence: 7n, changeDate: timestampFromDate(new Date(CHANGE_DATE)), resourceOwner: 'org' };

  const userService: UserServiceImpl = {
    async addOTPEmail(req, ctx) {
      record('AddOTPEmail', req, ctx);
      switch (req.userId) {
        case 'not-ready':
          throw failedPrecondition('COMMAND-KLJ2d', 'Errors.User.MFA.OTP.NotReady');
        case 'exists':
          throw alreadyExists('COMMAND-MKL2s', 'Errors.User.MFA.OTP.AlreadyReady');
        case 'missing':
          throw notFound('COMMAND-4g3xq', 'Errors.NotFound');
        case 'denied':
          throw permissionDenied('AUTH-AWfge', 'Errors.Permission.Denied');
        case 'limited':
          throw resourceExhausted('COMMAND-stub8', 'Errors.User.MFA.OTP.SendLimit');
        case 'bug':
          throw new Error('connection to postgres://admin:hunter2@db failed');
        case 'slow':
          await hold;
          break;
        case 'until-aborted':
          await new Promise((resolve) => ctx.signal.addEventListener('abort', resolve, { once: true }));
          aborted.push('AddOTPEmail');
          break;
      }
      return { details };
    },
    async listAuthenticationMethodTypes(req, ctx) {
      record('ListAuthenticationMethodTypes', req, ctx);
      return { details: { totalResult: 1n }, authMethodTypes: [AuthenticationMethodType.OTP_EMAIL] };
    },
  };

  const sessionService: SessionServiceImpl = {
    async createSession(req, ctx) {
      record('CreateSession', req, ctx);
      return { details, sessionId: 'session-1', sessionToken: 'session-token' };
    },
    async getSession(req, ctx) {
      record('GetSession', req, ctx);
      return { session: { id: req.sessionId } };
    },
  };

  return { userService, sessionService, received, aborted };
}
