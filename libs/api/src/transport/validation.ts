import { isIP } from 'node:net';
import { getOption, hasOption, isFieldSet, ScalarType, type DescEnum, type DescField, type DescMessage, type DescOneof, type Message } from '@bufbuild/protobuf';
import { FeatureSet_FieldPresence } from '@bufbuild/protobuf/wkt';
import {
  disabled,
  ignored,
  required as oneofRequired,
  rules as fieldRules,
  type AnyRules,
  type BytesRules,
  type DurationRules,
  type EnumRules,
  type FieldRules,
  type MapRules,
  type RepeatedRules,
  type StringRules,
  type TimestampRules,
} from '@zitadel/proto/validate/validate_pb.js';

/**
 * Validates a message against the protoc-gen-validate (PGV) `validate.rules` options of its
 * descriptor, the way ZITADEL's ValidationHandler does with the generated Go `Validate()`:
 * the first violation wins, and the text is what PGV's Go code writes, e.g.
 * `invalid AddOTPEmailRequest.UserId: value length must be between 1 and 200 runes, inclusive`.
 *
 * Implemented: string (const, len, min/max_len, len/min/max_bytes, pattern, prefix, suffix,
 * contains, not_contains, in, not_in, email, hostname, ip, ipv4, ipv6, uri, uri_ref, address,
 * uuid, ignore_empty), bytes (const, len, min/max_len, prefix, suffix, contains, ip kinds),
 * bool const, enum (const, defined_only, in, not_in), all integer and float kinds (const,
 * lt/lte/gt/gte ranges incl. exclusive ranges, in, not_in), repeated (min/max_items, unique,
 * items), map (min/max_pairs, keys, values), message (required, skip), oneof `required`,
 * Duration and Timestamp (required, const, ranges, lt_now/gt_now/within), Any (required,
 * in, not_in), and the `disabled`/`ignored` message options. Embedded messages are walked
 * (also inside repeated fields, maps and oneofs), as PGV does; google.protobuf types are not.
 * Rule kinds not listed (well_known_regex, bytes pattern, map no_sparse) are skipped.
 *
 * Returns undefined when the message is valid.
 */
export function validateMessage(schema: DescMessage, message: Message): string | undefined {
  const violation = validateMsg(schema, message as unknown as Record<string, unknown>);
  return violation ? format(violation) : undefined;
}

interface Violation {
  message: string; // PGV's (Go) message name, e.g. CreateUserRequest_Human
  field: string; // PGV's (Go) field name, e.g. UserId, Keys[0], Metadata[k]
  reason: string;
  key?: boolean;
  cause?: Violation | string;
}

function format(v: Violation): string {
  const cause = v.cause === undefined ? '' : ` | caused by: ${typeof v.cause === 'string' ? v.cause : format(v.cause)}`;
  return `invalid ${v.key ? 'key for ' : ''}${v.message}.${v.field}: ${v.reason}${cause}`;
}

// ---------------------------------------------------------------------------------------
// Messages

type Obj = Record<string, unknown>;

function validateMsg(desc: DescMessage, msg: Obj): Violation | undefined {
  if (isWellKnown(desc)) return undefined;
  if ((hasOption(desc, disabled) && getOption(desc, disabled)) || (hasOption(desc, ignored) && getOption(desc, ignored))) {
    return undefined;
  }
  const name = goMessageName(desc);
  // PGV's order: fields outside any oneof, then real oneofs, then proto3 `optional` fields.
  for (const field of desc.fields) {
    if (field.oneof || field.proto.proto3Optional) continue;
    const v = validateField(name, field, msg);
    if (v) return v;
  }
  for (const oneof of desc.oneofs) {
    const v = validateOneof(name, oneof, msg);
    if (v) return v;
  }
  for (const field of desc.fields) {
    if (!field.proto.proto3Optional) continue;
    if (msg[field.localName] === undefined) continue;
    const v = validateField(name, field, msg);
    if (v) return v;
  }
  return undefined;
}

function validateOneof(name: string, oneof: DescOneof, msg: Obj): Violation | undefined {
  const selected = msg[oneof.localName] as { case?: string; value?: unknown } | undefined;
  const field = selected?.case === undefined ? undefined : oneof.fields.find((f) => f.localName === selected.case);
  if (!field) {
    if (hasOption(oneof, oneofRequired) && getOption(oneof, oneofRequired)) {
      return { message: name, field: goCamelCase(oneof.name), reason: 'value is required' };
    }
    return undefined;
  }
  return validateValue(name, goCamelCase(field.name), field, selected!.value, true, rulesOf(field));
}

function validateField(name: string, field: DescField, msg: Obj): Violation | undefined {
  const r = rulesOf(field);
  const raw = msg[field.localName];
  switch (field.fieldKind) {
    case 'list':
      return validateList(name, field, (raw as unknown[] | undefined) ?? [], r);
    case 'map':
      return validateMap(name, field, (raw as Obj | undefined) ?? {}, r);
    case 'message':
      return validateValue(name, goCamelCase(field.name), field, raw, raw !== undefined, r);
    default: {
      // proto3 scalars without presence are always checked, with their zero value if unset.
      const explicit = field.presence !== FeatureSet_FieldPresence.IMPLICIT;
      if (explicit && !isFieldSet(msg as unknown as Message, field)) return undefined;
      return validateValue(name, goCamelCase(field.name), field, raw ?? zeroValue(field), true, r);
    }
  }
}

/** One singular value (a field, an oneof member, a list item or a map value). */
function validateValue(
  name: string,
  fieldName: string,
  field: DescField,
  value: unknown,
  present: boolean,
  r: FieldRules | undefined,
  itemKind?: { kind: 'scalar'; scalar: ScalarType } | { kind: 'enum'; enum: DescEnum } | { kind: 'message'; message: DescMessage },
): Violation | undefined {
  const kind = itemKind ?? singularKind(field);
  const fail = (reason: string, cause?: Violation | string): Violation => ({ message: name, field: fieldName, reason, cause });
  if (kind.kind === 'message') {
    const desc = kind.message;
    const type = r?.type;
    if (!present || value === undefined) {
      const req =
        r?.message?.required ||
        (type?.case === 'duration' && type.value.required) ||
        (type?.case === 'timestamp' && type.value.required) ||
        (type?.case === 'any' && type.value.required);
      return req ? fail('value is required') : undefined;
    }
    const m = value as Obj;
    if (type?.case === 'duration' && desc.typeName === 'google.protobuf.Duration') {
      const reason = checkDuration(type.value, m);
      if (reason) return fail(...reason);
    } else if (type?.case === 'timestamp' && desc.typeName === 'google.protobuf.Timestamp') {
      const reason = checkTimestamp(type.value, m);
      if (reason) return fail(...reason);
    } else if (type?.case === 'any' && desc.typeName === 'google.protobuf.Any') {
      const reason = checkAny(type.value, m);
      if (reason) return fail(reason);
    } else if (type?.case !== undefined && isWrapper(desc)) {
      // Rules on a wrapper (google.protobuf.StringValue, ...) apply to the wrapped value.
      const inner = desc.fields[0]!;
      const v = validateValue(name, fieldName, inner, m.value, true, r);
      if (v) return v;
    }
    if (r?.message?.skip) return undefined;
    const embedded = validateMsg(desc, m);
    return embedded ? fail('embedded message failed validation', embedded) : undefined;
  }
  if (!r || r.type.case === undefined) return undefined;
  const reason = checkScalar(r, value, kind.kind === 'enum' ? kind.enum : undefined);
  return reason ? fail(...reason) : undefined;
}

function validateList(name: string, field: DescField & { fieldKind: 'list' }, list: unknown[], r: FieldRules | undefined): Violation | undefined {
  const fieldName = goCamelCase(field.name);
  const rr: RepeatedRules | undefined = r?.type.case === 'repeated' ? r.type.value : undefined;
  const fail = (reason: string): Violation => ({ message: name, field: fieldName, reason });
  if (rr) {
    if (rr.ignoreEmpty && list.length === 0) return undefined;
    const min = has(rr, 'minItems') ? rr.minItems : undefined;
    const max = has(rr, 'maxItems') ? rr.maxItems : undefined;
    const n = BigInt(list.length);
    if (min !== undefined && max !== undefined && min === max) {
      if (n !== min) return fail(`value must contain exactly ${min} item(s)`);
    } else {
      if (min !== undefined && n < min) return fail(`value must contain at least ${min} item(s)`);
      if (max !== undefined && n > max) return fail(`value must contain no more than ${max} item(s)`);
    }
    if (rr.unique && field.listKind !== 'message') {
      const seen = new Set<string>();
      for (const item of list) {
        const k = item instanceof Uint8Array ? Buffer.from(item).toString('hex') : String(item);
        if (seen.has(k)) return fail('repeated value must contain unique items');
        seen.add(k);
      }
    }
  }
  const items = rr?.items;
  const itemKind =
    field.listKind === 'message'
      ? ({ kind: 'message', message: field.message } as const)
      : field.listKind === 'enum'
        ? ({ kind: 'enum', enum: field.enum } as const)
        : ({ kind: 'scalar', scalar: field.scalar } as const);
  for (let i = 0; i < list.length; i++) {
    const v = validateValue(name, `${fieldName}[${i}]`, field, list[i], true, items, itemKind);
    if (v) return v;
  }
  return undefined;
}

function validateMap(name: string, field: DescField & { fieldKind: 'map' }, map: Obj, r: FieldRules | undefined): Violation | undefined {
  const fieldName = goCamelCase(field.name);
  const mr: MapRules | undefined = r?.type.case === 'map' ? r.type.value : undefined;
  const keys = Object.keys(map);
  const fail = (reason: string): Violation => ({ message: name, field: fieldName, reason });
  if (mr) {
    if (mr.ignoreEmpty && keys.length === 0) return undefined;
    const n = BigInt(keys.length);
    const min = has(mr, 'minPairs') ? mr.minPairs : undefined;
    const max = has(mr, 'maxPairs') ? mr.maxPairs : undefined;
    if (min !== undefined && max !== undefined && min === max) {
      if (n !== min) return fail(`value must contain exactly ${min} pair(s)`);
    } else {
      if (min !== undefined && n < min) return fail(`value must contain at least ${min} pair(s)`);
      if (max !== undefined && n > max) return fail(`value must contain no more than ${max} pair(s)`);
    }
  }
  const valueKind =
    field.mapKind === 'message'
      ? ({ kind: 'message', message: field.message } as const)
      : field.mapKind === 'enum'
        ? ({ kind: 'enum', enum: field.enum } as const)
        : ({ kind: 'scalar', scalar: field.scalar } as const);
  for (const key of keys) {
    const itemName = `${fieldName}[${key}]`;
    if (mr?.keys && mr.keys.type.case !== undefined) {
      const keyValue = field.mapKey === ScalarType.BOOL ? key === 'true' : isIntegral(field.mapKey) ? toInt(field.mapKey, key) : key;
      const reason = checkScalar(mr.keys, keyValue, undefined);
      if (reason) return { message: name, field: itemName, reason: reason[0], cause: reason[1], key: true };
    }
    const v = validateValue(name, itemName, field, map[key], true, mr?.values, valueKind);
    if (v) return v;
  }
  return undefined;
}

// ---------------------------------------------------------------------------------------
// Scalars

type Reason = [reason: string, cause?: string];

function checkScalar(r: FieldRules, value: unknown, enumDesc: DescEnum | undefined): Reason | undefined {
  const t = r.type;
  switch (t.case) {
    case 'string':
      return checkString(t.value, String(value));
    case 'bytes':
      return checkBytes(t.value, value as Uint8Array);
    case 'bool':
      if (has(t.value, 'const') && value !== t.value.const) return [`value must equal ${t.value.const}`];
      return undefined;
    case 'enum':
      return checkEnum(t.value, value as number, enumDesc);
    case 'float':
    case 'double':
    case 'int32':
    case 'int64':
    case 'uint32':
    case 'uint64':
    case 'sint32':
    case 'sint64':
    case 'fixed32':
    case 'fixed64':
    case 'sfixed32':
    case 'sfixed64':
      return checkNumber(t.value as NumberRules, value as number | bigint);
    default:
      return undefined; // a rule kind for another type, or one we do not know: skipped
  }
}

interface NumberRules {
  const: number | bigint;
  lt: number | bigint;
  lte: number | bigint;
  gt: number | bigint;
  gte: number | bigint;
  in: (number | bigint)[];
  notIn: (number | bigint)[];
  ignoreEmpty: boolean;
}

function checkNumber(r: NumberRules, value: number | bigint): Reason | undefined {
  if (r.ignoreEmpty && (value === 0 || value === 0n)) return undefined;
  const c = (a: number | bigint, b: number | bigint) => compare(a, b);
  if (has(r, 'const') && c(value, r.const) !== 0) return [`value must equal ${r.const}`];
  const range = checkRange(
    { lt: opt(r, 'lt'), lte: opt(r, 'lte'), gt: opt(r, 'gt'), gte: opt(r, 'gte') },
    value,
    c,
    (v) => String(v),
  );
  if (range) return [range];
  if (r.in.length > 0 && !r.in.some((x) => c(x, value) === 0)) return [`value must be in list [${r.in.join(' ')}]`];
  if (r.notIn.length > 0 && r.notIn.some((x) => c(x, value) === 0)) return [`value must not be in list [${r.notIn.join(' ')}]`];
  return undefined;
}

/** PGV's lt/lte/gt/gte template, including the "outside range" forms for inverted bounds. */
function checkRange<T>(
  b: { lt?: T; lte?: T; gt?: T; gte?: T },
  v: T,
  cmp: (a: T, b: T) => number,
  show: (v: T) => string,
): string | undefined {
  const { lt, lte, gt, gte } = b;
  if (lt !== undefined) {
    if (gt !== undefined) {
      if (cmp(lt, gt) > 0) {
        if (cmp(v, gt) <= 0 || cmp(v, lt) >= 0) return `value must be inside range (${show(gt)}, ${show(lt)})`;
      } else if (cmp(v, lt) >= 0 && cmp(v, gt) <= 0) return `value must be outside range [${show(lt)}, ${show(gt)}]`;
    } else if (gte !== undefined) {
      if (cmp(lt, gte) > 0) {
        if (cmp(v, gte) < 0 || cmp(v, lt) >= 0) return `value must be inside range [${show(gte)}, ${show(lt)})`;
      } else if (cmp(v, lt) >= 0 && cmp(v, gte) < 0) return `value must be outside range [${show(lt)}, ${show(gte)})`;
    } else if (cmp(v, lt) >= 0) return `value must be less than ${show(lt)}`;
  } else if (lte !== undefined) {
    if (gt !== undefined) {
      if (cmp(lte, gt) > 0) {
        if (cmp(v, gt) <= 0 || cmp(v, lte) > 0) return `value must be inside range (${show(gt)}, ${show(lte)}]`;
      } else if (cmp(v, lte) > 0 && cmp(v, gt) <= 0) return `value must be outside range (${show(lte)}, ${show(gt)}]`;
    } else if (gte !== undefined) {
      if (cmp(lte, gte) > 0) {
        if (cmp(v, gte) < 0 || cmp(v, lte) > 0) return `value must be inside range [${show(gte)}, ${show(lte)}]`;
      } else if (cmp(v, lte) > 0 && cmp(v, gte) < 0) return `value must be outside range (${show(lte)}, ${show(gte)})`;
    } else if (cmp(v, lte) > 0) return `value must be less than or equal to ${show(lte)}`;
  } else if (gt !== undefined) {
    if (cmp(v, gt) <= 0) return `value must be greater than ${show(gt)}`;
  } else if (gte !== undefined) {
    if (cmp(v, gte) < 0) return `value must be greater than or equal to ${show(gte)}`;
  }
  return undefined;
}

function checkEnum(r: EnumRules, value: number, desc: DescEnum | undefined): Reason | undefined {
  if (has(r, 'const') && value !== r.const) return [`value must equal ${r.const}`];
  if (r.in.length > 0 && !r.in.includes(value)) return [`value must be in list [${r.in.join(' ')}]`];
  if (r.notIn.length > 0 && r.notIn.includes(value)) return [`value must not be in list [${r.notIn.join(' ')}]`];
  if (r.definedOnly && desc && !desc.values.some((v) => v.number === value)) return ['value must be one of the defined enum values'];
  return undefined;
}

function checkString(r: StringRules, s: string): Reason | undefined {
  if (r.ignoreEmpty && s === '') return undefined;
  if (has(r, 'const') && s !== r.const) return [`value must equal ${r.const}`];
  if (r.in.length > 0 && !r.in.includes(s)) return [`value must be in list [${r.in.join(' ')}]`];
  if (r.notIn.length > 0 && r.notIn.includes(s)) return [`value must not be in list [${r.notIn.join(' ')}]`];
  const runes = BigInt([...s].length);
  const lengths = checkLengths(runes, opt(r, 'len'), opt(r, 'minLen'), opt(r, 'maxLen'), 'runes');
  if (lengths) return [lengths];
  const bytes = BigInt(Buffer.byteLength(s, 'utf8'));
  const byteLengths = checkLengths(bytes, opt(r, 'lenBytes'), opt(r, 'minBytes'), opt(r, 'maxBytes'), 'bytes');
  if (byteLengths) return [byteLengths];
  if (has(r, 'prefix') && !s.startsWith(r.prefix)) return [`value does not have prefix ${goQuote(r.prefix)}`];
  if (has(r, 'suffix') && !s.endsWith(r.suffix)) return [`value does not have suffix ${goQuote(r.suffix)}`];
  if (has(r, 'contains') && !s.includes(r.contains)) return [`value does not contain substring ${goQuote(r.contains)}`];
  if (has(r, 'notContains') && s.includes(r.notContains)) return [`value contains substring ${goQuote(r.notContains)}`];
  const wk = r.wellKnown;
  if (wk.case !== undefined && wk.value !== false) {
    switch (wk.case) {
      case 'email': {
        const err = emailError(s);
        if (err) return ['value must be a valid email address', err];
        break;
      }
      case 'hostname': {
        const err = hostnameError(s);
        if (err) return ['value must be a valid hostname', err];
        break;
      }
      case 'ip':
        if (isIP(s) === 0) return ['value must be a valid IP address'];
        break;
      case 'ipv4':
        if (isIP(s) !== 4) return ['value must be a valid IPv4 address'];
        break;
      case 'ipv6':
        if (isIP(s) !== 6) return ['value must be a valid IPv6 address'];
        break;
      case 'address':
        if (isIP(s) === 0 && hostnameError(s)) return ['value must be a valid hostname, or ip address'];
        break;
      case 'uri': {
        const err = uriError(s);
        if (err) return ['value must be a valid URI', err];
        if (!/^[A-Za-z][A-Za-z0-9+.-]*:/.test(s)) return ['value must be absolute'];
        break;
      }
      case 'uriRef': {
        const err = uriError(s);
        if (err) return ['value must be a valid URI', err];
        break;
      }
      case 'uuid':
        if (!/^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/.test(s)) {
          return ['value must be a valid UUID', 'invalid uuid format'];
        }
        break;
      default:
        break; // well_known_regex (HTTP header names/values): skipped
    }
  }
  if (has(r, 'pattern')) {
    const re = compilePattern(r.pattern);
    if (re && !re.test(s)) return [`value does not match regex pattern ${goQuote(r.pattern)}`];
  }
  return undefined;
}

function checkBytes(r: BytesRules, b: Uint8Array): Reason | undefined {
  if (r.ignoreEmpty && b.length === 0) return undefined;
  const buf = Buffer.from(b);
  if (has(r, 'const') && !buf.equals(Buffer.from(r.const))) return [`value must equal ${goQuote(buf.toString('latin1'))}`];
  const lengths = checkLengths(BigInt(b.length), opt(r, 'len'), opt(r, 'minLen'), opt(r, 'maxLen'), 'bytes');
  if (lengths) return [lengths];
  if (has(r, 'prefix') && !buf.subarray(0, r.prefix.length).equals(Buffer.from(r.prefix))) return [`value does not have prefix ${goQuote(Buffer.from(r.prefix).toString('latin1'))}`];
  if (has(r, 'suffix') && (b.length < r.suffix.length || !buf.subarray(b.length - r.suffix.length).equals(Buffer.from(r.suffix)))) {
    return [`value does not have suffix ${goQuote(Buffer.from(r.suffix).toString('latin1'))}`];
  }
  if (has(r, 'contains') && buf.indexOf(Buffer.from(r.contains)) < 0) return [`value does not contain ${goQuote(Buffer.from(r.contains).toString('latin1'))}`];
  const wk = r.wellKnown;
  if (wk.case === 'ip' && wk.value && b.length !== 4 && b.length !== 16) return ['value must be a valid IP address'];
  if (wk.case === 'ipv4' && wk.value && b.length !== 4) return ['value must be a valid IPv4 address'];
  if (wk.case === 'ipv6' && wk.value && b.length !== 16) return ['value must be a valid IPv6 address'];
  return undefined;
}

function checkLengths(n: bigint, len: bigint | undefined, min: bigint | undefined, max: bigint | undefined, unit: string): string | undefined {
  if (len !== undefined || (min !== undefined && max !== undefined && min === max)) {
    const want = len ?? min!;
    return n !== want ? `value length must be ${want} ${unit}` : undefined;
  }
  if (min !== undefined) {
    if (max !== undefined) {
      return n < min || n > max ? `value length must be between ${min} and ${max} ${unit}, inclusive` : undefined;
    }
    return n < min ? `value length must be at least ${min} ${unit}` : undefined;
  }
  if (max !== undefined && n > max) return `value length must be at most ${max} ${unit}`;
  return undefined;
}

// ---------------------------------------------------------------------------------------
// Well-known types

interface DurationLike {
  seconds?: bigint;
  nanos?: number;
}

const NANOS = 1_000_000_000n;
const nanosOf = (d: DurationLike | undefined): bigint => (d?.seconds ?? 0n) * NANOS + BigInt(d?.nanos ?? 0);

function checkDuration(r: DurationRules, d: Obj): Reason | undefined {
  const seconds = (d.seconds as bigint | undefined) ?? 0n;
  const nanos = (d.nanos as number | undefined) ?? 0;
  if (seconds < -315_576_000_000n || seconds > 315_576_000_000n || nanos <= -1e9 || nanos >= 1e9 || (seconds > 0n && nanos < 0) || (seconds < 0n && nanos > 0)) {
    return ['value is not a valid duration', `duration (${goDuration(seconds * NANOS + BigInt(nanos))}) out of range`];
  }
  const v = seconds * NANOS + BigInt(nanos);
  const cmp = (a: bigint, b: bigint) => (a < b ? -1 : a > b ? 1 : 0);
  if (r.const && v !== nanosOf(r.const)) return [`value must equal ${goDuration(nanosOf(r.const))}`];
  const range = checkRange(
    { lt: r.lt && nanosOf(r.lt), lte: r.lte && nanosOf(r.lte), gt: r.gt && nanosOf(r.gt), gte: r.gte && nanosOf(r.gte) },
    v,
    cmp,
    goDuration,
  );
  if (range) return [range];
  if (r.in.length > 0 && !r.in.some((x) => nanosOf(x) === v)) return [`value must be in list [${r.in.map((x) => goDuration(nanosOf(x))).join(' ')}]`];
  if (r.notIn.some((x) => nanosOf(x) === v)) return [`value must not be in list [${r.notIn.map((x) => goDuration(nanosOf(x))).join(' ')}]`];
  return undefined;
}

function checkTimestamp(r: TimestampRules, t: Obj): Reason | undefined {
  const seconds = (t.seconds as bigint | undefined) ?? 0n;
  const nanos = (t.nanos as number | undefined) ?? 0;
  if (seconds < -62_135_596_800n || seconds > 253_402_300_799n || nanos < 0 || nanos >= 1e9) {
    return ['value is not a valid timestamp', 'timestamp out of range'];
  }
  const v = seconds * NANOS + BigInt(nanos);
  const cmp = (a: bigint, b: bigint) => (a < b ? -1 : a > b ? 1 : 0);
  const show = (n: bigint) => new Date(Number(n / 1_000_000n)).toISOString();
  if (r.const && v !== nanosOf(r.const)) return [`value must equal ${show(nanosOf(r.const))}`];
  const range = checkRange(
    { lt: r.lt && nanosOf(r.lt), lte: r.lte && nanosOf(r.lte), gt: r.gt && nanosOf(r.gt), gte: r.gte && nanosOf(r.gte) },
    v,
    cmp,
    show,
  );
  if (range) return [range];
  const now = BigInt(Date.now()) * 1_000_000n;
  if (r.ltNow && v >= now) return ['value must be less than now'];
  if (r.gtNow && v <= now) return ['value must be greater than now'];
  if (r.within) {
    const within = nanosOf(r.within);
    const delta = v > now ? v - now : now - v;
    if (delta > within) return [`value must be within ${goDuration(within)} of now`];
  }
  return undefined;
}

function checkAny(r: AnyRules, a: Obj): string | undefined {
  const url = String(a.typeUrl ?? '');
  if (r.in.length > 0 && !r.in.includes(url)) return `type URL must be in set [${r.in.join(' ')}]`;
  if (r.notIn.includes(url)) return `type URL must not be in set [${r.notIn.join(' ')}]`;
  return undefined;
}

/** Go's time.Duration.String(), e.g. 0s, 1.5s, 2m30s, 1h0m0s, 300ms. */
export function goDuration(n: bigint): string {
  if (n === 0n) return '0s';
  const neg = n < 0n;
  let u = neg ? -n : n;
  let out: string;
  if (u < NANOS) {
    const [unit, size] = u < 1_000n ? ['ns', 1n] : u < 1_000_000n ? ['µs', 1_000n] : ['ms', 1_000_000n];
    out = fraction(u, size) + unit;
  } else {
    const h = u / (3600n * NANOS);
    u -= h * 3600n * NANOS;
    const m = u / (60n * NANOS);
    u -= m * 60n * NANOS;
    out = `${fraction(u, NANOS)}s`;
    if (h > 0n || m > 0n) out = `${m}m${out}`;
    if (h > 0n) out = `${h}h${out}`;
  }
  return neg ? `-${out}` : out;
}

function fraction(v: bigint, size: bigint): string {
  const whole = v / size;
  const rest = v % size;
  if (rest === 0n) return String(whole);
  const digits = String(size).length - 1;
  return `${whole}.${String(rest).padStart(digits, '0').replace(/0+$/, '')}`;
}

// ---------------------------------------------------------------------------------------
// Well-known string formats, after PGV's Go helpers

/** After Go's net/mail.ParseAddress followed by PGV's length and hostname checks. */
function emailError(s: string): string | undefined {
  let addr = s.trim();
  if (addr === '') return 'mail: no address';
  const angle = /<([^<>]*)>\s*$/.exec(addr);
  if (angle) addr = angle[1]!.trim();
  const at = addr.lastIndexOf('@');
  if (at < 0) return "mail: missing '@' or angle-addr";
  const local = addr.slice(0, at);
  const domain = addr.slice(at + 1);
  const atext = "[\\p{L}\\p{N}!#$%&'*+\\-/=?^_`{|}~]";
  const dotAtom = new RegExp(`^${atext}+(\\.${atext}+)*$`, 'u');
  const quoted = /^"([^"\\]|\\.)*"$/u;
  if (local === '' || !(dotAtom.test(local) || quoted.test(local))) return 'mail: invalid string';
  if (domain === '') return 'mail: no angle-addr';
  if (!(dotAtom.test(domain) || /^\[[^\[\]\\]*\]$/.test(domain))) return 'mail: invalid domain';
  if (addr.length > 254) return 'email address cannot exceed 254 characters';
  if (local.length > 64) return 'email address local phrase cannot exceed 64 characters';
  return hostnameError(domain);
}

function hostnameError(host: string): string | undefined {
  const s = host.toLowerCase().replace(/\.$/, '');
  if (host.length > 253) return 'hostname cannot exceed 253 characters';
  for (const part of s.split('.')) {
    if (part.length === 0 || part.length > 63) return 'hostname part must be non-empty and cannot exceed 63 characters';
    if (part.startsWith('-')) return 'hostname parts cannot begin with hyphens';
    if (part.endsWith('-')) return 'hostname parts cannot end with hyphens';
    for (const ch of part) {
      if (!/[a-z0-9-]/.test(ch)) return `hostname parts can only contain alphanumeric characters or hyphens, got ${goQuote(ch)}`;
    }
  }
  return undefined;
}

/** The failures of Go's url.Parse that matter in practice: control characters, bad escapes, missing scheme. */
function uriError(s: string): string | undefined {
  const prefix = `parse ${goQuote(s)}: `;
  if (/[\u0000-\u001f\u007f]/.test(s)) return `${prefix}net/url: invalid control character in URL`;
  const badEscape = /%(?![0-9A-Fa-f]{2})(.{0,2})/.exec(s);
  if (badEscape) return `${prefix}invalid URL escape ${goQuote(`%${badEscape[1]}`)}`;
  if (s.startsWith(':')) return `${prefix}missing protocol scheme`;
  return undefined;
}

const patterns = new Map<string, RegExp | null>();
/** RE2 patterns as JavaScript regular expressions; a pattern JavaScript cannot compile is skipped. */
function compilePattern(pattern: string): RegExp | null {
  if (!patterns.has(pattern)) {
    let re: RegExp | null;
    try {
      re = new RegExp(pattern, 'u');
    } catch {
      re = null;
    }
    patterns.set(pattern, re);
  }
  return patterns.get(pattern)!;
}

// ---------------------------------------------------------------------------------------
// Helpers

const ruleCache = new WeakMap<DescField, FieldRules | null>();
function rulesOf(field: DescField): FieldRules | undefined {
  let r = ruleCache.get(field);
  if (r === undefined) {
    r = hasOption(field, fieldRules) ? getOption(field, fieldRules) : null;
    ruleCache.set(field, r);
  }
  return r ?? undefined;
}

/** Whether a proto2 field of a rules message was set (the rules are proto2 with presence). */
function has<T extends object>(msg: T, key: keyof T & string): boolean {
  return Object.prototype.hasOwnProperty.call(msg, key);
}
function opt<T extends object, K extends keyof T & string>(msg: T, key: K): T[K] | undefined {
  return has(msg, key) ? msg[key] : undefined;
}

function compare(a: number | bigint, b: number | bigint): number {
  if (typeof a === 'bigint' || typeof b === 'bigint') {
    if (typeof a === 'number' && !Number.isInteger(a)) return a < Number(b) ? -1 : a > Number(b) ? 1 : 0;
    if (typeof b === 'number' && !Number.isInteger(b)) return Number(a) < b ? -1 : Number(a) > b ? 1 : 0;
    const x = BigInt(a);
    const y = BigInt(b);
    return x < y ? -1 : x > y ? 1 : 0;
  }
  return a < b ? -1 : a > b ? 1 : 0;
}

function singularKind(field: DescField): { kind: 'scalar'; scalar: ScalarType } | { kind: 'enum'; enum: DescEnum } | { kind: 'message'; message: DescMessage } {
  switch (field.fieldKind) {
    case 'message':
      return { kind: 'message', message: field.message };
    case 'enum':
      return { kind: 'enum', enum: field.enum };
    case 'scalar':
      return { kind: 'scalar', scalar: field.scalar };
    default:
      throw new Error(`not a singular field: ${field.toString()}`);
  }
}

function zeroValue(field: DescField): unknown {
  if (field.fieldKind === 'enum') return 0;
  if (field.fieldKind !== 'scalar') return undefined;
  switch (field.scalar) {
    case ScalarType.STRING:
      return '';
    case ScalarType.BYTES:
      return new Uint8Array(0);
    case ScalarType.BOOL:
      return false;
    default:
      return isIntegral64(field.scalar) ? 0n : 0;
  }
}

function isIntegral64(t: ScalarType): boolean {
  return t === ScalarType.INT64 || t === ScalarType.UINT64 || t === ScalarType.SINT64 || t === ScalarType.FIXED64 || t === ScalarType.SFIXED64;
}
function isIntegral(t: ScalarType): boolean {
  return isIntegral64(t) || t === ScalarType.INT32 || t === ScalarType.UINT32 || t === ScalarType.SINT32 || t === ScalarType.FIXED32 || t === ScalarType.SFIXED32;
}
function toInt(t: ScalarType, s: string): number | bigint {
  return isIntegral64(t) ? BigInt(s) : Number(s);
}

function isWellKnown(desc: DescMessage): boolean {
  return desc.typeName.startsWith('google.protobuf.');
}
function isWrapper(desc: DescMessage): boolean {
  return isWellKnown(desc) && desc.name.endsWith('Value') && desc.fields.length === 1 && desc.fields[0]!.name === 'value';
}

/** The Go type name PGV prints: nested messages joined with "_", e.g. CreateUserRequest_Human. */
function goMessageName(desc: DescMessage): string {
  const names: string[] = [];
  for (let d: DescMessage | undefined = desc; d; d = d.parent) names.unshift(goCamelCase(d.name));
  return names.join('_');
}

/** protoc-gen-go's GoCamelCase: user_id → UserId, otp_email → OtpEmail. */
export function goCamelCase(s: string): string {
  let out = '';
  const lower = (c: string | undefined) => c !== undefined && c >= 'a' && c <= 'z';
  for (let i = 0; i < s.length; i++) {
    const c = s[i]!;
    if (c === '.' && lower(s[i + 1])) continue;
    if (c === '.') out += '_';
    else if (c === '_' && (i === 0 || s[i - 1] === '.')) out += 'X';
    else if (c === '_' && lower(s[i + 1])) continue;
    else if (c >= '0' && c <= '9') out += c;
    else {
      out += lower(c) ? c.toUpperCase() : c;
      while (lower(s[i + 1])) out += s[++i];
    }
  }
  return out;
}

/** Go's %q for the plain strings found in rules. */
function goQuote(s: string): string {
  return JSON.stringify(s);
}
