import { Module } from '@nestjs/common';
import { AuthModule } from '#auth';
import { AdminController } from './admin.controller.js';
import { AdminOperations } from '#runtime';

/**
 * The admin routes (/admin/v1/...). Imports AuthModule (AUTHENTICATOR, the commands, the
 * first-start bootstrap), so AppModule needs only this module for both.
 */
@Module({
  imports: [AuthModule],
  controllers: [AdminController],
  providers: [AdminOperations],
  exports: [AdminOperations],
})
export class AdminModule {}
