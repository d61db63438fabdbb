import { readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, extname, join } from 'node:path';
import { Controller, Get, Inject, NotFoundException, Param, Res } from '@nestjs/common';
import { stringify } from 'yaml';
import type { OpenApiDocument } from './document.js';

export const OPENAPI_DOCUMENT = Symbol('OPENAPI_DOCUMENT');

/** The part of Express's response the routes use. */
interface BodyResponse {
  setHeader(name: string, value: string): void;
  status(code: number): { send(body: string | Buffer): void };
}

const CONTENT_TYPES: Record<string, string> = {
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.png': 'image/png',
  '.map': 'application/json; charset=utf-8',
};

const PAGE_ASSETS = new Set([
  'swagger-ui-bundle.js',
  'swagger-ui-bundle.js.map',
  'swagger-ui.css',
  'swagger-ui.css.map',
  'favicon-32x32.png',
  'favicon-16x16.png',
]);

/**
 * Swagger UI's files, from the installed package (never a CDN). Found by its package.json:
 * the package's main module loads the whole 4 MB bundle into the server's heap to export it.
 */
const SWAGGER_UI_DIR = dirname(createRequire(import.meta.url).resolve('swagger-ui-dist/package.json'));

/** The page: Swagger UI pointed at this server's own document; no URL box, no `?url=` override. */
const INDEX_HTML = `<!DOCTYPE html>
<html lang="en">
  <head>
    <meta charset="UTF-8">
    <title>API reference</title>
    <link rel="stylesheet" type="text/css" href="/docs/swagger-ui.css" />
    <link rel="icon" type="image/png" href="/docs/favicon-32x32.png" sizes="32x32" />
  </head>
  <body>
    <div id="swagger-ui"></div>
    <script src="/docs/swagger-ui-bundle.js" charset="UTF-8"></script>
    <script src="/docs/swagger-initializer.js" charset="UTF-8"></script>
  </body>
</html>
`;

const INITIALIZER_JS = `window.onload = function () {
  window.ui = SwaggerUIBundle({
    url: '/openapi.json',
    dom_id: '#swagger-ui',
    deepLinking: true,
    queryConfigEnabled: false,
    presets: [SwaggerUIBundle.presets.apis],
    layout: 'BaseLayout',
  });
};
`;

/**
 * `GET /openapi.json`, `GET /openapi.yaml` and the reference page `GET /docs`. Like /healthz
 * they answer without a token: the document describes the public API and holds no data.
 */
@Controller()
export class OpenApiController {
  private readonly json: string;
  private readonly yaml: string;
  private readonly assetsDir = SWAGGER_UI_DIR;
  /** The files the page loads (and their source maps), by name: nothing else can be asked for. */
  private readonly assets = new Set(readdirSync(this.assetsDir).filter((name) => PAGE_ASSETS.has(name)));
  private readonly cache = new Map<string, Buffer>();

  constructor(@Inject(OPENAPI_DOCUMENT) document: OpenApiDocument) {
    this.json = JSON.stringify(document);
    this.yaml = stringify(document, { aliasDuplicateObjects: false });
  }

  @Get('openapi.json')
  openApiJson(@Res() res: BodyResponse): void {
    send(res, 'application/json; charset=utf-8', this.json);
  }

  @Get('openapi.yaml')
  openApiYaml(@Res() res: BodyResponse): void {
    send(res, 'application/yaml; charset=utf-8', this.yaml);
  }

  @Get('docs')
  page(@Res() res: BodyResponse): void {
    send(res, 'text/html; charset=utf-8', INDEX_HTML);
  }

  @Get('docs/swagger-initializer.js')
  initializer(@Res() res: BodyResponse): void {
    send(res, CONTENT_TYPES['.js']!, INITIALIZER_JS);
  }

  @Get('docs/:asset')
  asset(@Param('asset') name: string, @Res() res: BodyResponse): void {
    if (!this.assets.has(name)) throw new NotFoundException();
    let body = this.cache.get(name);
    if (!body) {
      body = readFileSync(join(this.assetsDir, name));
      this.cache.set(name, body);
    }
    res.setHeader('cache-control', 'public, max-age=3600');
    send(res, CONTENT_TYPES[extname(name)]!, body);
  }
}

function send(res: BodyResponse, contentType: string, body: string | Buffer): void {
  res.setHeader('content-type', contentType);
  res.status(200).send(body);
}
