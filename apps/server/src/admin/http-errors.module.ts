import { Module } from '@nestjs/common';
import { APP_FILTER, APP_PIPE } from '@nestjs/core';
import { ApiExceptionFilter } from './error-filter.js';
import { apiValidationPipe } from './validation.js';

/**
 * How every Nest HTTP route of the app checks its input and answers errors: the global
 * ValidationPipe (class-validator DTOs; bad input → InvalidArgument) and the global
 * ApiExceptionFilter (#errors' mapping, the REST API's error shape). APP_PIPE and APP_FILTER
 * are global wherever they are provided, and a module is instantiated once however often it is
 * imported: every module whose routes rely on this imports it, and so does AppModule.
 */
@Module({
  providers: [
    { provide: APP_PIPE, useFactory: apiValidationPipe },
    { provide: APP_FILTER, useClass: ApiExceptionFilter },
  ],
})
export class HttpErrorsModule {}
