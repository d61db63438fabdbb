import { describe, expect, it } from '@jest/globals';
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
