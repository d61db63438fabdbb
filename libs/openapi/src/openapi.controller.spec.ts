import 'reflect-metadata';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { NestFactory } from '@nestjs/core';
import { parse } from 'yaml';
import { serveOnOnePort, type ServingApp } from '#api';
import { createLogger } from '#logging';
import { buildOpenApiDocument } from './document.js';
import { OpenApiModule } from './openapi.module.js';

/**
 * Served through the production wiring (serveOnOnePort: Connect, then the REST gateway, then
 * Nest), without an Authenticator: every API call is Unauthenticated, yet the document and the
 * page must answer.
 */
describe('the document and the reference page over HTTP/1.1', () => {
  let serving: ServingApp;
  beforeAll(async () => {
    const app = await NestFactory.create(OpenApiModule, { logger: false, abortOnError: false });
    serving = await serveOnOnePort(app, { port: 0, host: '127.0.0.1', logger: createLogger('silent') });
  });
  afterAll(async () => {
    await serving?.close();
  });

  const get = (path: string) => fetch(`${serving.url}${path}`);

  it('serves /openapi.json and /openapi.yaml without a token, the same document both ways', async () => {
    const json = await get('/openapi.json');
    expect(json.status).toBe(200);
    expect(json.headers.get('content-type')).toMatch(/^application\/json/);
    const document = await json.json();
    expect(document).toEqual(JSON.parse(JSON.stringify(buildOpenApiDocument())));
    const yaml = await get('/openapi.yaml');
    expect(yaml.status).toBe(200);
    expect(yaml.headers.get('content-type')).toMatch(/^application\/yaml/);
    expect(parse(await yaml.text())).toEqual(document);
  });

  it('serves the page, its initializer pointing at /openapi.json, and Swagger UI’s own files', async () => {
    const page = await get('/docs');
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('<script src="/docs/swagger-ui-bundle.js"');
    expect((await get('/docs/')).status).toBe(200);
    const init = await get('/docs/swagger-initializer.js');
    expect(await init.text()).toContain("url: '/openapi.json'");
    const bundle = await get('/docs/swagger-ui-bundle.js');
    expect(bundle.status).toBe(200);
    expect(bundle.headers.get('content-type')).toMatch(/^text\/javascript/);
    expect((await bundle.text()).length).toBeGreaterThan(100_000);
    expect((await get('/docs/swagger-ui.css')).status).toBe(200);
  });

  it('answers 404 for anything else under /docs (no file outside the package’s assets)', async () => {
    for (const path of ['/docs/package.json', '/docs/..%2Fpackage.json', '/docs/index.js', '/docs/nope.js']) {
      expect({ path, status: (await get(path)).status }).toEqual({ path, status: 404 });
    }
  });

  it('leaves /v2 to the REST gateway: an API route still needs the token', async () => {
    const res = await get('/v2/users/123');
    expect(res.status).toBe(401);
    expect(await res.json()).toMatchObject({ code: 16 });
  });
});
