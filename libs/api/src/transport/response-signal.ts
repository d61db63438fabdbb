/** What responseSignal reads of an HTTP/1.1 or HTTP/2 (compatibility API) response. */
export interface ClosableResponse {
  readonly writableEnded: boolean;
  /** HTTP/1.1: the connection or the response has closed. */
  readonly closed?: boolean;
  /** HTTP/2: the response's stream (its `closed` as above). */
  readonly stream?: { readonly closed: boolean };
  once(event: 'close', listener: () => void): unknown;
}

/**
 * The signal a call's handler context carries: aborted when the client goes away before the
 * response has been written. Made on first use: a unary call rarely reads it, and an
 * AbortController with a listener on the response cost the REST gateway ~2 % of its CPU per
 * request (a CPU profile under `npm run bench:api`). Asked for after the client left, it is
 * aborted at once.
 */
export function responseSignal(res: ClosableResponse): () => AbortSignal {
  let controller: AbortController | undefined;
  return () => {
    if (controller) return controller.signal;
    const made = new AbortController();
    controller = made;
    const clientLeft = () => {
      if (!res.writableEnded) made.abort();
    };
    if (res.closed ?? res.stream?.closed ?? false) clientLeft();
    else res.once('close', clientLeft);
    return made.signal;
  };
}
