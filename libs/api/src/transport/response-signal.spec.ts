import { describe, expect, it } from '@jest/globals';
import { once } from 'node:events';
import http from 'node:http';
import http2 from 'node:http2';
import type { AddressInfo } from 'node:net';
import { responseSignal, type ClosableResponse } from './response-signal.js';

type Handler = (res: ClosableResponse, end: () => void) => void;

/**
 * One request to a real server of the protocol, whose handler is `handler`: the client sends
 * part of a body and goes away once `leave` resolves (the handler has the request), or, without
 * `leave`, finishes the request. Resolves with a function that stops the server and every
 * connection to it.
 */
async function serveOne(protocol: 'http1' | 'http2', handler: Handler, leave?: Promise<void>): Promise<() => Promise<void>> {
  const sessions = new Set<http2.ServerHttp2Session>();
  const server =
    protocol === 'http1'
      ? http.createServer((_req, res) => handler(res, () => res.end('done')))
      : http2
          .createServer((_req, res) => handler(res as unknown as ClosableResponse, () => res.end('done')))
          .on('session', (session) => sessions.add(session));
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  let closeClient: () => void;
  if (protocol === 'http1') {
    const req = http.request({ host: '127.0.0.1', port, method: 'POST', agent: false });
    req.on('error', () => undefined);
    req.on('response', (res) => res.resume());
    req.write('x');
    if (leave) void leave.then(() => req.destroy());
    else req.end();
    closeClient = () => req.destroy();
  } else {
    const session = http2.connect(`http://127.0.0.1:${port}`);
    session.on('error', () => undefined);
    const stream = session.request({ ':method': 'POST', ':path': '/' });
    stream.on('error', () => undefined);
    stream.resume();
    stream.write('x');
    if (leave) void leave.then(() => stream.close(http2.constants.NGHTTP2_CANCEL));
    else stream.end();
    closeClient = () => session.destroy();
  }
  return async () => {
    closeClient();
    for (const session of sessions) session.destroy();
    if (server instanceof http.Server) server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  };
}

function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

describe.each(['http1', 'http2'] as const)('responseSignal over %s', (protocol) => {
  it('aborts a signal read while the request runs when the client goes away', async () => {
    let aborted!: (value: boolean) => void;
    const result = new Promise<boolean>((resolve) => (aborted = resolve));
    const leave = deferred();
    const stop = await serveOne(
      protocol,
      (res) => {
        const signal = responseSignal(res)();
        if (signal.aborted) aborted(false);
        signal.addEventListener('abort', () => aborted(true));
        leave.resolve();
      },
      leave.promise,
    );
    expect(await result).toBe(true);
    await stop();
  });

  it('gives an aborted signal when first read after the client went away', async () => {
    let read!: (aborted: boolean) => void;
    const result = new Promise<boolean>((resolve) => (read = resolve));
    const leave = deferred();
    const stop = await serveOne(
      protocol,
      (res) => {
        res.once('close', () => read(responseSignal(res)().aborted));
        leave.resolve();
      },
      leave.promise,
    );
    expect(await result).toBe(true);
    await stop();
  });

  it('never aborts the signal of a response written to the end, and gives one signal per response', async () => {
    let seen!: (outcome: { same: boolean; aborted: boolean }) => void;
    const result = new Promise<{ same: boolean; aborted: boolean }>((resolve) => (seen = resolve));
    const stop = await serveOne(
      protocol,
      (res, end) => {
        const signalOf = responseSignal(res);
        const signal = signalOf();
        res.once('close', () => setImmediate(() => seen({ same: signalOf() === signal, aborted: signal.aborted })));
        end();
      },
    );
    expect(await result).toEqual({ same: true, aborted: false });
    await stop();
  });
});
