import { createParamDecorator, Inject, Injectable, SetMetadata, type CanActivate, type ExecutionContext } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { requirePermission, type Caller, type Permission } from '#access';
import { AUTHENTICATOR, type Authenticator } from '#auth';
import { internal } from '#errors';

const REQUIRED_PERMISSION = 'admin:required-permission';
/** The Caller of each request the guard let through. */
const callers = new WeakMap<object, Caller>();

/** The instance-wide permission every route of the controller needs (checked by AuthenticatedGuard). */
export const RequirePermission = (permission: Permission) => SetMetadata(REQUIRED_PERMISSION, permission);

/**
 * Authenticates the request's `Authorization` header with the AUTHENTICATOR (Unauthenticated
 * otherwise) and, if the controller says so, requires an instance-wide permission
 * (PermissionDenied otherwise). A guard runs before the ValidationPipe, so a caller who may
 * not call a route learns nothing about its body.
 */
@Injectable()
export class AuthenticatedGuard implements CanActivate {
  constructor(
    @Inject(AUTHENTICATOR) private readonly authenticator: Authenticator,
    @Inject(Reflector) private readonly reflector: Reflector,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const request = context.switchToHttp().getRequest<{ headers: Record<string, string | string[] | undefined> }>();
    const header = request.headers.authorization;
    const caller = await this.authenticator.authenticate(typeof header === 'string' ? header : undefined);
    const permission = this.reflector.getAllAndOverride<Permission | undefined>(REQUIRED_PERMISSION, [context.getHandler(), context.getClass()]);
    if (permission) requirePermission(caller, permission, undefined);
    callers.set(request, caller);
    return true;
  }
}

/** The authenticated Caller, as a handler parameter (the route must be behind AuthenticatedGuard). */
export const AuthenticatedCaller = createParamDecorator((_: unknown, context: ExecutionContext): Caller => {
  const caller = callers.get(context.switchToHttp().getRequest<object>());
  if (!caller) throw internal('ADMIN-NoCal', 'Errors.Internal');
  return caller;
});
