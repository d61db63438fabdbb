import {
  create,
  createRegistry,
  fromBinary,
  fromJson,
  getOption,
  hasOption,
  ScalarType,
  toJson,
  type DescField,
  type DescFile,
  type DescMessage,
  type DescMethod,
  type DescService,
  type JsonObject,
  type JsonValue,
  type MessageInitShape,
  type Registry,
} from '@bufbuild/protobuf';
import { Code, ConnectError, type ContextValues } from '@connectrpc/connect';
import type { ConnectNodeAdapterOptions } from '@connectrpc/connect-node';
import { http } from '@zitadel/proto/google/api/annotations_pb.js';
import type { HttpRule } from '@zitadel/proto/google/api/http_pb.js';
import { file_zitadel_message } from '@zitadel/proto/zitadel/message_pb.js';
import { options as zitadelOptions } from '@zitadel/proto/zitadel/protoc_gen_zitadel/v2/options_pb.js';
import type { Logger } from '#logging';
import { clientAddressKey, GATEWAY_CLIENT_ADDRESS_HEADER } from './caller-context.js';
import { responseSignal } from './response-signal.js';
import { directUnaryCalls } from './direct-calls.js';
import { jsonTooDeep, MAX_JSON_DEPTH } from './json-depth.js';
import type { Routes } from './routes.js';
import { errorHeaders, httpStatusOfCode, statusBody, type ErrorBodyDetail } from '#errors';

/** Largest REST request body accepted; more is 413 with code 8 (ResourceExhausted). */
export const REST_MAX_BODY_BYTES = 1024 * 1024;

/**
 * One REST route, derived from a method's `google.api.http` option (or one of its
 * additional_bindings) and ZITADEL's `zitadel.protoc_gen_zitadel.v2.options` (http_response.success_code).
 */
export interface RestRoute {
  verb: string;
  template: string;
  service: DescService;
  method: DescMethod & { methodKind: 'unary' };
  /** "*" (the whole request), a field name, or "" (no body: query parameters fill the request). */
  body: string;
  responseBody: string;
  successCode: number;
  segments: Segment[];
  verbSuffix: string | undefined;
  /** Field paths (proto names) bound by the path: query parameters cannot set them. */
  pathFields: string[][];
  /** What a path must have to be worth matching (rejectsAtOnce). */
  shape: RouteShape;
}

/**
 * The cheap part of a match: the number of path components (when no segment takes the rest)
 * and the literal components up to the first `**`. Every request is matched twice (the front
 * gate, the gateway) against the routes RouteIndex leaves: a route that fails here fails
 * before the match allocates anything.
 */
interface RouteShape {
  components: number | undefined;
  literals: Array<[index: number, value: string]>;
  verbSuffix: string | undefined;
}

type Segment = { kind: 'literal'; value: string; capture?: number } | { kind: 'one'; capture?: number } | { kind: 'rest'; capture?: number };

/** Reads every unary method's HTTP rule(s). Nothing about a route is written by hand. */
export function restRoutesOf(services: readonly DescService[]): RestRoute[] {
  const routes: RestRoute[] = [];
  for (const service of services) {
    for (const method of service.methods) {
      if (method.methodKind !== 'unary' || !hasOption(method, http)) continue;
      const rule = getOption(method, http);
      const custom = hasOption(method, zitadelOptions) ? getOption(method, zitadelOptions) : undefined;
      const successCode = custom?.httpResponse?.successCode || 200;
      for (const r of [rule, ...rule.additionalBindings]) {
        const route = routeOf(service, method as RestRoute['method'], r, successCode);
        if (route) routes.push(route);
      }
    }
  }
  return routes;
}

function routeOf(service: DescService, method: RestRoute['method'], rule: HttpRule, successCode: number): RestRoute | undefined {
  const p = rule.pattern;
  let verb: string;
  let template: string;
  switch (p.case) {
    case 'get':
    case 'put':
    case 'post':
    case 'delete':
    case 'patch':
      verb = p.case.toUpperCase();
      template = p.value;
      break;
    case 'custom':
      verb = p.value.kind.toUpperCase();
      template = p.value.path;
      break;
    default:
      return undefined;
  }
  const { segments, verbSuffix, variables } = parseTemplate(template);
  for (const path of variables) resolveFieldPath(method.input, path, false); // fails loudly at start-up on a bad template
  return {
    verb,
    template,
    service,
    method,
    body: rule.body,
    responseBody: rule.responseBody,
    successCode,
    segments,
    verbSuffix,
    pathFields: variables,
    shape: shapeOf(segments, verbSuffix),
  };
}

function shapeOf(segments: Segment[], verbSuffix: string | undefined): RouteShape {
  const rest = segments.findIndex((seg) => seg.kind === 'rest');
  const fixed = rest < 0 ? segments.length : rest;
  const literals: RouteShape['literals'] = [];
  for (let i = 0; i < fixed; i++) {
    const seg = segments[i]!;
    if (seg.kind === 'literal') literals.push([i, seg.value]);
  }
  return { components: rest < 0 ? segments.length : undefined, literals, verbSuffix };
}

function rejectsAtOnce({ shape }: Pick<RestRoute, 'shape'>, components: string[]): boolean {
  if (shape.components !== undefined && components.length !== shape.components) return true;
  const last = components.length - 1;
  for (const [index, value] of shape.literals) {
    const component = components[index];
    if (component === value) continue;
    // The path's last component carries the `:verb` (a `**` before it may have taken nothing).
    if (shape.verbSuffix !== undefined && index === last && component === `${value}:${shape.verbSuffix}`) continue;
    return true;
  }
  return false;
}

/**
 * google.api.http path templates: `/v2/users/{user_id}`, `{field.sub}`, `{name=projects/*}`,
 * `{name=**}`, `*`, `**`, and an optional `:verb`.
 */
function parseTemplate(template: string): { segments: Segment[]; verbSuffix: string | undefined; variables: string[][] } {
  if (!template.startsWith('/')) throw new Error(`path template must start with "/": ${template}`);
  let body = template.slice(1);
  let verbSuffix: string | undefined;
  const lastSlash = body.lastIndexOf('/');
  const lastColon = body.lastIndexOf(':');
  if (lastColon > lastSlash && body.lastIndexOf('}') < lastColon) {
    verbSuffix = body.slice(lastColon + 1);
    body = body.slice(0, lastColon);
  }
  const segments: Segment[] = [];
  const variables: string[][] = [];
  let i = 0;
  const parseSegments = (capture: number | undefined, stop: string | undefined) => {
    for (;;) {
      if (body[i] === '{') {
        if (capture !== undefined) throw new Error(`nested variable in ${template}`);
        const end = body.indexOf('}', i);
        const inner = body.slice(i + 1, end);
        const eq = inner.indexOf('=');
        const fieldPath = (eq < 0 ? inner : inner.slice(0, eq)).split('.');
        variables.push(fieldPath);
        const index = variables.length - 1;
        if (eq < 0) segments.push({ kind: 'one', capture: index });
        else {
          const saved = body;
          const savedI = i;
          body = inner.slice(eq + 1);
          i = 0;
          parseSegments(index, undefined);
          body = saved;
          i = savedI;
        }
        i = end + 1;
      } else {
        let end = body.indexOf('/', i);
        if (end < 0) end = body.length;
        const seg = body.slice(i, end);
        if (seg === '*') segments.push({ kind: 'one', capture });
        else if (seg === '**') segments.push({ kind: 'rest', capture });
        else segments.push({ kind: 'literal', value: seg, capture });
        i = end;
      }
      if (i >= body.length || body[i] === stop) return;
      if (body[i] !== '/') throw new Error(`bad path template ${template}`);
      i++;
    }
  };
  parseSegments(undefined, undefined);
  return { segments, verbSuffix, variables };
}

/**
 * The routes a path can match, in the order given. A path is matched against every route twice
 * (the front gate, the gateway), and most routes are not worth trying: 43 of the 92 served have
 * four components, all `/v2/users/{…}/<literal>`. Routes of fixed length that end in a literal
 * (no `:verb`) are indexed by their length and that literal; a path is tried against the routes
 * of its own length and last component, the routes of its length that end otherwise, and the
 * `**` routes, in the routes' order. Only the routes' own keys are kept: garbage paths add none.
 */
export class RouteIndex<R extends Pick<RestRoute, 'segments' | 'verbSuffix' | 'shape'>> {
  private readonly byLengthAndLast = new Map<string, readonly R[]>();
  /** By path length: the routes to try when the last component names no indexed route. */
  private readonly byLength: ReadonlyArray<readonly R[]>;
  /** The `**` routes: the only ones a path longer than every fixed route can match. */
  private readonly anyLength: readonly R[];

  constructor(routes: readonly R[]) {
    const lastLiteral = (route: R) => {
      const last = route.segments[route.segments.length - 1];
      return route.shape.components !== undefined && route.verbSuffix === undefined && last?.kind === 'literal' ? last.value : undefined;
    };
    const anyLength = (route: R) => route.shape.components === undefined;
    this.anyLength = routes.filter(anyLength);
    const longest = Math.max(0, ...routes.map((route) => route.shape.components ?? 0));
    const byLength: R[][] = [];
    for (let length = 0; length <= longest; length++) {
      byLength.push(routes.filter((route) => anyLength(route) || (route.shape.components === length && lastLiteral(route) === undefined)));
    }
    this.byLength = byLength;
    for (const route of routes) {
      const literal = lastLiteral(route);
      const length = route.shape.components!;
      if (literal === undefined || this.byLengthAndLast.has(`${length}/${literal}`)) continue;
      this.byLengthAndLast.set(
        `${length}/${literal}`,
        routes.filter((r) => anyLength(r) || (r.shape.components === length && (lastLiteral(r) ?? literal) === literal)),
      );
    }
  }

  /** The routes worth matching against a path's components, in the routes' order. */
  candidates(components: readonly string[]): readonly R[] {
    const length = components.length;
    if (length >= this.byLength.length) return this.anyLength;
    return this.byLengthAndLast.get(`${length}/${components[length - 1]}`) ?? this.byLength[length]!;
  }
}

/** A path template as a route without a method behind it (for specs). */
export function templateRoute(template: string): Pick<RestRoute, 'template' | 'segments' | 'verbSuffix' | 'pathFields' | 'shape'> {
  const { segments, verbSuffix, variables } = parseTemplate(template);
  return { template, segments, verbSuffix, pathFields: variables, shape: shapeOf(segments, verbSuffix) };
}

/** One path template matched against a path's components, without a method behind it (for specs). */
export function matchPathTemplate(template: string, components: string[]): string[] | undefined {
  return matchRoute(templateRoute(template), components);
}

/** Matches path components against a route; returns the captured values by variable index. */
function matchRoute(route: Pick<RestRoute, 'segments' | 'verbSuffix' | 'pathFields' | 'shape'>, components: string[]): string[] | undefined {
  if (rejectsAtOnce(route, components)) return undefined;
  let comps = components;
  if (route.verbSuffix !== undefined) {
    const last = comps[comps.length - 1] ?? '';
    if (!last.endsWith(`:${route.verbSuffix}`) || last.length === route.verbSuffix.length + 1) return undefined;
    comps = [...comps.slice(0, -1), last.slice(0, -route.verbSuffix.length - 1)];
  }
  const captured: string[][] = route.pathFields.map(() => []);
  let c = 0;
  for (let s = 0; s < route.segments.length; s++) {
    const seg = route.segments[s]!;
    let taken: string[];
    if (seg.kind === 'rest') {
      const after = route.segments.length - s - 1;
      const n = comps.length - c - after;
      if (n < 0) return undefined;
      taken = comps.slice(c, c + n);
    } else {
      if (c >= comps.length) return undefined;
      if (seg.kind === 'literal' && comps[c] !== seg.value) return undefined;
      taken = [comps[c]!];
    }
    c += taken.length;
    if (seg.capture !== undefined) captured[seg.capture]!.push(...taken);
  }
  if (c !== comps.length) return undefined;
  return captured.map((parts) => parts.join('/'));
}

// ---------------------------------------------------------------------------------------

export interface RestGatewayOptions {
  routes: Routes;
  services: readonly DescService[];
  logger: Logger;
  maxBodyBytes?: number;
  /** Context values of the request for the in-process call (the Caller the front gate found). */
  contextValues?: (req: Req) => ContextValues;
}

/** Node's request and response, over HTTP/1.1 (Express) or HTTP/2 (the h2c side). */
type NodeHandler = NonNullable<ConnectNodeAdapterOptions['fallback']>;
export type Req = Parameters<NodeHandler>[0];
export type Res = Parameters<NodeHandler>[1];
export type NodeMiddleware = (req: Req, res: Res, next: (err?: unknown) => void) => void;

/**
 * REST in the grpc-gateway mapping, as ZITADEL serves it. It owns the paths under the first
 * literal segment of its templates (`/v2/...`) and hands everything else to `next`. A request
 * becomes the method's request message (body → query parameters → path parameters, by proto
 * field name; unknown JSON fields ignored, as ZITADEL's gateway runs protojson with
 * DiscardUnknown), and is then called through the SAME connect routes in process (their
 * implementations and interceptors, without encoding the messages: direct-calls.ts), so
 * authentication, validation and error conversion are those of every other protocol.
 */
export function createRestGateway(options: RestGatewayOptions): NodeMiddleware {
  const routes = restRoutesOf(options.services);
  // grpc-gateway's mux tries the most recently registered pattern first.
  const index = new RouteIndex([...routes].reverse());
  const prefixes = new Set(prefixesOf(routes));
  const call = directUnaryCalls(options.routes);
  const registry = registryOf([...options.services.map((s) => s.file), file_zitadel_message]);
  const maxBody = options.maxBodyBytes ?? REST_MAX_BODY_BYTES;
  const logger = options.logger;

  return (req, res, next) => {
    const url = new URL(req.url ?? '/', 'http://gateway');
    let path: string;
    try {
      path = decodeURIComponent(url.pathname);
    } catch {
      path = url.pathname;
    }
    if (![...prefixes].some((p) => p === '/' || path.startsWith(p))) {
      next();
      return;
    }
    const components = path.slice(1).split('/');
    let found: { route: RestRoute; values: string[] } | undefined;
    let otherVerb = false;
    for (const route of index.candidates(components)) {
      const values = matchRoute(route, components);
      if (!values) continue;
      if (route.verb === req.method) {
        found = { route, values };
        break;
      }
      otherVerb = true;
    }
    if (!found) {
      drain(req);
      if (otherVerb) writeStatus(res, 405, Code.Unimplemented, 'Method Not Allowed');
      else writeStatus(res, 404, Code.NotFound, 'Not Found');
      return;
    }
    serve(found.route, found.values, url.searchParams, req, res).catch((err: unknown) => {
      // A client that goes away mid-body is not the gateway's failure.
      if (req.destroyed || (err as NodeJS.ErrnoException)?.code === 'ECONNRESET' || (err as Error)?.message === 'aborted') {
        logger.debug({ path: url.pathname, reason: (err as Error)?.message }, 'REST request aborted by the client');
        return;
      }
      // Only a bug in the gateway itself can get here.
      logger.error({ err, path: url.pathname }, 'REST gateway failed');
      if (!res.headersSent) writeStatus(res, 500, Code.Internal, 'Internal error');
      else res.end();
    });
  };

  async function serve(route: RestRoute, pathValues: string[], query: URLSearchParams, req: Req, res: Res) {
    const declared = Number(req.headers['content-length']);
    if (Number.isFinite(declared) && declared > maxBody) return tooLarge(req, res, maxBody);
    const raw = await readBody(req, maxBody);
    if (raw === undefined) return tooLarge(req, res, maxBody);

    let request;
    try {
      request = fromJson(route.method.input, buildRequestJson(route, raw, pathValues, query), { ignoreUnknownFields: true, registry });
    } catch (err) {
      return writeStatus(res, 400, Code.InvalidArgument, clientErrorMessage(err));
    }

    try {
      const values = options.contextValues?.(req);
      const headers = forwardedHeaders(req);
      // Set here whatever the request said: only the gateway speaks for the client's address.
      headers.delete(GATEWAY_CLIENT_ADDRESS_HEADER);
      const address = values?.get(clientAddressKey);
      if (address) headers.set(GATEWAY_CLIENT_ADDRESS_HEADER, address);
      const response = await call(route.method, request, {
        header: headers,
        signal: responseSignal(res),
        url: `/${route.service.typeName}/${route.method.name}`,
        ...(values ? { contextValues: values } : {}),
      });
      let json: JsonValue = toJson(route.method.output, response, { registry });
      if (route.responseBody) {
        const field = route.method.output.fields.find((f) => f.name === route.responseBody);
        json = (field && (json as JsonObject)[field.jsonName]) ?? null;
      }
      writeJson(res, route.successCode, json);
    } catch (err) {
      const ce = ConnectError.from(err);
      writeError(res, ce, registry);
    }
  }
}

/** The first literal segment of each route's template, e.g. `/v2/` ("/" for a template starting with a variable). */
function prefixesOf(routes: readonly RestRoute[]): string[] {
  return [...new Set(routes.map((r) => (r.segments[0]?.kind === 'literal' ? `/${r.segments[0].value}/` : '/')))];
}

/** Whether a URL path is one of these services' REST routes (any verb), decoded as the gateway decodes it. */
export function restPathMatcher(services: readonly DescService[]): (url: string) => boolean {
  const index = new RouteIndex(restRoutesOf(services));
  return (url) => {
    const pathname = new URL(url, 'http://gateway').pathname;
    let path: string;
    try {
      path = decodeURIComponent(pathname);
    } catch {
      path = pathname;
    }
    const components = path.slice(1).split('/');
    return index.candidates(components).some((route) => matchRoute(route, components) !== undefined);
  };
}

/**
 * The request as protojson: the body (all of it, one field of it, or nothing), then query
 * parameters (only when the body is not "*"), then path parameters, which win.
 */
function buildRequestJson(route: RestRoute, raw: Buffer, pathValues: string[], query: URLSearchParams): JsonValue {
  const input = route.method.input;
  let json: JsonObject = {};
  if (route.body !== '' && raw.length > 0) {
    const parsed = parseJson(raw);
    if (route.body === '*') {
      if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
        throw new BadRequest(`cannot decode message ${input.typeName} from JSON: the body must be an object`);
      }
      json = parsed;
    } else {
      const field = input.fields.find((f) => f.name === route.body);
      if (!field) throw new Error(`body field ${route.body} not in ${input.typeName}`);
      json = { [field.jsonName]: parsed };
    }
  }
  if (route.body !== '*') {
    const filtered = [...route.pathFields, ...(route.body ? [[route.body]] : [])];
    const byKey = new Map<string, string[]>();
    for (const [key, value] of query) byKey.set(key, [...(byKey.get(key) ?? []), value]);
    for (const [key, values] of byKey) {
      const fields = resolveFieldPath(input, key.split('.'), true);
      if (!fields) continue; // unknown query parameters are ignored, as grpc-gateway does
      const names = fields.map((f) => f.name);
      if (filtered.some((p) => p.every((n, i) => names[i] === undefined || names[i] === n))) continue;
      setJsonPath(json, fields, values);
    }
  }
  route.pathFields.forEach((path, i) => {
    const fields = resolveFieldPath(input, path, false)!;
    setJsonPath(json, fields, [pathValues[i]!]);
  });
  return json;
}

class BadRequest extends Error {}

function parseJson(raw: Buffer): JsonValue {
  if (jsonTooDeep(raw, MAX_JSON_DEPTH)) throw new BadRequest(`invalid JSON: nested deeper than ${MAX_JSON_DEPTH} levels`);
  try {
    return JSON.parse(raw.toString('utf8')) as JsonValue;
  } catch (err) {
    throw new BadRequest(`invalid JSON: ${(err as Error).message}`);
  }
}

/** Fields along a dotted path, by proto name (and, for query parameters, also by JSON name). */
function resolveFieldPath(msg: DescMessage, path: string[], lenient: boolean): DescField[] | undefined {
  const fields: DescField[] = [];
  let current: DescMessage | undefined = msg;
  for (const [i, name] of path.entries()) {
    const field: DescField | undefined = current?.fields.find((f) => f.name === name || (lenient && f.jsonName === name));
    if (!field) {
      if (lenient) return undefined;
      throw new Error(`no field ${path.join('.')} in ${msg.typeName}`);
    }
    fields.push(field);
    const last = i === path.length - 1;
    if (!last) {
      if (field.fieldKind !== 'message') {
        if (lenient) return undefined;
        throw new Error(`${path.join('.')} in ${msg.typeName}: ${name} is not a message`);
      }
      current = field.message;
    }
  }
  return fields;
}

/** Sets a (nested) field in the protojson object from its string value(s), by the field's JSON name. */
function setJsonPath(json: JsonObject, fields: DescField[], values: string[]): void {
  let obj = json;
  for (const [i, field] of fields.entries()) {
    // The body may have used the proto name; path and query values replace it.
    const existing = obj[field.jsonName] ?? obj[field.name];
    if (field.name !== field.jsonName) delete obj[field.name];
    if (i < fields.length - 1) {
      const child: JsonObject = existing !== null && typeof existing === 'object' && !Array.isArray(existing) ? existing : {};
      obj[field.jsonName] = child;
      obj = child;
      continue;
    }
    if (field.fieldKind === 'list') {
      obj[field.jsonName] = values.map((v) => paramJson(field, v));
    } else if (field.fieldKind === 'map') {
      throw new BadRequest(`unsupported map field ${field.name} in a query parameter`);
    } else {
      if (values.length !== 1) throw new BadRequest(`too many values for field ${JSON.stringify(field.name)}: ${values.join(', ')}`);
      obj[field.jsonName] = paramJson(field, values[0]!);
    }
  }
}

/** A path or query parameter's string as the protojson value of its field. */
function paramJson(field: DescField, value: string): JsonValue {
  const kind = field.fieldKind === 'list' ? field.listKind : field.fieldKind;
  if (kind === 'enum') return /^-?\d+$/.test(value) ? Number(value) : value;
  if (kind === 'message') {
    const message = field.fieldKind === 'list' || field.fieldKind === 'message' ? field.message : undefined;
    switch (message?.typeName) {
      case 'google.protobuf.Timestamp':
      case 'google.protobuf.Duration':
      case 'google.protobuf.FieldMask':
      case 'google.protobuf.StringValue':
      case 'google.protobuf.BytesValue':
      case 'google.protobuf.Int64Value':
      case 'google.protobuf.UInt64Value':
      case 'google.protobuf.Int32Value':
      case 'google.protobuf.UInt32Value':
      case 'google.protobuf.FloatValue':
      case 'google.protobuf.DoubleValue':
        return value;
      case 'google.protobuf.BoolValue':
        return parseBool(value, field);
      default:
        throw new BadRequest(`unsupported message type in a parameter: ${field.name}`);
    }
  }
  const scalar = field.fieldKind === 'list' ? field.scalar : field.fieldKind === 'scalar' ? field.scalar : undefined;
  if (scalar === ScalarType.BOOL) return parseBool(value, field);
  return value; // strings, bytes (base64) and numbers: protojson reads them from strings
}

/** Go's strconv.ParseBool, which grpc-gateway uses for parameters. */
function parseBool(value: string, field: DescField): boolean {
  if (['1', 't', 'T', 'TRUE', 'true', 'True'].includes(value)) return true;
  if (['0', 'f', 'F', 'FALSE', 'false', 'False'].includes(value)) return false;
  throw new BadRequest(`invalid value for field ${field.name}: ${JSON.stringify(value)} is not a bool`);
}

/** The message of a client-side decoding error; never a stack. */
function clientErrorMessage(err: unknown): string {
  if (err instanceof BadRequest) return err.message;
  if (err instanceof Error) return err.message;
  return 'invalid request';
}

/**
 * Headers the in-process call carries, following grpc-gateway's incoming header matcher as
 * ZITADEL configures it: Authorization; `x-zitadel-*` as they are; `Grpc-Metadata-*` without
 * the prefix; a few permanent HTTP headers as `grpcgateway-*`; and the forwarding headers.
 * Also (our addition) `x-correlation-id`, which the service implementations log.
 */
function forwardedHeaders(req: Req): Headers {
  const out = new Headers();
  for (const [name, value] of Object.entries(req.headers)) {
    if (value === undefined || name.startsWith(':')) continue;
    const v = Array.isArray(value) ? value.join(', ') : value;
    const n = name.toLowerCase();
    if (n === 'authorization' || n.startsWith('x-zitadel-') || n === 'x-correlation-id') out.set(n, v);
    else if (n.startsWith('grpc-metadata-')) out.set(n.slice('grpc-metadata-'.length), v);
    else if (n === 'accept-language' || n === 'user-agent' || n === 'origin' || n === 'referer') out.set(`grpcgateway-${n}`, v);
  }
  const host = req.headers.host ?? (req.headers as Record<string, string | string[] | undefined>)[':authority'];
  if (typeof host === 'string') out.set('x-forwarded-host', host);
  const remote = req.socket.remoteAddress;
  if (remote) {
    const prior = req.headers['x-forwarded-for'];
    out.set('x-forwarded-for', prior ? `${Array.isArray(prior) ? prior.join(', ') : prior}, ${remote}` : remote);
  }
  return out;
}

/** The body, or undefined when it exceeds max bytes. */
function readBody(req: Req, max: number): Promise<Buffer | undefined> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let over = false;
    req.on('data', (chunk: Buffer) => {
      if (over) return;
      size += chunk.length;
      if (size > max) {
        over = true;
        chunks.length = 0;
        resolve(undefined);
        return;
      }
      chunks.push(chunk);
    });
    req.once('end', () => {
      if (!over) resolve(Buffer.concat(chunks));
    });
    req.once('error', reject);
  });
}

function drain(req: Req) {
  req.resume();
}

function tooLarge(req: Req, res: Res, max: number) {
  // Answer, drop the rest of the body, and (HTTP/1.1) close the connection.
  if (req.httpVersionMajor < 2) res.setHeader('connection', 'close');
  writeStatus(res, 413, Code.ResourceExhausted, `request body larger than ${max} bytes`);
  req.resume();
}

// ---------------------------------------------------------------------------------------
// Responses

function writeJson(res: Res, status: number, body: JsonValue) {
  const text = JSON.stringify(body);
  res.statusCode = status;
  res.setHeader('content-type', 'application/json');
  res.setHeader('content-length', Buffer.byteLength(text));
  res.end(text);
}

/**
 * grpc-gateway's error body, a google.rpc.Status as JSON, and its headers (#errors: the one
 * mapping the Nest routes answer with too). `details` is left out when there are none, as
 * ZITADEL's gateway marshaller leaves unpopulated fields out.
 */
export function writeStatus(res: Res, status: number, code: Code, message: string, details: ErrorBodyDetail[] = []) {
  for (const [name, value] of Object.entries(errorHeaders(code, message))) res.setHeader(name, value);
  writeJson(res, status, statusBody(code, message, details) as unknown as JsonObject);
}

/** A call's error as grpc-gateway renders it: the HTTP status of its code, its details as JSON. */
function writeError(res: Res, err: ConnectError, registry: Registry) {
  const details: ErrorBodyDetail[] = [];
  for (const d of err.details) {
    const typeName = 'desc' in d ? d.desc.typeName : d.type;
    const desc = registry.getMessage(typeName);
    if (!desc) continue; // a detail this process cannot render is left out
    const message = 'desc' in d ? create(desc, d.value as MessageInitShape<DescMessage>) : fromBinary(desc, d.value);
    const json = toJson(desc, message, { registry }) as JsonObject;
    details.push({ '@type': `type.googleapis.com/${typeName}`, ...json });
  }
  writeStatus(res, httpStatusOfCode(err.code), err.code, err.rawMessage, details);
}

function registryOf(files: DescFile[]): Registry {
  const all = new Set<DescFile>();
  const visit = (f: DescFile) => {
    if (all.has(f)) return;
    all.add(f);
    f.dependencies.forEach(visit);
  };
  files.forEach(visit);
  return createRegistry(...all);
}
