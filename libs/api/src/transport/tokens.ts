import type { ServiceImpl } from '@connectrpc/connect';
import type { SessionService } from '@zitadel/proto/zitadel/session/v2/session_service_pb.js';
import type { UserService } from '@zitadel/proto/zitadel/user/v2/user_service_pb.js';

/** The methods of zitadel.user.v2.UserService this service implements; the rest answer Unimplemented. */
export type UserServiceImpl = Partial<ServiceImpl<typeof UserService>>;
/** The methods of zitadel.session.v2.SessionService this service implements; the rest answer Unimplemented. */
export type SessionServiceImpl = Partial<ServiceImpl<typeof SessionService>>;

/**
 * Nest tokens for the service implementations. Optional: a token nobody provides means
 * "no method implemented". The Authenticator comes from AUTHENTICATOR in libs/auth.
 */
export const USER_SERVICE_IMPL = Symbol('UserServiceImpl');
export const SESSION_SERVICE_IMPL = Symbol('SessionServiceImpl');
