import { getOption, hasOption, type DescField, type DescFile, type DescMessage, type DescService } from '@bufbuild/protobuf';
import { openapiv2_operation, openapiv2_swagger } from '@zitadel/proto/protoc-gen-openapiv2/options/annotations_pb.js';
import { restRoutesOf, SERVED_SERVICES, type RestRoute } from '#api/transport';
import { protoCommentsOf, summaryAndDescription, type ProtoComments } from './proto-comments.js';
import { SchemaCollector, refTo, type Schema } from './schemas.js';

export type OpenApiDocument = {
  openapi: string;
  info: { title: string; version: string; description?: string };
  servers: { url: string }[];
  tags: { name: string; description?: string }[];
  paths: Record<string, Record<string, Operation>>;
  components: { schemas: Record<string, Schema>; securitySchemes: Record<string, Schema> };
};

export type Operation = {
  operationId: string;
  tags: string[];
  summary?: string;
  description?: string;
  deprecated?: boolean;
  parameters?: Schema[];
  requestBody?: Schema;
  responses: Record<string, Schema>;
  security: Record<string, string[]>[];
  'x-grpc-method': string;
};

export interface OpenApiOptions {
  /** Default: the services the gateway serves. */
  services?: readonly DescService[];
  /** Default: the comments shipped with @zitadel/proto. */
  comments?: ProtoComments;
  title?: string;
  version?: string;
}

/** The error body every route answers with on failure, as the REST gateway writes it. */
export const STATUS_SCHEMA = 'google.rpc.Status';
export const BEARER_AUTH = 'bearerAuth';

const HTTP_METHODS = new Set(['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace']);

/** Well-known types the gateway accepts as one query parameter (see the gateway's paramJson). */
const PARAM_MESSAGES = new Set([
  'google.protobuf.Timestamp',
  'google.protobuf.Duration',
  'google.protobuf.FieldMask',
  'google.protobuf.StringValue',
  'google.protobuf.BytesValue',
  'google.protobuf.BoolValue',
  'google.protobuf.Int64Value',
  'google.protobuf.UInt64Value',
  'google.protobuf.Int32Value',
  'google.protobuf.UInt32Value',
  'google.protobuf.FloatValue',
  'google.protobuf.DoubleValue',
]);

/** Nested messages are offered as `a.b.c` query parameters down to this depth. */
const MAX_QUERY_DEPTH = 3;

/**
 * The OpenAPI 3.1 document of the REST API, built from the same descriptors and the same route
 * derivation (restRoutesOf) as the gateway that serves it, so the two cannot drift apart.
 * Schemas follow the proto3 JSON mapping the gateway speaks (JSON names, 64-bit integers as
 * strings, enums by name, well-known types in their JSON forms); summaries, descriptions,
 * examples and documented responses come from the protoc-gen-openapiv2 annotations in the
 * descriptors, falling back to the proto comments where the annotations say nothing.
 */
export function buildOpenApiDocument(options: OpenApiOptions = {}): OpenApiDocument {
  const services = options.services ?? SERVED_SERVICES;
  const comments = options.comments ?? protoCommentsOf(filesOf(services));
  const schemas = new SchemaCollector(comments);
  const paths: OpenApiDocument['paths'] = {};
  const bindings = new Map<string, number>();

  for (const route of restRoutesOf(services)) {
    const verb = route.verb.toLowerCase();
    if (!HTTP_METHODS.has(verb)) continue;
    const path = openApiPath(route);
    const key = `${route.service.typeName}.${route.method.name}`;
    const n = (bindings.get(key) ?? 0) + 1;
    bindings.set(key, n);
    // The gateway tries the most recently registered pattern first: a later duplicate wins.
    (paths[path] ??= {})[verb] = operationOf(route, n, schemas, comments);
  }

  return {
    openapi: '3.1.0',
    info: {
      title: options.title ?? 'Identity service API',
      version: options.version ?? '2',
      description:
        'The REST mapping (grpc-gateway) of the ZITADEL v2 services this server implements. The same methods answer gRPC, ' +
        'Connect and gRPC-Web on the same port. Every call needs `Authorization: Bearer <token>`.',
    },
    servers: [{ url: '/' }],
    tags: services.map((s) => ({ name: s.name, ...tagDescription(s, comments) })),
    paths,
    components: {
      schemas: { ...schemas.schemas, ...errorSchemas() },
      securitySchemes: {
        [BEARER_AUTH]: {
          type: 'http',
          scheme: 'bearer',
          description: 'A personal access token (or access token) of a user or machine user, as `Authorization: Bearer <token>`.',
        },
      },
    },
  };
}

/** `/v2/users/{user_id}` → `/v2/users/{userId}`: each variable once, named by its JSON field path. */
export function openApiPath(route: RestRoute): string {
  const names = route.pathFields.map((path) => jsonPath(route.method.input, path));
  const parts: string[] = [];
  const emitted = new Set<number>();
  for (const segment of route.segments) {
    if (segment.capture !== undefined) {
      if (!emitted.has(segment.capture)) parts.push(`{${names[segment.capture]}}`);
      emitted.add(segment.capture);
    } else parts.push(segment.kind === 'literal' ? segment.value : segment.kind === 'one' ? '*' : '**');
  }
  return `/${parts.join('/')}${route.verbSuffix !== undefined ? `:${route.verbSuffix}` : ''}`;
}

function operationOf(route: RestRoute, binding: number, schemas: SchemaCollector, comments: ProtoComments): Operation {
  const { method, service } = route;
  const annotation = hasOption(method, openapiv2_operation) ? getOption(method, openapiv2_operation) : undefined;
  const fromComment = summaryAndDescription(comments.get(`rpc ${service.typeName}.${method.name}`));
  const summary = annotation?.summary || fromComment.summary;
  const description = annotation?.description || fromComment.description;

  const parameters: Schema[] = route.pathFields.map((path) => {
    const fields = fieldsAlong(route.method.input, path);
    return { name: fields.map((f) => f.jsonName).join('.'), in: 'path', required: true, schema: plain(schemas.field(fields.at(-1)!)) };
  });
  if (route.body !== '*') parameters.push(...queryParameters(route, schemas));

  const operation: Operation = {
    operationId: operationIdOf(service, method, binding),
    tags: annotation?.tags.length ? annotation.tags : [service.name],
    ...(summary ? { summary } : {}),
    ...(description ? { description } : {}),
    ...(annotation?.deprecated || method.deprecated ? { deprecated: true } : {}),
    ...(parameters.length > 0 ? { parameters } : {}),
    responses: responsesOf(route, schemas),
    security: [{ [BEARER_AUTH]: [] }],
    'x-grpc-method': `${service.typeName}/${method.name}`,
  };
  const body = requestBodyOf(route, schemas);
  if (body) operation.requestBody = body;
  return operation;
}

/** body "*": the request without the fields the path sets; body "<field>": that field; "": none. */
function requestBodyOf(route: RestRoute, schemas: SchemaCollector): Schema | undefined {
  if (route.body === '') return undefined;
  let schema: Schema;
  if (route.body === '*') {
    const inPath = route.pathFields.filter((p) => p.length === 1).map((p) => p[0]!);
    schema = inPath.length === 0 ? schemas.message(route.method.input) : schemas.messageWithout(route.method.input, inPath);
  } else {
    const field = route.method.input.fields.find((f) => f.name === route.body);
    if (!field) return undefined;
    schema = schemas.field(field);
  }
  return { required: true, content: { 'application/json': { schema } } };
}

/**
 * The fields the gateway fills from the query string when the body is not the whole request:
 * scalars, enums, their lists and the well-known scalar-like messages, by JSON name; nested
 * messages as dotted paths. Maps are refused by the gateway and left out.
 */
function queryParameters(route: RestRoute, schemas: SchemaCollector): Schema[] {
  const excluded = [...route.pathFields, ...(route.body ? [[route.body]] : [])];
  const params: Schema[] = [];
  const walk = (message: DescMessage, prefix: DescField[], seen: Set<string>) => {
    for (const field of message.fields) {
      const path = [...prefix, field];
      const names = path.map((f) => f.name);
      // The gateway's own filter: a parameter on (or above, or below) a path-bound field is ignored.
      if (excluded.some((p) => p.every((n, i) => names[i] === undefined || names[i] === n))) continue;
      const name = path.map((f) => f.jsonName).join('.');
      const kind = field.fieldKind === 'list' ? field.listKind : field.fieldKind;
      if (field.fieldKind === 'map') continue;
      if (kind === 'message') {
        const sub = field.message!;
        if (PARAM_MESSAGES.has(sub.typeName)) params.push(queryParameter(name, schemas.field(field)));
        else if (field.fieldKind === 'message' && path.length < MAX_QUERY_DEPTH && !seen.has(sub.typeName)) {
          walk(sub, path, new Set([...seen, sub.typeName]));
        }
        continue;
      }
      params.push(queryParameter(name, schemas.field(field)));
    }
  };
  walk(route.method.input, [], new Set([route.method.input.typeName]));
  return params;
}

function queryParameter(name: string, schema: Schema): Schema {
  const { description, ...rest } = schema;
  return { name, in: 'query', required: false, ...(description ? { description } : {}), schema: rest };
}

function responsesOf(route: RestRoute, schemas: SchemaCollector): Record<string, Schema> {
  const { method } = route;
  const documented: Record<string, string> = {};
  // File-wide responses first (400/401/403), then the method's own.
  const file = method.parent.file;
  if (hasOption(file, openapiv2_swagger)) {
    for (const [code, r] of Object.entries(getOption(file, openapiv2_swagger).responses)) documented[code] = r.description;
  }
  if (hasOption(method, openapiv2_operation)) {
    for (const [code, r] of Object.entries(getOption(method, openapiv2_operation).responses)) documented[code] = r.description;
  }
  let success: Schema;
  if (route.responseBody) {
    const field = method.output.fields.find((f) => f.name === route.responseBody);
    success = field ? schemas.field(field) : {};
  } else success = schemas.message(method.output);

  const success_ = String(route.successCode);
  const responses: Record<string, Schema> = {
    [success_]: { description: documented[success_] || 'A successful response.', content: { 'application/json': { schema: success } } },
  };
  const error = { content: { 'application/json': { schema: refTo(STATUS_SCHEMA) } } };
  for (const [code, text] of Object.entries(documented)) {
    if (code === success_ || !/^[45]\d\d$/.test(code)) continue;
    responses[code] = { description: text || 'An error.', ...error };
  }
  responses.default = { description: 'An error: the gRPC status code, its message, and the error details.', ...error };
  return responses;
}

/** The error body: google.rpc.Status with ZITADEL's ErrorDetail (`id` is the error's stable identifier). */
function errorSchemas(): Record<string, Schema> {
  return {
    [STATUS_SCHEMA]: {
      type: 'object',
      required: ['code', 'message', 'details'],
      properties: {
        code: { type: 'integer', format: 'int32', description: 'The gRPC status code (5 NotFound, 16 Unauthenticated, ...).' },
        message: { type: 'string' },
        details: { type: 'array', items: refTo('zitadel.v1.ErrorDetail') },
      },
      example: {
        code: 5,
        message: 'User could not be found (QUERY-Dfbg2)',
        details: [{ '@type': 'type.googleapis.com/zitadel.v1.ErrorDetail', id: 'QUERY-Dfbg2', message: 'User could not be found' }],
      },
    },
    'zitadel.v1.ErrorDetail': {
      type: 'object',
      required: ['@type'],
      properties: {
        '@type': { type: 'string', example: 'type.googleapis.com/zitadel.v1.ErrorDetail' },
        id: { type: 'string' },
        message: { type: 'string' },
      },
      additionalProperties: true,
    },
  };
}

function tagDescription(service: DescService, comments: ProtoComments): { description?: string } {
  const comment = comments.get(`service ${service.typeName}`);
  if (comment) return { description: comment };
  if (hasOption(service.file, openapiv2_swagger)) {
    const info = getOption(service.file, openapiv2_swagger).info;
    if (info?.description) return { description: info.description };
  }
  return {};
}

/** A field's schema as a parameter: its value only (no oneof note, no deprecated flag). */
function plain(schema: Schema): Schema {
  const { deprecated: _deprecated, ...rest } = schema;
  return rest;
}

function fieldsAlong(message: DescMessage, path: string[]): DescField[] {
  const fields: DescField[] = [];
  let current: DescMessage | undefined = message;
  for (const name of path) {
    const field: DescField | undefined = current?.fields.find((f) => f.name === name);
    if (!field) throw new Error(`no field ${path.join('.')} in ${message.typeName}`);
    fields.push(field);
    current = field.message;
  }
  return fields;
}

function jsonPath(message: DescMessage, path: string[]): string {
  return fieldsAlong(message, path)
    .map((f) => f.jsonName)
    .join('.');
}

function filesOf(services: readonly DescService[]): DescFile[] {
  const all = new Set<DescFile>();
  const visit = (f: DescFile) => {
    if (all.has(f)) return;
    all.add(f);
    f.dependencies.forEach(visit);
  };
  services.forEach((s) => visit(s.file));
  return [...all];
}

/**
 * Unique in the document: v2 and v2beta serve services of the same name, so any version but v2
 * (the package's last part) is added to the id; a further binding of a method gets its number.
 */
export function operationIdOf(service: { name: string; typeName: string }, method: { name: string }, binding = 1): string {
  const version = service.typeName.split('.').at(-2);
  return `${service.name}_${method.name}${version && version !== 'v2' ? `_${version}` : ''}${binding > 1 ? binding : ''}`;
}
