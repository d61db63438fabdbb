import { describe, expect, it } from '@jest/globals';
import { isDomainError } from '#errors';
import { evolveSession, initialSessionState } from './session-state.js';
import { SessionEventType } from './events.js';
import { decideUserAgent, MAX_USER_AGENT_BYTES } from './user-agent.js';

describe('CreateSession user agent', () => {
  it('given the request\'s whole user agent, then it is kept as given', () => {
    const requested = { fingerprintId: 'fp-1', ip: '192.0.2.7', description: 'Firefox', header: { 'user-agent': ['Firefox/140'], accept: ['a', 'b'] } };
    expect(decideUserAgent(requested, '10.0.0.1')).toEqual(requested);
  });

  it('given no ip (or one that is not an address), then the client\'s address fills it, written as Go writes addresses', () => {
    expect(decideUserAgent({ description: 'd' }, '10.0.0.1')).toEqual({ description: 'd', ip: '10.0.0.1' });
    expect(decideUserAgent({ ip: 'not-an-ip' }, '::ffff:10.0.0.2')).toEqual({ ip: '10.0.0.2' });
    expect(decideUserAgent(undefined, '2001:DB8::1')).toEqual({ ip: '2001:db8::1' });
  });

  it('given nothing at all, then no user agent; empty header lists are left out', () => {
    expect(decideUserAgent(undefined, undefined)).toBeUndefined();
    expect(decideUserAgent({ header: { empty: [] } }, undefined)).toBeUndefined();
  });

  it('given a user agent larger than the bound, then InvalidArgument SESSION-UaSize', () => {
    const big = { header: { 'x-big': ['x'.repeat(MAX_USER_AGENT_BYTES)] } };
    let thrown: unknown;
    try {
      decideUserAgent(big, undefined);
    } catch (err) {
      thrown = err;
    }
    expect(isDomainError(thrown) && { kind: thrown.kind, id: thrown.id }).toEqual({ kind: 'InvalidArgument', id: 'SESSION-UaSize' });
  });

  it('given an older session.added with a description only, then the fold reads it as the user agent\'s description', () => {
    expect(evolveSession(initialSessionState(), { type: SessionEventType.Added, data: { userAgent: 'jest' } }).userAgent).toEqual({ description: 'jest' });
    expect(evolveSession(initialSessionState(), { type: SessionEventType.Added, data: {} }).userAgent).toBeUndefined();
  });
});
