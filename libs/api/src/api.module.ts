import { Module } from '@nestjs/common';
import { UserProjectionModule } from '../../../projections/users/user-projection.module.js';
import { UserModule } from '../../user/src/user.module.js';
import { USER_SERVICE_IMPL } from './transport/tokens.js';
import { UserServiceImplementation } from './user-service.js';

/**
 * The service implementations the transport serves: UserService over the user commands and
 * the users read model. (SessionService comes from libs/session's SessionModule.)
 */
@Module({
  imports: [UserModule, UserProjectionModule],
  providers: [
    UserServiceImplementation,
    { provide: USER_SERVICE_IMPL, useFactory: (service: UserServiceImplementation) => service.impl, inject: [UserServiceImplementation] },
  ],
  exports: [USER_SERVICE_IMPL],
})
export class ApiModule {}
