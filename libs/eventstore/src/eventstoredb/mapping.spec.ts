import { describe, expect, it } from '@jest/globals';
import { WrongExpectedVersionError as EsdbWrongExpectedVersionError, type AllStreamResolvedEvent } from '@eventstore/db-client';
import { WrongExpectedVersionError } from '../errors.js';
import { comparePositions, START } from '../event-store.js';
import {
  actualRevisionFromEsdb,
  decodeEsdbPosition,
  encodeEsdbPosition,
  rawEsdbPosition,
  revisionFromSequence,
  sequenceFromRevision,
  toEsdbEventData,
  toEsdbExpectedRevision,
  toRecordedEvent,
  toWrongExpectedVersionError,
} from './mapping.js';

const U64_MAX = (1n << 64n) - 1n;

function recorded(overrides: Record<string, unknown> = {}): AllStreamResolvedEvent {
  return {
    event: {
      streamId: 'user-1',
      id: '6b1c1f5e-4c8e-4a43-9a50-3f1f2b2a0b11',
      isJson: true,
      revision: 0n,
      type: 'user.added',
      created: new Date('2024-05-01T10:00:00.123Z'),
      data: { username: 'ada' },
      metadata: { editor: 'admin' },
      position: { commit: 1200n, prepare: 1100n },
      ...overrides,
    },
  } as AllStreamResolvedEvent;
}

describe('EventStoreDB mapping: expected revisions', () => {
  it('maps our 1-based revisions to EventStoreDB 0-based ones, 0 meaning no stream', () => {
    expect(toEsdbExpectedRevision('any')).toBe('any');
    expect(toEsdbExpectedRevision('no_stream')).toBe('no_stream');
    expect(toEsdbExpectedRevision(0)).toBe('no_stream');
    expect(toEsdbExpectedRevision(1)).toBe(0n);
    expect(toEsdbExpectedRevision(42)).toBe(41n);
  });
});

describe('EventStoreDB mapping: revisions and sequences', () => {
  it('maps revision 0n to sequence 1 and back', () => {
    expect(sequenceFromRevision(0n)).toBe(1);
    expect(revisionFromSequence(1)).toBe(0n);
    expect(sequenceFromRevision(99n)).toBe(100);
    expect(revisionFromSequence(100)).toBe(99n);
  });

  it('refuses what is not a revision or a sequence', () => {
    expect(() => sequenceFromRevision(-1n)).toThrow(RangeError);
    expect(() => sequenceFromRevision(BigInt(Number.MAX_SAFE_INTEGER))).toThrow(RangeError);
    expect(() => revisionFromSequence(0)).toThrow(RangeError);
    expect(() => revisionFromSequence(1.5)).toThrow(RangeError);
  });
});

describe('EventStoreDB mapping: wrong expected version', () => {
  it('maps a bigint actual version to our 1-based revision', () => {
    const esdb = new EsdbWrongExpectedVersionError(undefined, { streamName: 's', expected: 0n, current: 2n });
    const ours = toWrongExpectedVersionError('s', 1, esdb);
    expect(ours).toBeInstanceOf(WrongExpectedVersionError);
    expect(ours.stream).toBe('s');
    expect(ours.expected).toBe(1);
    expect(ours.actual).toBe(3);
  });

  it('maps "no_stream" to 0', () => {
    const esdb = new EsdbWrongExpectedVersionError(undefined, { streamName: 's', expected: 4n, current: 'no_stream' });
    const ours = toWrongExpectedVersionError('s', 5, esdb);
    expect(ours.actual).toBe(0);
    expect(actualRevisionFromEsdb('no_stream')).toBe(0);
    expect(actualRevisionFromEsdb(0n)).toBe(1);
  });

  it('refuses an actual version the client never reports', () => {
    expect(() => toWrongExpectedVersionError('s', 1, { actualVersion: 'stream_exists' })).toThrow(RangeError);
  });
});

describe('EventStoreDB mapping: positions', () => {
  it('encodes commit and prepare as two 20-digit parts', () => {
    expect(encodeEsdbPosition({ commit: 1200n, prepare: 1100n })).toBe('00000000000000001200/00000000000000001100');
    expect(encodeEsdbPosition({ commit: U64_MAX, prepare: 0n })).toBe('18446744073709551615/00000000000000000000');
  });

  it('round-trips through decode', () => {
    for (const position of [
      { commit: 0n, prepare: 0n },
      { commit: 999n, prepare: 998n },
      { commit: 1000n, prepare: 1000n },
      { commit: U64_MAX, prepare: U64_MAX },
    ]) {
      expect(decodeEsdbPosition(encodeEsdbPosition(position))).toEqual(position);
    }
  });

  it('sorts as plain strings in (commit, prepare) order across digit-width boundaries', () => {
    const numeric = [
      { commit: 1000n, prepare: 10n },
      { commit: 9n, prepare: 9n },
      { commit: 999n, prepare: 1000n },
      { commit: 1000n, prepare: 9n },
      { commit: 10n, prepare: 1n },
      { commit: 999n, prepare: 999n },
      { commit: U64_MAX, prepare: 0n },
    ];
    const expected = [...numeric].sort((a, b) =>
      a.commit !== b.commit ? (a.commit < b.commit ? -1 : 1) : a.prepare < b.prepare ? -1 : a.prepare > b.prepare ? 1 : 0,
    );
    const byString = numeric.map(encodeEsdbPosition).sort(comparePositions);
    expect(byString).toEqual(expected.map(encodeEsdbPosition));
    expect(encodeEsdbPosition({ commit: 999n, prepare: 999n }) < encodeEsdbPosition({ commit: 1000n, prepare: 1000n })).toBe(true);
  });

  it('sorts START before every position and decodes it as the start of $all', () => {
    expect(START < encodeEsdbPosition({ commit: 0n, prepare: 0n })).toBe(true);
    expect(decodeEsdbPosition(START)).toBe('start');
  });

  it('rejects garbage with a RangeError', () => {
    for (const bad of [
      'start',
      '12/34',
      '00000000000000001200.00000000000000001100',
      '00000000000000001200/0000000000000000110',
      '0000000000000000120x/00000000000000001100',
      ' 00000000000000001200/00000000000000001100',
      '99999999999999999999/00000000000000000000',
    ]) {
      expect(() => decodeEsdbPosition(bad)).toThrow(RangeError);
    }
    expect(() => encodeEsdbPosition({ commit: -1n, prepare: 0n })).toThrow(RangeError);
    expect(() => encodeEsdbPosition({ commit: U64_MAX + 1n, prepare: 0n })).toThrow(RangeError);
  });
});

describe('EventStoreDB mapping: new events', () => {
  it('makes a JSON event with our type, data and metadata', () => {
    const data = toEsdbEventData({ type: 'user.added', data: { username: 'ada' }, metadata: { editor: 'admin' } }, 'the-id');
    expect(data).toEqual({
      id: 'the-id',
      contentType: 'application/json',
      type: 'user.added',
      data: { username: 'ada' },
      metadata: { editor: 'admin' },
    });
  });

  it('writes empty metadata when there is none and gives every event an id of its own', () => {
    const a = toEsdbEventData({ type: 'x', data: {} });
    const b = toEsdbEventData({ type: 'x', data: {} });
    expect(a.metadata).toEqual({});
    expect(a.id).toMatch(/^[0-9a-f-]{36}$/);
    expect(a.id).not.toBe(b.id);
  });
});

describe('EventStoreDB mapping: recorded events', () => {
  it('maps a JSON event of a user stream', () => {
    expect(toRecordedEvent(recorded({ revision: 4n }))).toEqual({
      id: '6b1c1f5e-4c8e-4a43-9a50-3f1f2b2a0b11',
      stream: 'user-1',
      type: 'user.added',
      sequence: 5,
      position: '00000000000000001200/00000000000000001100',
      createdAt: new Date('2024-05-01T10:00:00.123Z'),
      data: { username: 'ada' },
      metadata: { editor: 'admin' },
    });
  });

  it('reads absent or non-object metadata as {}', () => {
    expect(toRecordedEvent(recorded({ metadata: undefined }))!.metadata).toEqual({});
    expect(toRecordedEvent(recorded({ metadata: new Uint8Array([1, 2]) }))!.metadata).toEqual({});
    expect(toRecordedEvent(recorded({ metadata: ['a'] }))!.metadata).toEqual({});
  });

  it('drops binary (non-JSON) events', () => {
    expect(toRecordedEvent(recorded({ isJson: false, data: new Uint8Array([123, 125]) }))).toBeUndefined();
  });

  it('drops events of system streams and with system types', () => {
    expect(toRecordedEvent(recorded({ streamId: '$stats-127.0.0.1:2113', type: 'statsCollected' }))).toBeUndefined();
    expect(toRecordedEvent(recorded({ streamId: '$$user-1', type: '$metadata' }))).toBeUndefined();
    expect(toRecordedEvent(recorded({ type: '$streamDeleted' }))).toBeUndefined();
  });

  it('drops link events, resolved or not', () => {
    expect(toRecordedEvent(recorded({ streamId: '$ce-user', type: '$>', isJson: false, data: new Uint8Array() }))).toBeUndefined();
    // A link written to a user stream by another tool.
    expect(toRecordedEvent(recorded({ type: '$>', isJson: false, data: new Uint8Array() }))).toBeUndefined();
    const resolvedLink = { ...recorded(), link: recorded({ streamId: '$ce-user', type: '$>', isJson: false }).event } as AllStreamResolvedEvent;
    expect(toRecordedEvent(resolvedLink)).toBeUndefined();
    expect(toRecordedEvent({} as AllStreamResolvedEvent)).toBeUndefined();
  });

  it('drops JSON events whose data is not an object (malformed JSON comes back as a string)', () => {
    expect(toRecordedEvent(recorded({ data: '{not json' }))).toBeUndefined();
    expect(toRecordedEvent(recorded({ data: [1, 2] }))).toBeUndefined();
  });

  it('refuses an event without a log position (servers before 22.6 on stream reads)', () => {
    expect(() => toRecordedEvent(recorded({ position: undefined }))).toThrow(/without a log position/);
    expect(() => toRecordedEvent(recorded({ position: { commit: 0n, prepare: 0n } }))).toThrow(/without a log position/);
    expect(() => toRecordedEvent(recorded({ position: { commit: U64_MAX, prepare: U64_MAX } }))).toThrow(/without a log position/);
  });

  it('finds the raw position of any read result, hidden ones included', () => {
    expect(rawEsdbPosition(recorded({ streamId: '$ce-user', position: { commit: 7n, prepare: 6n } }))).toEqual({ commit: 7n, prepare: 6n });
    expect(rawEsdbPosition({} as AllStreamResolvedEvent)).toBeUndefined();
  });
});
