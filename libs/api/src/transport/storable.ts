import { getOption, hasOption, type DescField, type DescMessage, type DescMethod, type Message } from '@bufbuild/protobuf';
import { http } from '@zitadel/proto/google/api/annotations_pb.js';
import { notFound, type DomainError } from '#errors';
import { SessionErrorId } from '#session';

/**
 * Text the store cannot hold. PostgreSQL's text and jsonb refuse U+0000, and a lone UTF-16
 * surrogate has no UTF-8 form: the driver would write U+FFFD instead, so two different ids
 * could end up as the same stored one. Such a string is refused before it reaches a command,
 * a query or the store.
 */
const UNSTORABLE = /\u0000|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

export function isStorableText(s: string): boolean {
  return !UNSTORABLE.test(s);
}

/** Where the first unstorable string of a message is: the top-level field and the full path. */
export interface UnstorableField {
  topField: DescField;
  path: string;
}

/** The first string (field value or map key, at any depth) the store cannot hold, or undefined. */
export function findUnstorable(desc: DescMessage, message: Message): UnstorableField | undefined {
  for (const field of desc.fields) {
    if (field.oneof) continue; // walked through its oneof's slot below
    const path = walkValue(field, (message as unknown as Record<string, unknown>)[field.localName], field.name, 0);
    if (path !== undefined) return { topField: field, path };
  }
  // oneofs: protobuf-es keeps them as { case, value } under the oneof's local name
  for (const oneof of desc.oneofs) {
    const slot = (message as unknown as Record<string, unknown>)[oneof.localName] as { case?: string; value?: unknown } | undefined;
    if (!slot?.case) continue;
    const field = oneof.fields.find((f) => f.localName === slot.case);
    if (!field) continue;
    const path = walkValue(field, slot.value, field.name, 0);
    if (path !== undefined) return { topField: field, path };
  }
  return undefined;
}

/** Nesting is bounded by the decoder already; this bound only keeps the walk itself finite. */
const MAX_WALK_DEPTH = 100;

function walkValue(field: DescField, value: unknown, path: string, depth: number): string | undefined {
  if (value === undefined || value === null || depth > MAX_WALK_DEPTH) return undefined;
  switch (field.fieldKind) {
    case 'scalar':
      return typeof value === 'string' && !isStorableText(value) ? path : undefined;
    case 'enum':
      return undefined;
    case 'message':
      return walkMessage(field.message, value, path, depth + 1);
    case 'list':
      if (!Array.isArray(value)) return undefined;
      for (const [i, item] of value.entries()) {
        const found =
          field.listKind === 'message'
            ? walkMessage(field.message, item, `${path}[${i}]`, depth + 1)
            : typeof item === 'string' && !isStorableText(item)
              ? `${path}[${i}]`
              : undefined;
        if (found !== undefined) return found;
      }
      return undefined;
    case 'map':
      for (const [key, item] of Object.entries(value as Record<string, unknown>)) {
        if (!isStorableText(key)) return `${path}[key]`;
        const found =
          field.mapKind === 'message'
            ? walkMessage(field.message, item, `${path}[${key}]`, depth + 1)
            : typeof item === 'string' && !isStorableText(item)
              ? `${path}[${key}]`
              : undefined;
        if (found !== undefined) return found;
      }
      return undefined;
  }
}

function walkMessage(desc: DescMessage, value: unknown, path: string, depth: number): string | undefined {
  if (value === null || typeof value !== 'object') return undefined;
  const found = findUnstorableAt(desc, value as Message, depth);
  return found === undefined ? undefined : `${path}.${found}`;
}

function findUnstorableAt(desc: DescMessage, message: Message, depth: number): string | undefined {
  if (depth > MAX_WALK_DEPTH) return undefined;
  const record = message as unknown as Record<string, unknown>;
  for (const field of desc.fields) {
    if (field.oneof) continue;
    const path = walkValue(field, record[field.localName], field.name, depth);
    if (path !== undefined) return path;
  }
  for (const oneof of desc.oneofs) {
    const slot = record[oneof.localName] as { case?: string; value?: unknown } | undefined;
    if (!slot?.case) continue;
    const field = oneof.fields.find((f) => f.localName === slot.case);
    if (!field) continue;
    const path = walkValue(field, slot.value, field.name, depth);
    if (path !== undefined) return path;
  }
  return undefined;
}

const pathFieldCache = new WeakMap<DescMethod, ReadonlySet<string>>();

/**
 * The top-level request fields a method's REST route binds to the URL path (`{user_id}`,
 * `{session_id}`): the ids of the resources the call is about.
 */
export function pathBoundFields(method: DescMethod): ReadonlySet<string> {
  let fields = pathFieldCache.get(method);
  if (fields) return fields;
  const names = new Set<string>();
  if (hasOption(method, http)) {
    const rule = getOption(method, http);
    for (const r of [rule, ...rule.additionalBindings]) {
      const template = r.pattern.case === 'custom' ? r.pattern.value.path : typeof r.pattern.value === 'string' ? r.pattern.value : '';
      for (const m of template.matchAll(/\{([^}=.]+)/g)) names.add(m[1]!);
    }
  }
  fields = names;
  pathFieldCache.set(method, fields);
  return fields;
}

/**
 * The answer to an id the store cannot hold: no resource can have it, so it is the method's
 * NotFound (the same answer as for any other id that names nothing).
 */
export function notFoundFor(method: DescMethod): DomainError {
  if (method.parent.typeName === 'zitadel.session.v2.SessionService') return notFound(SessionErrorId.NotFound, 'Errors.Session.NotExisting');
  return notFound('COMMAND-4g3xq', 'Errors.NotFound');
}
