import { Module } from '@nestjs/common';
import { SessionProjectionModule } from '#projections/sessions';
import { UserProjectionModule } from '#projections/users';
import { SessionModule } from '#session';
import { UserModule } from '#user';
import { SessionServiceImplementation } from './session-service.js';
import { SESSION_SERVICE_IMPL, USER_SERVICE_IMPL } from './transport/tokens.js';
import { UserServiceImplementation } from './user-service.js';

/**
 * The service implementations the transport serves: UserService over the user commands and
 * the users read model, SessionService over the session commands.
 */
@Module({
  imports: [UserModule, UserProjectionModule, SessionModule, SessionProjectionModule],
  providers: [
    UserServiceImplementation,
    { provide: USER_SERVICE_IMPL, useFactory: (service: UserServiceImplementation) => service.impl, inject: [UserServiceImplementation] },
    SessionServiceImplementation,
    { provide: SESSION_SERVICE_IMPL, useFactory: (service: SessionServiceImplementation) => service.impl, inject: [SessionServiceImplementation] },
  ],
  exports: [USER_SERVICE_IMPL, SESSION_SERVICE_IMPL],
})
export class ApiModule {}
