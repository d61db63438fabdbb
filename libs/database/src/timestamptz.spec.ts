import { describe, expect, it } from '@jest/globals';
import pg from 'pg';
import { parseTimestamptz } from './timestamptz.js';

const pgParse = pg.types.getTypeParser(1184, 'text') as (text: string) => unknown;

/** The same value as pg's parser: both Dates of one time, or both the same non-Date. */
function expectSameAsPg(text: string): void {
  const ours = parseTimestamptz(text);
  const theirs = pgParse(text);
  if (theirs instanceof Date) {
    expect([text, ours instanceof Date ? ours.getTime() : ours]).toEqual([text, theirs.getTime()]);
  } else {
    expect([text, ours]).toEqual([text, theirs]);
  }
}

/** A small deterministic generator, so a failure names a case that can be run again. */
function* cases(count: number): Generator<string> {
  let seed = 20261202;
  const next = (n: number) => {
    seed = (seed * 1103515245 + 12345) % 2147483648;
    return seed % n;
  };
  const pad = (n: number, width: number) => String(n).padStart(width, '0');
  for (let i = 0; i < count; i++) {
    const base = `${pad(1000 + next(9000), 4)}-${pad(1 + next(12), 2)}-${pad(1 + next(28), 2)} ${pad(next(24), 2)}:${pad(next(60), 2)}:${pad(next(60), 2)}`;
    const fractionDigits = next(7);
    const fraction = fractionDigits === 0 ? '' : `.${pad(next(10 ** fractionDigits), fractionDigits)}`;
    yield `${base}${fraction}+00`;
  }
}

describe('parseTimestamptz', () => {
  it('gives the time pg gives for 20,000 timestamps of the UTC form, fractions of 0 to 6 digits', () => {
    for (const text of cases(20_000)) expectSameAsPg(text);
  });

  it('gives every whole millisecond as pg does', () => {
    for (let ms = 0; ms < 1000; ms++) {
      const fraction = String(ms).padStart(3, '0');
      expectSameAsPg(`2026-12-02 15:55:52.${fraction}+00`);
      expectSameAsPg(`2026-12-02 15:55:52.${fraction}999+00`);
      expectSameAsPg(`2026-12-02 15:55:52.${fraction.replace(/0+$/, '') || '0'}+00`);
    }
  });

  it.each([
    '2026-12-02 15:55:52+05:30',
    '2026-12-02 15:55:52.5-08',
    '2026-12-02 15:55:52Z',
    '0099-01-01 00:00:00+00',
    '0999-12-31 23:59:59.999+00',
    '2000-01-01 00:00:00+00 BC',
    '12026-01-01 00:00:00+00',
    'infinity',
    '-infinity',
    '2026-12-02',
    '2026-13-45 25:61:61+00',
    '2026-12-02 15:55:52.+00',
    '2026-12-02 15:55:52.12a+00',
    '2026-12-02T15:55:52+00',
    'x026-12-02 15:55:52+00',
    '',
  ])('leaves %p to pg, or gives what pg gives', (text) => {
    expectSameAsPg(text);
  });
});
