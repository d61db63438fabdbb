import { getOption, hasOption, ScalarType, type DescEnum, type DescField, type DescMessage } from '@bufbuild/protobuf';
import { openapiv2_field, openapiv2_schema } from '@zitadel/proto/protoc-gen-openapiv2/options/annotations_pb.js';
import type { JSONSchema } from '@zitadel/proto/protoc-gen-openapiv2/options/openapiv2_pb.js';
import { summaryAndDescription, type ProtoComments } from './proto-comments.js';

/** A JSON Schema object as OpenAPI 3.1 embeds it. */
export type Schema = { [key: string]: unknown };

/** `#/components/schemas/<name>` for a message or enum: its full proto type name. */
export const refTo = (typeName: string): Schema => ({ $ref: `#/components/schemas/${typeName}` });

/**
 * The well-known types have their own JSON forms in the proto3 JSON mapping (a Timestamp is
 * an RFC 3339 string, a wrapper is its bare value or null, a Struct any object, ...).
 */
const WELL_KNOWN: Record<string, Schema> = {
  'google.protobuf.Timestamp': { type: 'string', format: 'date-time', example: '2024-01-01T12:00:00Z' },
  'google.protobuf.Duration': { type: 'string', pattern: '^-?\\d+(\\.\\d{1,9})?s$', example: '3600s', description: 'A duration in seconds with up to nine fractional digits, suffixed "s".' },
  'google.protobuf.FieldMask': { type: 'string', description: 'Comma-separated field paths (camelCase).' },
  'google.protobuf.Struct': { type: 'object', additionalProperties: true },
  'google.protobuf.Value': { description: 'Any JSON value.' },
  'google.protobuf.ListValue': { type: 'array', items: {} },
  'google.protobuf.Empty': { type: 'object' },
  'google.protobuf.Any': { type: 'object', properties: { '@type': { type: 'string' } }, required: ['@type'], additionalProperties: true },
  'google.protobuf.StringValue': { type: ['string', 'null'] },
  'google.protobuf.BytesValue': { type: ['string', 'null'], contentEncoding: 'base64' },
  'google.protobuf.BoolValue': { type: ['boolean', 'null'] },
  'google.protobuf.Int32Value': { type: ['integer', 'null'], format: 'int32' },
  'google.protobuf.UInt32Value': { type: ['integer', 'null'], format: 'uint32' },
  'google.protobuf.Int64Value': { type: ['string', 'null'], format: 'int64' },
  'google.protobuf.UInt64Value': { type: ['string', 'null'], format: 'uint64' },
  'google.protobuf.FloatValue': { type: ['number', 'null'], format: 'float' },
  'google.protobuf.DoubleValue': { type: ['number', 'null'], format: 'double' },
};

/** Scalars in the proto3 JSON mapping: 64-bit integers are decimal strings, bytes base64. */
export function scalarSchema(scalar: ScalarType): Schema {
  switch (scalar) {
    case ScalarType.STRING:
      return { type: 'string' };
    case ScalarType.BOOL:
      return { type: 'boolean' };
    case ScalarType.BYTES:
      return { type: 'string', format: 'byte', contentEncoding: 'base64' };
    case ScalarType.INT32:
    case ScalarType.SINT32:
    case ScalarType.SFIXED32:
      return { type: 'integer', format: 'int32' };
    case ScalarType.UINT32:
    case ScalarType.FIXED32:
      return { type: 'integer', format: 'uint32', minimum: 0 };
    case ScalarType.INT64:
    case ScalarType.SINT64:
    case ScalarType.SFIXED64:
      return { type: 'string', format: 'int64', pattern: '^-?\\d+$' };
    case ScalarType.UINT64:
    case ScalarType.FIXED64:
      return { type: 'string', format: 'uint64', pattern: '^\\d+$' };
    case ScalarType.FLOAT:
      return { type: 'number', format: 'float' };
    case ScalarType.DOUBLE:
      return { type: 'number', format: 'double' };
  }
}

/**
 * Collects the schemas of messages and enums as they are referenced (components.schemas), each
 * under its full proto type name.
 */
export class SchemaCollector {
  readonly schemas: Record<string, Schema> = {};

  constructor(private readonly comments: ProtoComments) {}

  /** A reference to the message's schema (or the inline form of a well-known type). */
  message(desc: DescMessage): Schema {
    const wkt = WELL_KNOWN[desc.typeName];
    if (wkt) return { ...wkt };
    if (!(desc.typeName in this.schemas)) {
      this.schemas[desc.typeName] = {}; // placeholder first: messages may be recursive
      this.schemas[desc.typeName] = this.messageSchema(desc);
    }
    return refTo(desc.typeName);
  }

  /** The schema of a message's JSON object without some of its top-level fields (proto names). */
  messageWithout(desc: DescMessage, omitted: readonly string[]): Schema {
    return this.messageSchema(desc, new Set(omitted));
  }

  enum(desc: DescEnum): Schema {
    if (desc.typeName === 'google.protobuf.NullValue') return { type: 'null' };
    if (!(desc.typeName in this.schemas)) {
      const { summary, description } = summaryAndDescription(this.comments.get(`enum ${desc.typeName}`));
      this.schemas[desc.typeName] = {
        type: 'string',
        enum: desc.values.map((v) => v.name),
        ...(summary || description ? { description: [summary, description].filter(Boolean).join('\n\n') } : {}),
      };
    }
    return refTo(desc.typeName);
  }

  /** A field's value: scalar, enum, message, list or map, with its openapiv2_field annotation. */
  field(field: DescField): Schema {
    let schema: Schema;
    switch (field.fieldKind) {
      case 'scalar':
        schema = scalarSchema(field.scalar);
        break;
      case 'enum':
        schema = this.enum(field.enum);
        break;
      case 'message':
        schema = this.message(field.message);
        break;
      case 'list':
        schema = {
          type: 'array',
          items: field.listKind === 'scalar' ? scalarSchema(field.scalar) : field.listKind === 'enum' ? this.enum(field.enum) : this.message(field.message),
        };
        break;
      case 'map':
        // JSON object keys are strings whatever the key type.
        schema = {
          type: 'object',
          additionalProperties: field.mapKind === 'scalar' ? scalarSchema(field.scalar) : field.mapKind === 'enum' ? this.enum(field.enum) : this.message(field.message),
        };
        break;
    }
    const comment = this.comments.get(`field ${field.parent.typeName}.${field.name}`);
    if (comment) schema.description = comment;
    if (field.oneof) {
      const others = field.oneof.fields.filter((f) => f !== field).map((f) => f.jsonName);
      if (others.length > 0) {
        const note = `Oneof \`${field.oneof.name}\`: at most one of this and ${others.map((n) => `\`${n}\``).join(', ')}.`;
        schema.description = schema.description ? `${schema.description}\n\n${note}` : note;
      }
    }
    if (field.deprecated) schema.deprecated = true;
    if (hasOption(field, openapiv2_field)) Object.assign(schema, annotated(getOption(field, openapiv2_field)));
    return schema;
  }

  private messageSchema(desc: DescMessage, omitted: ReadonlySet<string> = new Set()): Schema {
    const properties: Record<string, Schema> = {};
    for (const field of desc.fields) {
      if (!omitted.has(field.name)) properties[field.jsonName] = this.field(field);
    }
    const schema: Schema = { type: 'object', properties };
    const { summary, description } = summaryAndDescription(this.comments.get(`message ${desc.typeName}`));
    if (summary) schema.title = summary;
    if (description) schema.description = description;
    // protojson flattens a oneof's members into the object; at most one may be present.
    const oneofs = Object.fromEntries(desc.oneofs.map((o) => [o.name, o.fields.map((f) => f.jsonName).filter((n) => n in properties)]));
    if (desc.oneofs.length > 0) schema['x-oneof'] = oneofs;
    if (hasOption(desc, openapiv2_schema)) {
      const option = getOption(desc, openapiv2_schema);
      if (option.jsonSchema) {
        const { required, ...rest } = annotated(option.jsonSchema);
        Object.assign(schema, rest);
        if (Array.isArray(required)) {
          const names = required.map((n: string) => desc.fields.find((f) => f.name === n || f.jsonName === n)?.jsonName ?? n).filter((n: string) => n in properties);
          if (names.length > 0) schema.required = names;
        }
      }
      if (option.example) schema.example = parseExample(option.example);
    }
    return schema;
  }
}

/** The parts of a grpc-gateway JSONSchema annotation that JSON Schema says the same way (unset = zero value). */
function annotated(a: JSONSchema): Schema {
  const out: Schema = {};
  if (a.title) out.title = a.title;
  if (a.description) out.description = a.description;
  if (a.example) out.example = parseExample(a.example);
  if (a.default) out.default = parseExample(a.default);
  if (a.readOnly) out.readOnly = true;
  if (a.pattern) out.pattern = a.pattern;
  if (a.format) out.format = a.format;
  if (a.maxLength) out.maxLength = Number(a.maxLength);
  if (a.minLength) out.minLength = Number(a.minLength);
  if (a.maximum) out.maximum = a.maximum;
  if (a.minimum) out.minimum = a.minimum;
  if (a.maxItems) out.maxItems = Number(a.maxItems);
  if (a.minItems) out.minItems = Number(a.minItems);
  if (a.uniqueItems) out.uniqueItems = true;
  if (a.enum.length > 0) out.enum = a.enum;
  if (a.required.length > 0) out.required = a.required;
  return out;
}

/** Examples in the annotations are JSON text ("\"163840776835432705\""); a few are bare words. */
function parseExample(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}
