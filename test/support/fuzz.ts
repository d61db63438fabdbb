import { ScalarType, type DescField, type DescMessage } from '@bufbuild/protobuf';

/**
 * A small seeded PRNG (mulberry32) and generators of hostile input for the fuzz suite. Every
 * value comes from the generator, so one seed replays one run exactly.
 */
export class Rng {
  private state: number;
  constructor(readonly seed: number) {
    this.state = seed >>> 0;
  }
  /** A float in [0, 1). */
  next(): number {
    let t = (this.state = (this.state + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  int(maxExclusive: number): number {
    return Math.floor(this.next() * maxExclusive);
  }
  chance(p: number): boolean {
    return this.next() < p;
  }
  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)]!;
  }
  bytes(length: number): Uint8Array {
    const out = new Uint8Array(length);
    for (let i = 0; i < length; i++) out[i] = this.int(256);
    return out;
  }
}

const digits = (rng: Rng, n: number) => Array.from({ length: n }, () => String(rng.int(10))).join('');

/** Ids at the edges of ZITADEL's 1..200 length rule, and ids that are not ids. */
export function hostileId(rng: Rng, realIds: readonly string[]): string {
  switch (rng.int(9)) {
    case 0:
      return '';
    case 1:
      return digits(rng, 1);
    case 2:
      return digits(rng, 200);
    case 3:
      return digits(rng, 201);
    case 4:
      return rng.pick(realIds);
    case 5:
      return `${rng.pick(realIds)}\u0000`;
    default:
      return hostileString(rng, realIds);
  }
}

/** Text the store, the JSON codecs or a naive validator may choke on. */
export function hostileString(rng: Rng, realIds: readonly string[] = ['1']): string {
  switch (rng.int(16)) {
    case 0:
      return '\u0000';
    case 1:
      return `a\u0000b`;
    case 2:
      return '\ud800';
    case 3:
      return `\udc00${rng.pick(realIds)}`;
    case 4:
      return '🙂'.repeat(1 + rng.int(50));
    case 5:
      return 'x'.repeat(rng.pick([255, 256, 1000, 10_000]));
    case 6:
      return '🙂'.repeat(5_000); // 10,000 UTF-16 code units
    case 7:
      return "' OR 1=1 --";
    case 8:
      return '../../etc/passwd';
    case 9:
      return '\u202e\u200b\ufeff';
    case 10:
      return `${rng.pick(realIds)}`;
    case 11:
      return 'ada@example.com';
    case 12:
      return digits(rng, rng.pick([0, 1, 6, 200, 201]));
    case 13:
      return ' \t\r\n ';
    case 14:
      return '%00%ff%';
    default:
      return String.fromCharCode(...Array.from({ length: 1 + rng.int(20) }, () => rng.int(0x10000)));
  }
}

/** A JSON value nested `depth` levels deep. */
export function deeplyNested(depth: number, rng: Rng): unknown {
  let value: unknown = 'leaf';
  for (let i = 0; i < depth; i++) value = rng.chance(0.5) ? [value] : { a: value };
  return value;
}

/** Any JSON value, most of them the wrong type for whatever field they land in. */
export function hostileJsonValue(rng: Rng, realIds: readonly string[]): unknown {
  switch (rng.int(12)) {
    case 0:
      return null;
    case 1:
      return rng.chance(0.5);
    case 2:
      return rng.pick([0, -1, 1.5, 2 ** 53, -(2 ** 63), 1e308, 4294967296]);
    case 3:
      return [hostileString(rng, realIds), 1, null];
    case 4:
      return { unknownField: hostileString(rng, realIds) };
    case 5:
      return deeplyNested(rng.pick([10, 100]), rng);
    case 6:
      return {};
    case 7:
      return [];
    default:
      return hostileString(rng, realIds);
  }
}

/**
 * A JSON object shaped like `message`: some of its fields (by JSON name, sometimes by proto
 * name) set to plausible or hostile values, nested messages filled the same way, plus unknown fields.
 */
export function hostileMessageJson(rng: Rng, message: DescMessage, realIds: readonly string[], depth = 0): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const field of message.fields) {
    if (!rng.chance(0.6)) continue;
    const key = rng.chance(0.8) ? field.jsonName : field.name;
    out[key] = rng.chance(0.25) ? hostileJsonValue(rng, realIds) : plausibleJson(rng, field, realIds, depth);
  }
  if (rng.chance(0.2)) out[`unknown_${rng.int(100)}`] = hostileJsonValue(rng, realIds);
  return out;
}

function plausibleJson(rng: Rng, field: DescField, realIds: readonly string[], depth: number): unknown {
  const one = (): unknown => {
    if (field.message) return depth > 4 ? {} : hostileMessageJson(rng, field.message, realIds, depth + 1);
    if (field.enum) return rng.chance(0.7) ? rng.pick(field.enum.values).name : rng.pick(['NOPE', 99, -1]);
    if (field.fieldKind === 'map') return { [hostileString(rng, realIds)]: hostileString(rng, realIds) };
    switch (field.scalar) {
      case undefined:
        return hostileString(rng, realIds);
      case ScalarType.STRING:
        return field.name.endsWith('_id') ? hostileId(rng, realIds) : hostileString(rng, realIds);
      case ScalarType.BYTES:
        return rng.pick(['AAEC', '!!not-base64!!', '']);
      case ScalarType.BOOL:
        return rng.pick([true, false, 'true', 1]);
      default:
        return rng.pick([0, 1, -1, '18446744073709551616', 'NaN', 1.5, '1e3']);
    }
  };
  if (field.fieldKind === 'list') return rng.chance(0.2) ? one() : Array.from({ length: rng.int(4) }, one);
  return one();
}

/** Protobuf wire-format writer, enough to write fields the decoder must validate itself. */
class Writer {
  private readonly parts: number[] = [];
  varint(value: bigint): this {
    let v = BigInt.asUintN(64, value);
    do {
      let byte = Number(v & 0x7fn);
      v >>= 7n;
      if (v > 0n) byte |= 0x80;
      this.parts.push(byte);
    } while (v > 0n);
    return this;
  }
  tag(field: number, wireType: number): this {
    return this.varint(BigInt((field << 3) | wireType));
  }
  lengthDelimited(field: number, bytes: Uint8Array): this {
    this.tag(field, 2).varint(BigInt(bytes.length));
    for (const b of bytes) this.parts.push(b);
    return this;
  }
  raw(bytes: Uint8Array): this {
    for (const b of bytes) this.parts.push(b);
    return this;
  }
  finish(): Uint8Array {
    return Uint8Array.from(this.parts);
  }
}

const INVALID_UTF8 = [Uint8Array.from([0xff]), Uint8Array.from([0xed, 0xa0, 0x80]), Uint8Array.from([0xc0, 0x80]), Uint8Array.from([0x61, 0x00, 0x62])];

/**
 * Protobuf bytes shaped like `message`: the fields' numbers with values that are sometimes
 * right, sometimes of the wrong wire type, sometimes invalid UTF-8 or NUL in strings, huge varints.
 */
export function hostileMessageBinary(rng: Rng, message: DescMessage, realIds: readonly string[], depth = 0): Uint8Array {
  const w = new Writer();
  for (const field of message.fields) {
    if (!rng.chance(0.6)) continue;
    if (rng.chance(0.1)) {
      // The wrong wire type for the field.
      w.tag(field.number, rng.pick([0, 1, 2, 5])).varint(BigInt(rng.int(300)));
      continue;
    }
    if (field.fieldKind === 'message' || (field.fieldKind === 'list' && field.message)) {
      const inner = depth > 4 ? new Uint8Array() : hostileMessageBinary(rng, field.message!, realIds, depth + 1);
      w.lengthDelimited(field.number, inner);
    } else if (field.fieldKind === 'scalar' && (field.scalar === ScalarType.STRING || field.scalar === ScalarType.BYTES)) {
      const bytes = rng.chance(0.3) ? rng.pick(INVALID_UTF8) : new TextEncoder().encode(field.name.endsWith('_id') ? hostileId(rng, realIds) : hostileString(rng, realIds));
      w.lengthDelimited(field.number, bytes);
    } else {
      w.tag(field.number, 0).varint(rng.pick([0n, 1n, -1n, 2n ** 63n, 99n]));
    }
  }
  if (rng.chance(0.1)) w.lengthDelimited(1000 + rng.int(100), rng.bytes(rng.int(10)));
  return w.finish();
}

/** A gRPC length-prefixed message frame whose header may lie about the length. */
export function grpcFrame(body: Uint8Array, { compressed = false, announced = body.length } = {}): Uint8Array {
  const header = Buffer.alloc(5);
  header[0] = compressed ? 1 : 0;
  header.writeUInt32BE(announced >>> 0, 1);
  return Buffer.concat([header, body]);
}

/** Percent-encodes a path segment; a lone surrogate (which encodeURIComponent refuses) becomes its raw CESU bytes. */
export function pathSegment(text: string): string {
  try {
    return encodeURIComponent(text);
  } catch {
    return text.replace(/[\ud800-\udfff]/g, (s) => {
      const c = s.charCodeAt(0);
      return `%${(0xe0 | (c >> 12)).toString(16)}%${(0x80 | ((c >> 6) & 0x3f)).toString(16)}%${(0x80 | (c & 0x3f)).toString(16)}`;
    }).replace(/[^\ud800-\udfff%]/gu, (ch) => encodeURIComponent(ch));
  }
}
