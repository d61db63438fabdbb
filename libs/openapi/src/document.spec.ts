import { describe, expect, it } from '@jest/globals';
import { getOption, ScalarType, type DescMessage } from '@bufbuild/protobuf';
import { openapiv2_field, openapiv2_operation } from '@zitadel/proto/protoc-gen-openapiv2/options/annotations_pb.js';
import { SessionService } from '@zitadel/proto/zitadel/session/v2/session_service_pb.js';
import { UserService } from '@zitadel/proto/zitadel/user/v2/user_service_pb.js';
import { restRoutesOf, SERVED_SERVICES } from '#api/transport';
import { buildOpenApiDocument, BEARER_AUTH, STATUS_SCHEMA, type OpenApiDocument, operationIdOf } from './document.js';
import { NO_COMMENTS, parseDeclarationComments } from './proto-comments.js';

type Json = { [key: string]: any };

const doc = buildOpenApiDocument();

/** Follows a `$ref` into components.schemas; fails the test when it points nowhere. */
function resolve(d: OpenApiDocument, schema: Json): Json {
  if (!schema.$ref) return schema;
  const name = (schema.$ref as string).replace('#/components/schemas/', '');
  const target = d.components.schemas[name];
  if (!target) throw new Error(`unresolved ${schema.$ref}`);
  return target;
}

/** Every message reachable from the served methods, by type name. */
function reachableMessages(): Map<string, DescMessage> {
  const out = new Map<string, DescMessage>();
  const visit = (m: DescMessage) => {
    if (out.has(m.typeName)) return;
    out.set(m.typeName, m);
    for (const f of m.fields) if (f.message) visit(f.message);
  };
  for (const s of SERVED_SERVICES) for (const m of s.methods) (visit(m.input), visit(m.output));
  return out;
}

/** `/v2/users/{user_id}` → `/v2/users/{userId}`, written here independently of the generator. */
const camel = (template: string) => template.replace(/\{([^}=]+)(=[^}]*)?\}/g, (_, name: string) => `{${name.replace(/_([a-z0-9])/g, (_m, c: string) => c.toUpperCase())}}`);

describe('the OpenAPI document', () => {
  it('has every route the REST gateway serves, with its verb and ZITADEL success code', () => {
    const routes = restRoutesOf(SERVED_SERVICES);
    expect(routes.length).toBeGreaterThan(40);
    for (const route of routes) {
      const operation = doc.paths[camel(route.template)]?.[route.verb.toLowerCase()];
      expect({ route: `${route.verb} ${route.template}`, operationId: operation?.operationId }).toEqual({
        route: `${route.verb} ${route.template}`,
        operationId: operationIdOf(route.service, route.method),
      });
      expect(Object.keys(operation!.responses)).toContain(String(route.successCode));
    }
    const operations = Object.values(doc.paths).flatMap((p) => Object.values(p));
    expect(operations).toHaveLength(routes.length);
    expect(doc.paths['/v2/users/{userId}/otp_email']?.post?.responses['200']).toBeDefined();
  });

  it('documents AddOTPEmail from its descriptor: the annotation’s responses and example, the proto comment’s summary', () => {
    const annotation = getOption(UserService.method.addOTPEmail, openapiv2_operation);
    // @zitadel/proto's annotation for this method carries responses only; its summary is the proto comment.
    expect(Object.keys(annotation.responses)).toEqual(['200', '404']);
    const op = doc.paths['/v2/users/{userId}/otp_email']!.post!;
    expect(op.summary).toBe('Add OTP Email for a user');
    expect(op.description).toMatch(/^Add a new One-Time Password \(OTP\) Email factor/);
    expect(op.responses['404']).toMatchObject({ description: annotation.responses['404']!.description });
    const example = getOption(UserService.method.addOTPEmail.input.field.userId, openapiv2_field).example;
    expect(op.parameters).toEqual([{ name: 'userId', in: 'path', required: true, schema: expect.objectContaining({ type: 'string', example: JSON.parse(example), maxLength: 200 }) }]);
    expect(op.tags).toEqual(['UserService']);
  });

  it('takes summary and description from the openapiv2 annotation before the comment, and the comment only when the annotation has none', () => {
    const annotation = getOption(SessionService.method.createSession, openapiv2_operation);
    expect(annotation.summary).toBe('Create a new session');
    const comments = new Map([
      ['rpc zitadel.session.v2.SessionService.CreateSession', 'A comment summary\n\nA comment description'],
      ['rpc zitadel.user.v2.UserService.AddOTPEmail', 'From the comment\n\nMore.'],
    ]);
    const withComments = buildOpenApiDocument({ comments });
    expect(withComments.paths['/v2/sessions']!.post).toMatchObject({ summary: 'Create a new session', description: annotation.description });
    expect(withComments.paths['/v2/users/{userId}/otp_email']!.post).toMatchObject({ summary: 'From the comment', description: 'More.' });
    const bare = buildOpenApiDocument({ comments: NO_COMMENTS });
    expect(bare.paths['/v2/sessions']!.post!.summary).toBe('Create a new session');
    expect(bare.paths['/v2/users/{userId}/otp_email']!.post!.summary).toBeUndefined();
  });

  it('gives request bodies schemas that resolve, without the fields the path sets', () => {
    const addHuman = doc.paths['/v2/users/human']!.post!;
    const body = resolve(doc, (addHuman.requestBody as Json).content['application/json'].schema);
    expect(Object.keys(body.properties)).toEqual(expect.arrayContaining(['username', 'organization', 'profile', 'email', 'metadata']));
    expect(resolve(doc, body.properties.profile).properties.givenName).toMatchObject({ type: 'string' });
    const setEmail = (doc.paths['/v2/users/{userId}/email']!.post!.requestBody as Json).content['application/json'].schema;
    expect(Object.keys(setEmail.properties)).toEqual(['email', 'sendCode', 'returnCode', 'isVerified']);
    expect(setEmail['x-oneof']).toEqual({ verification: ['sendCode', 'returnCode', 'isVerified'] });
    // No body for body-less routes; every $ref anywhere in the document resolves.
    expect(doc.paths['/v2/users/{userId}']!.get!.requestBody).toBeUndefined();
    const refs = JSON.stringify(doc).match(/"\$ref":"[^"]+"/g)!;
    for (const ref of new Set(refs)) expect(() => resolve(doc, JSON.parse(`{${ref}}`))).not.toThrow();
  });

  it('follows the proto3 JSON mapping: 64-bit integers and bytes as strings, enums by name, maps as objects, Timestamps as date-time', () => {
    expect(resolve(doc, { $ref: '#/components/schemas/zitadel.object.v2.Details' }).properties.sequence).toMatchObject({ type: 'string', format: 'uint64' });
    const messages = reachableMessages();
    let int64 = 0;
    for (const [name, schema] of Object.entries(doc.components.schemas)) {
      const desc = messages.get(name);
      if (!desc) continue;
      for (const field of desc.fields) {
        const prop = (schema as Json).properties[field.jsonName];
        expect(prop).toBeDefined();
        if (field.fieldKind === 'scalar' && [ScalarType.INT64, ScalarType.UINT64, ScalarType.SINT64, ScalarType.FIXED64, ScalarType.SFIXED64].includes(field.scalar)) {
          int64++;
          expect({ field: `${name}.${field.name}`, type: prop.type }).toEqual({ field: `${name}.${field.name}`, type: 'string' });
        }
        if (field.fieldKind === 'scalar' && field.scalar === ScalarType.BYTES) expect(prop).toMatchObject({ type: 'string', contentEncoding: 'base64' });
        if (field.fieldKind === 'enum') expect(resolve(doc, prop)).toMatchObject({ type: 'string', enum: field.enum.values.map((v) => v.name) });
        if (field.fieldKind === 'map') expect(prop).toMatchObject({ type: 'object', additionalProperties: expect.any(Object) });
        if (field.fieldKind === 'list') expect(prop).toMatchObject({ type: 'array', items: expect.any(Object) });
        if (field.fieldKind === 'message' && field.message.typeName === 'google.protobuf.Timestamp') expect(prop).toMatchObject({ type: 'string', format: 'date-time' });
      }
    }
    expect(int64).toBeGreaterThan(0);
  });

  it('declares query parameters for the fields a GET takes from the query string, never the path-bound ones', () => {
    const params = doc.paths['/v2/users/{userId}/authentication_methods']!.get!.parameters!;
    expect(params.map((p) => `${p.in}:${p.name}`)).toEqual(['path:userId', 'query:domainQuery.includeWithoutDomain', 'query:domainQuery.domain']);
  });

  it('requires the bearer token on every route and describes the gateway’s error body', () => {
    expect(doc.components.securitySchemes[BEARER_AUTH]).toEqual(expect.objectContaining({ type: 'http', scheme: 'bearer' }));
    for (const methods of Object.values(doc.paths)) {
      for (const op of Object.values(methods)) {
        expect(op.security).toEqual([{ [BEARER_AUTH]: [] }]);
        expect((op.responses.default as Json).content['application/json'].schema).toEqual({ $ref: `#/components/schemas/${STATUS_SCHEMA}` });
      }
    }
    const status = doc.components.schemas[STATUS_SCHEMA] as Json;
    expect(Object.keys(status.properties)).toEqual(['code', 'message', 'details']);
    expect(Object.keys(resolve(doc, status.properties.details.items).properties)).toEqual(['@type', 'id', 'message']);
  });
});

describe('reading proto comments from declaration files', () => {
  it('keys each comment by the element it was generated from, fields by their message', () => {
    const text = `/**
 * Add it
 *
 * Longer text.
 *
 * @generated from rpc pkg.Svc.AddIt
 */
/**
 * @generated from message pkg.Req
 */
export declare type Req = Message<"pkg.Req"> & {
  /**
   * the user
   *
   * @generated from field: string user_id = 1;
   */
  userId: string;
  /**
   * @generated from field: int64 n = 2;
   */
  n: bigint;
};
`;
    const map = new Map<string, string>();
    parseDeclarationComments(text, map);
    expect(Object.fromEntries(map)).toEqual({ 'rpc pkg.Svc.AddIt': 'Add it\n\nLonger text.', 'field pkg.Req.user_id': 'the user' });
  });
});
