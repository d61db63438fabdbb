import pg from 'pg';

const TIMESTAMPTZ = 1184;
/** pg's own parser for timestamptz in text: what every other form goes to. */
const parseAnyTimestamptz = (text: string): unknown => (pg.types.getTypeParser(TIMESTAMPTZ, 'text') as (text: string) => unknown)(text);

const ZERO = 48;
const digits = (text: string, from: number, to: number): number => {
  let value = 0;
  for (let i = from; i < to; i++) {
    const d = text.charCodeAt(i) - ZERO;
    if (d < 0 || d > 9) return NaN;
    value = value * 10 + d;
  }
  return value;
};

/**
 * timestamptz as pg parses it (postgres-date), with a fast path for the form PostgreSQL writes
 * in UTC sessions, `YYYY-MM-DD HH:MM:SS[.ffffff]+00`: every event row carries one, and the
 * driver's parser runs four regular expressions on each (~1.7 % of the server's CPU per
 * AddOTPEmail, a CPU profile under `npm run bench:api`). Anything else (other offsets, BC,
 * infinity, years before 1000) goes to pg's own parser. The milliseconds are computed as pg
 * computes them (a thousand times the fraction, cut to a whole millisecond by Date.UTC).
 */
export function parseTimestamptz(text: string): unknown {
  const length = text.length;
  if (length < 22 || length > 29 || !text.endsWith('+00') || text[4] !== '-' || text[7] !== '-' || text[10] !== ' ' || text[13] !== ':' || text[16] !== ':') {
    return parseAnyTimestamptz(text);
  }
  const fraction = length === 22 ? '' : text.slice(19, length - 3);
  if (fraction !== '' && (fraction[0] !== '.' || fraction.length < 2 || Number.isNaN(digits(fraction, 1, fraction.length)))) return parseAnyTimestamptz(text);
  const year = digits(text, 0, 4);
  const month = digits(text, 5, 7);
  const day = digits(text, 8, 10);
  const hour = digits(text, 11, 13);
  const minute = digits(text, 14, 16);
  const second = digits(text, 17, 19);
  if (!(year >= 1000) || Number.isNaN(month + day + hour + minute + second)) return parseAnyTimestamptz(text);
  const ms = fraction === '' ? 0 : 1000 * parseFloat(fraction);
  return new Date(Date.UTC(year, month - 1, day, hour, minute, second, ms));
}

/**
 * The type parsers of the server pool: pg's, with parseTimestamptz for timestamptz in text (so a
 * global setTypeParser for timestamptz reaches only the forms the fast path leaves to pg).
 */
export const serverTypeParsers = {
  getTypeParser(oid: number, format?: string): unknown {
    if (oid === TIMESTAMPTZ && (format === undefined || format === 'text')) return parseTimestamptz;
    return (pg.types.getTypeParser as (oid: number, format?: string) => unknown)(oid, format);
  },
};
