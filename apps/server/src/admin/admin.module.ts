import { Module } from '@nestjs/common';
import { AuthModule } from '#auth';
import { AdminOperations } from '#runtime';
import { UsernameClaimsModule } from '#user';
import { AdminController } from './admin.controller.js';
import { HttpErrorsModule } from './http-errors.module.js';

/**
 * The admin routes (/admin/v1/...). Imports AuthModule (AUTHENTICATOR, the commands, the
 * first-start bootstrap), so AppModule needs only this module for both, HttpErrorsModule
 * for the validation and error answers of its routes, and UsernameClaimsModule for the sweep.
 */
@Module({
  imports: [AuthModule, HttpErrorsModule, UsernameClaimsModule],
  controllers: [AdminController],
  providers: [AdminOperations],
  exports: [AdminOperations],
})
export class AdminModule {}
