import { Module, type DynamicModule } from '@nestjs/common';
import { CqrsModule } from '@nestjs/cqrs';
import { ApiModule, READINESS } from '#api';
import { CryptoModule } from '#crypto';
import { NotificationModule } from '#notification';
import { MetricsModule } from '#metrics';
import { OpenApiModule } from '#openapi';
import { AdminModule } from './admin/admin.module.js';
import { HttpErrorsModule } from './admin/http-errors.module.js';
import { ProjectionsAdminModule } from './admin/projections.controller.js';
import { HealthController } from './health.controller.js';
import { InfrastructureModule, keyRingOptions, Readiness, type Infrastructure } from '#runtime';

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
      imports: [
        InfrastructureModule.forRoot(infrastructure),
        // Every Nest route's input validation and error answers (the REST API's error shape).
        HttpErrorsModule,
        CqrsModule.forRoot(),
        CryptoModule.forRoot(keyRingOptions(infrastructure.config)),
        // AUTHENTICATOR, the organization and machine-user commands, first-start setup, /admin/v1.
        AdminModule,
        // USER_SERVICE_IMPL and SESSION_SERVICE_IMPL: the user and session commands, the users read model.
        ApiModule,
        // Emails the OTP and verification codes (SMTP, or .eml files in DATA_DIR/outbox).
        NotificationModule,
        // /admin/v1/projections: status, replay and verify for the CLI in embedded mode.
        ProjectionsAdminModule,
        // GET /metrics (Prometheus text, unauthenticated).
        MetricsModule,
        // GET /openapi.json, /openapi.yaml and the reference page /docs (unauthenticated).
        OpenApiModule,
      ],
      controllers: [HealthController],
      // One readiness for GET /readyz and grpc.health.v1.Health.
      providers: [Readiness, { provide: READINESS, useExisting: Readiness }],
    };
  }
}
