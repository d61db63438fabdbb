import { describe, expect, it } from '@jest/globals';
import { InvalidAppendError } from '#eventstore';
import { assertAppendable } from './appendable.js';

const part = (data: Record<string, any>, metadata?: Record<string, any>) => ({
  stream: 'user-1',
  events: [{ type: 'user.human.added', data, ...(metadata ? { metadata } : {}) }],
  expectedRevision: 'no_stream' as const,
});

describe('assertAppendable', () => {
  it('accepts what the store can hold, surrogate pairs included', () => {
    expect(() => assertAppendable([part({ name: 'Ada 😀', nested: [{ ok: 'é' }] }), part({})])).not.toThrow();
  });

  it.each([
    ['a NUL in a value', part({ name: 'A\u0000da' })],
    ['a NUL deep inside', part({ profile: { list: ['x', 'y\u0000'] } })],
    ['a NUL in a key', part({ ['k\u0000']: 1 })],
    ['a lone high surrogate', part({ name: 'A\uD83D' })],
    ['a lone low surrogate', part({ name: '\uDE00A' })],
    ['a NUL in the metadata', part({}, { editor: '\u0000' })],
  ])('refuses %s', (_label, bad) => {
    expect(() => assertAppendable([part({ fine: true }), bad])).toThrow(InvalidAppendError);
  });

  it('applies the store’s own rules to every part', () => {
    expect(() => assertAppendable([part({}), { stream: '', events: [], expectedRevision: 'any' }])).toThrow(InvalidAppendError);
  });
});
