import http2 from 'node:http2';

export interface H2Answer {
  headers: http2.IncomingHttpHeaders;
  trailers: http2.IncomingHttpHeaders;
  body: Buffer;
}

/** One raw HTTP/2 request on a session of its own (POST unless `:method` says otherwise): the headers, trailers and body the server sends back. */
export function h2Exchange(url: string, headers: http2.OutgoingHttpHeaders, body?: Uint8Array): Promise<H2Answer> {
  const session = http2.connect(url);
  return new Promise<H2Answer>((resolve, reject) => {
    session.on('error', reject);
    const stream = session.request({ ':method': 'POST', ...headers });
    let answerHeaders: http2.IncomingHttpHeaders = {};
    let trailers: http2.IncomingHttpHeaders = {};
    const chunks: Buffer[] = [];
    stream.on('response', (h) => (answerHeaders = h));
    stream.on('trailers', (t) => (trailers = t));
    stream.on('data', (c: Buffer) => chunks.push(c));
    stream.on('end', () => resolve({ headers: answerHeaders, trailers, body: Buffer.concat(chunks) }));
    stream.on('error', reject);
    stream.end(body);
  }).finally(() => session.close());
}
