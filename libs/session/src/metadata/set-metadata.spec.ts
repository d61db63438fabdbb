import { describe, expect, it } from '@jest/globals';
import { givenSession, sessionAdded } from '#session/testing';
import type { SessionEvent } from '../events.js';
import { decideMetadata } from './set-metadata.js';

const bytes = (text: string) => new TextEncoder().encode(text);
const metadataSet = (metadata: Record<string, string>): SessionEvent => ({ type: 'session.metadata.set', data: { metadata } });
const b64 = (text: string) => Buffer.from(text).toString('base64');

describe('decideMetadata', () => {
  it('sets new keys and carries the whole metadata after the change', () => {
    const { state } = givenSession(sessionAdded(), metadataSet({ a: b64('1') }));
    expect(decideMetadata(state, { b: bytes('2') })).toEqual(metadataSet({ a: b64('1'), b: b64('2') }));
  });

  it('removes a key for an empty value, and writes nothing when no value changes', () => {
    const { state } = givenSession(sessionAdded(), metadataSet({ a: b64('1'), b: b64('2') }));
    expect(decideMetadata(state, { a: new Uint8Array() })).toEqual(metadataSet({ b: b64('2') }));
    expect(decideMetadata(state, { a: bytes('1'), gone: new Uint8Array() })).toBeUndefined();
  });

  it('is folded into the state, so a later decision sees it', () => {
    const { state } = givenSession(sessionAdded(), metadataSet({ a: b64('1') }), metadataSet({}));
    expect(state.metadata).toEqual({});
  });
});
