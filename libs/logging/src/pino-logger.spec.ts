import { describe, expect, it } from '@jest/globals';
import { REDACTED } from './pino-logger.js';
import { requestContext } from './request-context.js';
import { capturingLogger } from './testing/index.js';

/** The keys of a JSON line in the order written, repeated ones included. */
const keysOf = (raw: string) => [...raw.matchAll(/"([^"\\]+)":/g)].map((m) => m[1]);

describe('createLogger', () => {
  it('never writes a key twice: a field a child binds is not repeated by a call that passes it again', () => {
    const { logger, raw, lines } = capturingLogger();
    logger.child({ projection: 'users' }).info({ projection: 'users', checkpoint: 'p1' }, 'stopped');
    const keys = keysOf(raw[0]!);
    expect(keys.filter((k) => k === 'projection')).toHaveLength(1);
    expect(lines[0]).toMatchObject({ projection: 'users', checkpoint: 'p1', msg: 'stopped' });
  });

  it('hides token, code and password one level down and a logged request’s authorization header, without changing the caller’s objects', () => {
    const { logger, raw, lines } = capturingLogger();
    const body = { userId: 'u-1', code: '123456', token: 'pat_secret', password: 'hunter2' };
    const req = { method: 'POST', headers: { authorization: 'Bearer pat_secret', 'content-type': 'application/json' } };
    logger.child({ component: 'x' }).warn({ body, req, code: 'EADDRINUSE', err: Object.assign(new Error('refused'), { code: 'ECONNREFUSED' }) }, 'failed');
    expect(raw[0]).not.toMatch(/123456|pat_secret|hunter2/);
    expect(lines[0]).toMatchObject({
      body: { userId: 'u-1', code: REDACTED, token: REDACTED, password: REDACTED },
      req: { method: 'POST', headers: { authorization: REDACTED, 'content-type': 'application/json' } },
      // A line's own top-level fields and an error's system code are what an operator needs.
      code: 'EADDRINUSE',
      err: { message: 'refused', code: 'ECONNREFUSED' },
      component: 'x',
    });
    expect(body.code).toBe('123456');
    expect(req.headers.authorization).toBe('Bearer pat_secret');
    // A line without secrets is written as it came.
    logger.info({ access: true, path: '/v2/users/1/otp_email', status: 200 }, 'request');
    expect(lines[1]).toMatchObject({ access: true, path: '/v2/users/1/otp_email', status: 200 });
  });

  it('puts the request id on every line written while a request is handled, by any logger', () => {
    const { logger, lines } = capturingLogger();
    requestContext.run({ requestId: 'req-1' }, () => {
      logger.info('inside');
      logger.child({ component: 'x' }).warn({ a: 1 }, 'inside too');
    });
    logger.info('outside');
    expect(lines.map((l) => [l.msg, l.requestId])).toEqual([
      ['inside', 'req-1'],
      ['inside too', 'req-1'],
      ['outside', undefined],
    ]);
  });
});
