import { Module } from '@nestjs/common';
import { CONFIG, type Config } from '#config';
import { clockProvider } from '#kernel';
import { CreateSessionHandler } from './create-session/create-session.js';
import { DeleteSessionHandler } from './delete-session/delete-session.js';
import { GetSessionHandler } from './get-session/get-session.js';
import { SessionChangeRunner } from './session-changes.js';
import { SetSessionHandler } from './set-session/set-session.js';
import { SESSION_SETTINGS, sessionSettingsFrom } from './settings.js';

/**
 * zitadel.session.v2.SessionService (CreateSession, SetSession, GetSession, DeleteSession):
 * the handlers on the CommandBus / QueryBus (CqrsModule.forRoot() at the root); libs/api
 * serves them. Needs the global EVENT_STORE, CODE_CIPHER
 * (CryptoModule) and CONFIG (InfrastructureModule); reads the time from CLOCK (a test overrides it).
 */
@Module({
  providers: [
    { provide: SESSION_SETTINGS, useFactory: (config: Config) => sessionSettingsFrom(config), inject: [CONFIG] },
    clockProvider,
    SessionChangeRunner,
    CreateSessionHandler,
    SetSessionHandler,
    DeleteSessionHandler,
    GetSessionHandler,
  ],
})
export class SessionModule {}
