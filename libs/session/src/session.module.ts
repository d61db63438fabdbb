import { Module } from '@nestjs/common';
import { CONFIG, type Config } from '../../config/src/config.js';
import { SESSION_SERVICE_IMPL } from '../../api/src/transport/tokens.js';
import { CreateSessionHandler } from './create-session/create-session.js';
import { DeleteSessionHandler } from './delete-session/delete-session.js';
import { GetSessionHandler } from './get-session/get-session.js';
import { SessionChangeRunner } from './session-changes.js';
import { SessionServiceImplementation } from './session-service.js';
import { SetSessionHandler } from './set-session/set-session.js';
import { SESSION_CLOCK, SESSION_SETTINGS, sessionSettingsFrom, systemClock } from './settings.js';

/**
 * zitadel.session.v2.SessionService (CreateSession, SetSession, GetSession, DeleteSession):
 * the handlers on the CommandBus / QueryBus (CqrsModule.forRoot() at the root) and
 * SESSION_SERVICE_IMPL for the transport. Needs the global EVENT_STORE, CODE_CIPHER
 * (CryptoModule) and CONFIG (InfrastructureModule); SESSION_CLOCK can be overridden in tests.
 */
@Module({
  providers: [
    { provide: SESSION_SETTINGS, useFactory: (config: Config) => sessionSettingsFrom(config), inject: [CONFIG] },
    { provide: SESSION_CLOCK, useValue: systemClock },
    SessionChangeRunner,
    CreateSessionHandler,
    SetSessionHandler,
    DeleteSessionHandler,
    GetSessionHandler,
    SessionServiceImplementation,
    { provide: SESSION_SERVICE_IMPL, useFactory: (service: SessionServiceImplementation) => service.impl, inject: [SessionServiceImplementation] },
  ],
  exports: [SESSION_SERVICE_IMPL],
})
export class SessionModule {}
