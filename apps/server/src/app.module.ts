import { Module, type DynamicModule } from '@nestjs/common';
import { CqrsModule } from '@nestjs/cqrs';
import { ApiModule } from '../../../libs/api/src/api.module.js';
import { CryptoModule } from '../../../libs/crypto/src/crypto.module.js';
import { NotificationModule } from '../../../libs/notification/src/notification.module.js';
import { SessionModule } from '../../../libs/session/src/session.module.js';
import { MetricsModule } from '../../../libs/metrics/src/metrics.module.js';
import { AdminModule } from './admin/admin.module.js';
import { ProjectionsAdminModule } from './admin/projections.controller.js';
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
      imports: [
        InfrastructureModule.forRoot(infrastructure),
        CqrsModule.forRoot(),
        CryptoModule.forRoot({ ...(infrastructure.config.ENCRYPTION_KEY ? { key: infrastructure.config.ENCRYPTION_KEY } : {}), dataDir: infrastructure.config.DATA_DIR }),
        // AUTHENTICATOR, the organization and machine-user commands, first-start setup, /admin/v1.
        AdminModule,
        // USER_SERVICE_IMPL: the user commands and the users read model.
        ApiModule,
        // SESSION_SERVICE_IMPL: sessions with the OTP Email challenge and check.
        SessionModule,
        // Emails the OTP and verification codes (SMTP, or .eml files in DATA_DIR/outbox).
        NotificationModule,
        // /admin/v1/projections: status, replay and verify for the CLI in embedded mode.
        ProjectionsAdminModule,
        // GET /metrics (Prometheus text, unauthenticated).
        MetricsModule,
      ],
      controllers: [HealthController],
    };
  }
}
