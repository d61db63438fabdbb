import { Module } from '@nestjs/common';
import { buildOpenApiDocument } from './document.js';
import { OPENAPI_DOCUMENT, OpenApiController } from './openapi.controller.js';

/** The OpenAPI document (built once, at start, from the served descriptors) and its reference page. */
@Module({
  controllers: [OpenApiController],
  providers: [{ provide: OPENAPI_DOCUMENT, useFactory: () => buildOpenApiDocument() }],
  exports: [OPENAPI_DOCUMENT],
})
export class OpenApiModule {}
