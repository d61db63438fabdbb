import { Module, type DynamicModule } from '@nestjs/common';
import { HealthController } from './health.controller.js';
import { InfrastructureModule, type Infrastructure } from './infrastructure.module.js';

/**
 * The root module. The transport (libs/api/src/transport, wired in server.ts) takes from this
 * container, each optional: AUTHENTICATOR (libs/auth; without it every call is
 * Unauthenticated) and USER_SERVICE_IMPL / SESSION_SERVICE_IMPL (without them every method
 * answers Unimplemented). The modules providing them belong in `imports` below.
 */
@Module({})
export class AppModule {
  static forRoot(infrastructure: Infrastructure): DynamicModule {
    return {
      module: AppModule,
      imports: [InfrastructureModule.forRoot(infrastructure)],
      controllers: [HealthController],
    };
  }
}
