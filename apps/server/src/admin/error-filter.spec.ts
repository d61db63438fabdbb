import { describe, expect, it } from '@jest/globals';
import { NotFoundException, type ArgumentsHost } from '@nestjs/common';
import { internal, invalidArgument } from '#errors';
import { capturingLogger } from '#logging/testing';
import { ApiExceptionFilter } from './error-filter.js';

/** What the filter wrote: status, headers, body; or that it only ended a response already started. */
function respond(err: unknown, headersSent = false) {
  const { logger, lines } = capturingLogger();
  const written: { status?: number; body?: unknown; headers: Record<string, string>; ended: boolean } = { headers: {}, ended: false };
  const res = {
    headersSent,
    setHeader: (name: string, value: string) => void (written.headers[name] = value),
    status: (status: number) => ({ json: (body: unknown) => Object.assign(written, { status, body }) }),
    end: () => void (written.ended = true),
  };
  const host = { switchToHttp: () => ({ getResponse: () => res }) } as unknown as ArgumentsHost;
  new ApiExceptionFilter(logger).catch(err, host);
  return { ...written, logs: lines };
}

describe('ApiExceptionFilter: every Nest route’s errors in the REST API’s shape', () => {
  it('answers a DomainError through the one mapping, and logs nothing for a client mistake', () => {
    const res = respond(invalidArgument('ADMIN-OrgNm', 'Errors.Request.Invalid', { problems: 'name must be a string' }));
    expect(res).toMatchObject({
      status: 400,
      body: {
        code: 3,
        message: 'invalid request: name must be a string (ADMIN-OrgNm)',
        details: [{ '@type': 'type.googleapis.com/zitadel.v1.ErrorDetail', id: 'ADMIN-OrgNm', message: 'invalid request: name must be a string' }],
      },
    });
    expect(res.logs).toEqual([]);
  });

  it('answers a bug 500 "Internal error" with nothing of it in the body, and logs it with its stack', () => {
    const res = respond(new Error('connection to postgres://admin:hunter2@db failed'));
    expect(res.status).toBe(500);
    expect(res.body).toEqual({ code: 13, message: 'Internal error' });
    expect(JSON.stringify(res.body)).not.toContain('hunter2');
    const [logged] = res.logs;
    expect(logged).toMatchObject({ level: 'error', msg: 'unhandled error in an HTTP route' });
    expect(logged?.err?.stack).toContain('hunter2');
  });

  it('logs an Internal DomainError, and answers it with its id', () => {
    const res = respond(internal('ADMIN-NoCal', 'Errors.Internal'));
    expect(res).toMatchObject({ status: 500, body: { code: 13, details: [{ id: 'ADMIN-NoCal' }] } });
    expect(res.logs).toMatchObject([{ level: 'error', errorId: 'ADMIN-NoCal' }]);
  });

  it('answers the HTTP layer’s own refusals with their status and code, without an ErrorDetail', () => {
    expect(respond(new NotFoundException('Cannot GET /nowhere'))).toMatchObject({ status: 404, body: { code: 5, message: 'Cannot GET /nowhere' } });
    // body-parser's errors: a 4xx statusCode and expose: true.
    const tooLarge = Object.assign(new Error('request entity too large'), { statusCode: 413, expose: true });
    expect(respond(tooLarge)).toMatchObject({ status: 413, body: { code: 8, message: 'request entity too large' }, logs: [] });
    // A status on an error that does not say its message is for the client is a bug like any other.
    const unexposed = Object.assign(new Error('secret'), { statusCode: 400, expose: false });
    expect(respond(unexposed)).toMatchObject({ status: 500, body: { code: 13, message: 'Internal error' } });
  });

  it('only ends a response the route had already started', () => {
    const res = respond(new Error('failed while streaming'), true);
    expect(res).toMatchObject({ ended: true, headers: {} });
    expect(res.status).toBeUndefined();
    expect(res.logs).toHaveLength(1);
  });
});
