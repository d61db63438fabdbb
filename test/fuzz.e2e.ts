import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import http2 from 'node:http2';
import type { DescMethod } from '@bufbuild/protobuf';
import { SESSION_SERVICE_IMPL, USER_SERVICE_IMPL } from '#api';
import { restRoutesOf, SERVED_SERVICES, type RestRoute } from '#api/transport';
import { EVENT_STORE, type EventStore } from '#eventstore';
import { UserEventType } from '#user/events';
import {
  deeplyNested,
  grpcFrame,
  hostileId,
  hostileJsonValue,
  hostileMessageBinary,
  hostileMessageJson,
  hostileString,
  pathSegment,
  Rng,
  startTestServer,
  storeKinds,
  type TestServer,
} from '#test-support';

/**
 * Seeded fuzzing of every API method over REST, Connect JSON, Connect binary and gRPC (h2c)
 * against the real server and store. For every answer: no 5xx (no Internal/Unknown over gRPC),
 * no stack trace, and nothing written by a rejected request except the failed-check events that
 * count towards a lockout. FUZZ_RUNS sets the number of cases, FUZZ_SEED replays a run; a
 * failure names its seed. The default seed is fixed, so every CI run sends the same cases.
 */
const RUNS = Number(process.env.FUZZ_RUNS ?? 2000);
// A fixed seed by default, so that CI runs the same cases every time (a failure is then a
// regression, not a new draw); set FUZZ_SEED to explore other cases.
const SEED = process.env.FUZZ_SEED !== undefined ? Number(process.env.FUZZ_SEED) : 20261201;

/** Events a rejected request may write: failed checks are the evidence a lockout counts. */
const WRITTEN_BY_REJECTION: ReadonlySet<string> = new Set([UserEventType.OtpEmailCheckFailed, UserEventType.Locked]);

/**
 * 5xx answers found by fuzzing and not fixed yet, each with the request that provokes it. A
 * case listed here is reported but not failed; remove it once fixed.
 */
interface Known5xx {
  name: string;
  matches: (c: FuzzCase, a: Answer) => boolean;
}
const KNOWN_5XX: readonly Known5xx[] = [];

type Protocol = 'rest' | 'connect-json' | 'connect-proto' | 'grpc';

interface FuzzCase {
  protocol: Protocol;
  procedure: string;
  served: boolean;
  /** The request names a compression the server does not implement. */
  unsupportedEncoding: boolean;
  requestId: string;
  /** What a reader needs to repeat the request by hand. */
  describe: string;
}

interface Answer {
  httpStatus: number;
  grpcStatus?: number;
  body: string;
}

const STACK_TRACE = /\n\s+at \S[^\n]*:\d+:\d+|node:internal|\.ts:\d+:\d+|\.js:\d+:\d+/;
/** gRPC codes that mean the server failed: Unknown, Internal, Unavailable, DataLoss. */
const SERVER_FAULT_CODES = new Set([2, 13, 14, 15]);
const UNIMPLEMENTED = 12;
const CONCURRENCY = 4;
const DELIBERATELY_UNIMPLEMENTED = /SESSION-Unimpl/;
const SUPPORTED_ENCODINGS = new Set(['gzip', 'br', 'identity']);

const preview = (body: string | Uint8Array, max = 160) => {
  const text = typeof body === 'string' ? JSON.stringify(body) : `hex:${Buffer.from(body).toString('hex')}`;
  return text.length > max ? `${text.slice(0, max)}…(${text.length} chars)` : text;
};

describe.each(storeKinds())('fuzzing every method over every protocol (%s)', (kind) => {
  let t: TestServer;
  let store: EventStore;
  let h2: http2.ClientHttp2Session;
  const realIds: string[] = [];
  let served: Set<string>;
  const methods: { method: DescMethod; procedure: string }[] = [];
  let routes: RestRoute[];

  beforeAll(async () => {
    t = await startTestServer(kind);
    store = t.server.app.get<EventStore>(EVENT_STORE);
    // v2 and v2beta of a service are answered by the same implementation, method by method name.
    const implOf = (typeName: string) =>
      t.server.app.get<object>(typeName.startsWith('zitadel.user.') ? USER_SERVICE_IMPL : SESSION_SERVICE_IMPL) as Record<string, unknown>;
    served = new Set();
    for (const service of SERVED_SERVICES) {
      for (const method of service.methods) {
        const procedure = `/${service.typeName}/${method.name}`;
        methods.push({ method, procedure });
        if (typeof implOf(service.typeName)[method.localName] === 'function') served.add(procedure);
      }
    }
    routes = restRoutesOf(SERVED_SERVICES);

    // Real ids, so that some hostile requests reach real aggregates.
    const post = async (path: string, body: unknown) => {
      const res = await fetch(`${t.url}${path}`, {
        method: 'POST',
        headers: { authorization: `Bearer ${t.adminToken}`, 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
      expect(res.status).toBeLessThan(300);
      return (await res.json()) as Record<string, string>;
    };
    const { userId } = await post('/v2/users/human', { profile: { givenName: 'Fuzz', familyName: 'Target' }, email: { email: 'fuzz@example.com', isVerified: true } });
    await post(`/v2/users/${userId}/otp_email`, {});
    const { sessionId } = await post('/v2/sessions', { checks: { user: { userId } } });
    realIds.push(userId!, sessionId!);
    h2 = http2.connect(t.url);
  });
  afterAll(async () => {
    h2?.close();
    await t?.stop();
  });

  it(`${RUNS} hostile requests: no 5xx, no stack trace, nothing written on rejection (seed ${SEED})`, async () => {
    expect(served.size).toBeGreaterThanOrEqual(12);
    const rng = new Rng(SEED);
    const failures: string[] = [];
    const known: string[] = [];

    const authHeader = () => (rng.chance(0.03) ? rng.pick(['', 'Bearer nope', 'Basic x']) : `Bearer ${t.adminToken}`);

    const restCase = (i: number): { c: FuzzCase; send: () => Promise<Answer> } => {
      const route = rng.pick(routes);
      const path = route.template.replace(/\{[^}]*\}/g, () => pathSegment(hostileId(rng, realIds)));
      const query = route.verb === 'GET' || route.verb === 'DELETE' ? (rng.chance(0.3) ? `?${pathSegment(hostileString(rng, realIds))}=${pathSegment(hostileString(rng, realIds))}` : '') : '';
      let body: string | undefined;
      if (route.body !== '' || rng.chance(0.1)) body = jsonBody(route.method);
      const contentType = rng.chance(0.1) ? rng.pick(['text/plain', 'application/xml', 'application/proto', '', 'application/json; charset=latin1']) : 'application/json';
      const encoding = rng.chance(0.05) ? rng.pick(['gzip', 'br', 'snappy', 'identity']) : undefined;
      const requestId = `fuzz-${i}`;
      const headers: Record<string, string> = { 'x-request-id': requestId, authorization: authHeader() };
      if (contentType) headers['content-type'] = contentType;
      if (encoding) headers['content-encoding'] = encoding;
      const procedure = `/${route.service.typeName}/${route.method.name}`;
      return {
        c: { protocol: 'rest', procedure, served: served.has(procedure), unsupportedEncoding: encoding !== undefined && !SUPPORTED_ENCODINGS.has(encoding), requestId, describe: `${route.verb} ${path}${query} ${JSON.stringify(headers)} body=${body === undefined ? '-' : preview(body)}` },
        send: async () => {
          const res = await fetch(`${t.url}${path}${query}`, { method: route.verb, headers, ...(body !== undefined && route.verb !== 'GET' ? { body } : {}) });
          return { httpStatus: res.status, body: await res.text() };
        },
      };
    };

    const jsonBody = (method: DescMethod): string => {
      switch (rng.int(10)) {
        case 0:
          return rng.pick(['', '{', '{"a":', 'null', '[]', '"text"', '1', '{"a":1}{}', '\u0000', '{"userId":"\\ud800"}']);
        case 1:
          return JSON.stringify(hostileJsonValue(rng, realIds));
        case 2:
          return JSON.stringify({ [rng.pick(method.input.fields)?.jsonName ?? 'x']: deeplyNested(100, rng) });
        case 3:
          return '['.repeat(100) + ']'.repeat(100);
        default:
          return JSON.stringify(hostileMessageJson(rng, method.input, realIds));
      }
    };

    const binaryBody = (method: DescMethod): Uint8Array => {
      switch (rng.int(6)) {
        case 0:
          return rng.bytes(rng.int(64));
        case 1: {
          const whole = hostileMessageBinary(rng, method.input, realIds);
          return whole.subarray(0, rng.int(whole.length + 1));
        }
        default:
          return hostileMessageBinary(rng, method.input, realIds);
      }
    };

    const connectCase = (i: number, binary: boolean): { c: FuzzCase; send: () => Promise<Answer> } => {
      const { method, procedure } = rng.pick(methods);
      const body = binary ? binaryBody(method) : jsonBody(method);
      let contentType = binary ? 'application/proto' : 'application/json';
      if (rng.chance(0.08)) contentType = rng.pick(['text/plain', 'application/grpc', 'application/connect+json', 'application/json+proto', '']);
      const requestId = `fuzz-${i}`;
      const headers: Record<string, string> = { 'x-request-id': requestId, authorization: authHeader() };
      if (contentType) headers['content-type'] = contentType;
      if (rng.chance(0.05)) headers['content-encoding'] = rng.pick(['gzip', 'br', 'snappy', 'deflate']);
      if (rng.chance(0.05)) headers['connect-protocol-version'] = rng.pick(['0', '2', 'x']);
      if (rng.chance(0.03)) headers['connect-timeout-ms'] = rng.pick(['-1', 'abc', '99999999999']);
      return {
        c: {
          protocol: binary ? 'connect-proto' : 'connect-json',
          procedure,
          served: served.has(procedure),
          unsupportedEncoding: headers['content-encoding'] !== undefined && !SUPPORTED_ENCODINGS.has(headers['content-encoding']),
          requestId,
          describe: `POST ${procedure} ${JSON.stringify(headers)} body=${preview(body)}`,
        },
        send: async () => {
          const res = await fetch(`${t.url}${procedure}`, { method: 'POST', headers, body });
          return { httpStatus: res.status, body: await res.text() };
        },
      };
    };

    const grpcCase = (i: number): { c: FuzzCase; send: () => Promise<Answer> } => {
      const { method, procedure } = rng.pick(methods);
      const message = binaryBody(method);
      let body: Uint8Array;
      const headers: http2.OutgoingHttpHeaders = { ':method': 'POST', ':path': procedure, 'content-type': 'application/grpc', te: 'trailers' };
      switch (rng.int(8)) {
        case 0: // The header announces more than comes.
          body = grpcFrame(message, { announced: message.length + 1 + rng.int(1000) });
          break;
        case 1: // A frame cut short, even inside its header.
          body = grpcFrame(message).subarray(0, rng.int(5 + message.length));
          break;
        case 2: // Compressed flag without (or with a wrong) encoding.
          body = grpcFrame(message, { compressed: true });
          if (rng.chance(0.5)) headers['grpc-encoding'] = rng.pick(['gzip', 'snappy', 'identity']);
          break;
        case 3: // Two messages on a unary call.
          body = Buffer.concat([grpcFrame(message), grpcFrame(message)]);
          break;
        default:
          body = grpcFrame(message);
      }
      if (rng.chance(0.05)) headers['content-type'] = rng.pick(['application/grpc+json', 'application/grpc+xml', 'text/plain']);
      if (rng.chance(0.03)) headers['grpc-timeout'] = rng.pick(['0n', 'abc', '99999999H']);
      const requestId = `fuzz-${i}`;
      const auth = authHeader();
      if (auth) headers.authorization = auth;
      headers['x-request-id'] = requestId;
      return {
        c: { protocol: 'grpc', procedure, served: served.has(procedure), unsupportedEncoding: headers['grpc-encoding'] !== undefined && !SUPPORTED_ENCODINGS.has(String(headers['grpc-encoding'])), requestId, describe: `h2c ${JSON.stringify(headers)} body=${preview(body)}` },
        send: () => grpcExchange(headers, body),
      };
    };

    const grpcExchange = (headers: http2.OutgoingHttpHeaders, body: Uint8Array): Promise<Answer> => {
      if (h2.closed || h2.destroyed) h2 = http2.connect(t.url);
      return new Promise<Answer>((resolve, reject) => {
        const stream = h2.request(headers);
        let answer: http2.IncomingHttpHeaders = {};
        let trailers: http2.IncomingHttpHeaders = {};
        const chunks: Buffer[] = [];
        stream.on('response', (h) => (answer = h));
        stream.on('trailers', (tr) => (trailers = tr));
        stream.on('data', (chunk: Buffer) => chunks.push(chunk));
        stream.on('end', () => {
          const code = trailers['grpc-status'] ?? answer['grpc-status'];
          const message = String(trailers['grpc-message'] ?? answer['grpc-message'] ?? '');
          resolve({
            httpStatus: Number(answer[':status']),
            ...(code !== undefined ? { grpcStatus: Number(code) } : {}),
            body: `${message}\n${Buffer.concat(chunks).toString('latin1')}`,
          });
        });
        stream.on('error', reject);
        stream.end(body);
      });
    };

    // Cases are generated in order (one seed, one sequence) and sent a few at a time: each
    // carries its own request id, which every event it causes carries as correlation id.
    const cases = Array.from({ length: RUNS }, (_, i) => {
      const kindOfCase = rng.int(4);
      return kindOfCase === 0 ? restCase(i) : kindOfCase === 1 ? connectCase(i, false) : kindOfCase === 2 ? connectCase(i, true) : grpcCase(i);
    });
    const perProtocol: Record<Protocol, number> = { rest: 0, 'connect-json': 0, 'connect-proto': 0, grpc: 0 };
    for (const { c } of cases) perProtocol[c.protocol]++;
    const rejected = new Set<string>();
    const started = Date.now();
    const head = await store.headPosition();

    const runOne = async (i: number) => {
      const { c, send } = cases[i]!;
      let answer: Answer;
      try {
        answer = await send();
      } catch (error) {
        failures.push(`#${i} ${c.protocol} ${c.procedure}: the request failed (${String(error)})\n  ${c.describe}`);
        return;
      }
      const problems: string[] = [];
      // Both protocols prescribe Unimplemented for a compression the server does not support;
      // a served method answers it, with its own error id, for a part of the request it
      // deliberately leaves out (a session check or challenge other than user and OTP email).
      const mayBeUnimplemented = !c.served || c.unsupportedEncoding || DELIBERATELY_UNIMPLEMENTED.test(answer.body);
      const unimplemented = answer.httpStatus === 501 || answer.grpcStatus === UNIMPLEMENTED;
      if (answer.httpStatus >= 500 && !(unimplemented && mayBeUnimplemented)) problems.push(`HTTP ${answer.httpStatus}`);
      if (answer.grpcStatus !== undefined && SERVER_FAULT_CODES.has(answer.grpcStatus)) problems.push(`grpc-status ${answer.grpcStatus}`);
      if (unimplemented && !mayBeUnimplemented) problems.push('Unimplemented for a served method');
      if (STACK_TRACE.test(answer.body)) problems.push('a stack trace in the body');
      if (answer.grpcStatus !== undefined ? answer.grpcStatus !== 0 : answer.httpStatus >= 300) rejected.add(c.requestId);
      if (problems.length === 0) return;
      const report = `#${i} ${c.protocol} ${c.procedure}: ${problems.join('; ')}\n  request: ${c.describe}\n  response: ${answer.httpStatus}${answer.grpcStatus !== undefined ? ` grpc-status ${answer.grpcStatus}` : ''} ${preview(answer.body, 400)}`;
      const knownAs = KNOWN_5XX.find((k) => k.matches(c, answer));
      if (knownAs) known.push(`[${knownAs.name}] ${report}`);
      else failures.push(report);
    };
    let nextCase = 0;
    const worker = async () => {
      while (nextCase < cases.length) await runOne(nextCase++);
    };
    await Promise.all(Array.from({ length: CONCURRENCY }, worker));

    // Nothing written by a rejected request, except the failed checks a lockout counts.
    const byRejected = (await store.readAll({ after: head })).filter((e) => rejected.has(String(e.metadata.correlationId)) && !WRITTEN_BY_REJECTION.has(e.type));
    for (const e of byRejected) failures.push(`rejected request ${String(e.metadata.correlationId)} wrote ${e.type} to ${e.stream}: ${cases.find((x) => x.c.requestId === e.metadata.correlationId)?.c.describe}`);

    const summary = `seed ${SEED}, ${RUNS} cases in ${Date.now() - started} ms (${JSON.stringify(perProtocol)}); repeat with FUZZ_SEED=${SEED} FUZZ_RUNS=${RUNS}`;
    if (known.length > 0) console.warn(`known 5xx answers (${known.length}):\n${known.slice(0, 3).join('\n')}`);
    if (failures.length > 0) throw new Error(`${failures.length} failing cases, ${summary}\n${failures.slice(0, 15).join('\n')}`);
    expect(failures).toEqual([]);
  }, 600_000);
});
