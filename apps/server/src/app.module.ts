import { Module, type DynamicModule } from '@nestjs/common';
import { HealthController } from './health.controller.js';
import { InfrastructureModule, type Infrastructure } from './infrastructure.module.js';

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
