import { Inject, Injectable, Module, type OnApplicationBootstrap } from '@nestjs/common';
import { CONFIG, type Config } from '#config';
import { EVENT_STORE, type EventStore } from '#eventstore';
import { CLOCK, clockProvider, type Clock } from '#kernel';
import { LOGGER, type Logger } from '#logging';
import { OrgModule } from '#org';
import { AUTHENTICATOR } from './authenticator.js';
import { bootstrapInstance } from './bootstrap.js';
import { JwtVerifier, jwtSettingsFrom } from './jwt.js';
import { TokenAuthenticator } from './token-authenticator.js';

/** Runs the first-start setup (bootstrap.ts) once the application is up. */
@Injectable()
export class InstanceBootstrap implements OnApplicationBootstrap {
  constructor(
    @Inject(EVENT_STORE) private readonly store: EventStore,
    @Inject(CONFIG) private readonly config: Config,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    await bootstrapInstance({ store: this.store, dataDir: this.config.DATA_DIR, logger: this.logger });
  }
}

/**
 * Who calls: AUTHENTICATOR (a TokenAuthenticator: personal access tokens, and end users'
 * JWTs when OIDC_* are set), the organization and machine-user commands (OrgModule, exported),
 * and the first-start setup of the instance and its admin. Needs the global EVENT_STORE,
 * CONFIG and LOGGER (InfrastructureModule); reads the time (token expiry) from CLOCK.
 */
@Module({
  imports: [OrgModule],
  providers: [
    {
      provide: AUTHENTICATOR,
      useFactory: (store: EventStore, config: Config, logger: Logger, clock: Clock) => {
        const settings = jwtSettingsFrom(config);
        return new TokenAuthenticator(store, { logger, clock, userCacheTtlMs: config.AUTH_CACHE_TTL_MS, ...(settings ? { jwt: new JwtVerifier(settings) } : {}) });
      },
      inject: [EVENT_STORE, CONFIG, LOGGER, CLOCK],
    },
    clockProvider,
    InstanceBootstrap,
  ],
  exports: [AUTHENTICATOR, OrgModule],
})
export class AuthModule {}
