import { Module } from '@nestjs/common';
import { clockProvider } from '#kernel';
import { AddHumanUserHandler } from './add-human-user/add-human-user.handler.js';
import { DeleteUserHandler } from './delete-user/delete-user.handler.js';
import { AddOtpEmailHandler } from './add-otp-email/add-otp-email.handler.js';
import { RemoveOtpEmailHandler } from './remove-otp-email/remove-otp-email.handler.js';
import { SetEmailHandler } from './set-email/set-email.handler.js';
import { SweepUsernameClaimsHandler } from './sweep-username-claims/sweep-username-claims.handler.js';
import { UnlockUserHandler } from './unlock-user/unlock-user.handler.js';
import { VerifyEmailHandler } from './verify-email/verify-email.handler.js';

/**
 * The user commands. A sibling module imports this module and sends the commands exported
 * from libs/user/src/index.ts on the CommandBus (CqrsModule.forRoot() at the root); it gets
 * the same details and the same DomainErrors as the API. Needs EVENT_STORE and CODE_CIPHER;
 * reads the time from CLOCK (a test overrides it).
 */
@Module({
  providers: [clockProvider, AddHumanUserHandler, SetEmailHandler, VerifyEmailHandler, AddOtpEmailHandler, RemoveOtpEmailHandler, UnlockUserHandler, DeleteUserHandler],
})
export class UserModule {}

/**
 * The operators' sweep of username claims without their user (SweepUsernameClaimsCommand), on
 * its own: it needs only EVENT_STORE (and CLOCK), so the CLI's direct backend can import it
 * without the code cipher the other user commands need.
 */
@Module({
  providers: [clockProvider, SweepUsernameClaimsHandler],
})
export class UsernameClaimsModule {}
