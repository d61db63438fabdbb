import { create, type DescMessage, type DescMethod, type DescMethodUnary, type DescService, type MessageShape } from '@bufbuild/protobuf';
import {
  Code,
  ConnectError,
  createConnectRouter,
  createContextValues,
  createServiceImplSpec,
  type ContextValues,
  type HandlerContext,
  type Interceptor,
  type UnaryRequest,
  type UnaryResponse,
} from '@connectrpc/connect';
import type { Routes } from './routes.js';

export interface DirectCallInit {
  /** The request's headers, as the interceptors read them (authorization, x-zitadel-orgid, …). */
  header: Headers;
  contextValues?: ContextValues;
  /** Aborted when the client goes away; made when something first reads it (responseSignal). */
  signal: () => AbortSignal;
  /** The URL the call is named by in the handler context. */
  url: string;
  /** The protocol the handler context names ('rest' unless said: the REST gateway's calls). */
  protocolName?: string;
}

const noDeadline = () => undefined;

/** Calls a unary method of the routes in process. */
export type DirectUnaryCall = <I extends DescMessage, O extends DescMessage>(
  method: DescMethod & { input: I; output: O },
  request: MessageShape<I>,
  init: DirectCallInit,
) => Promise<MessageShape<O>>;

/** A unary method's implementation behind its interceptors, chained once when the routes register. */
type UnaryChain = (req: UnaryRequest) => Promise<UnaryResponse>;

/**
 * Calls a unary method of the routes in process and answers with the whole response: the
 * message and the headers and trailers the implementation set (a caller that writes them to a
 * wire of its own, as the gRPC fast path does). Undefined for a method the routes do not serve.
 */
export type DirectUnaryInvoker = <I extends DescMessage, O extends DescMessage>(
  method: DescMethod & { input: I; output: O },
  request: MessageShape<I>,
  init: DirectCallInit,
) => Promise<UnaryResponse<I, O>> | undefined;

/**
 * The routes' unary methods, called in process with the same implementation and the same
 * interceptors (error conversion, the access log's observer, authentication, validation) as a
 * call over the wire, but without the wire: the request message goes in as it is and the
 * response message comes out as it is. An in-process Connect transport (createRouterTransport)
 * would encode and decode both messages, run the protocol's headers, async iterables and abort
 * signals, and cost the REST gateway about a seventh of a request's CPU for nothing.
 *
 * The routes register their services on a router as usual; what each method's implementation
 * and interceptors are is taken from that registration, so nothing is listed twice. A method
 * the routes do not serve is Unimplemented, as over the wire.
 *
 * The call itself is what connect-es' invokeUnaryImplementation does (interceptors around the
 * implementation, the output made a full message), with the interceptors chained once per
 * method instead of on every call, and the request's abort signal and response headers made
 * only when something reads them: connect-es copies the signal into the request and the handler
 * context on every call, and a signal costs an AbortController with a listener on the response
 * (~2 % of a REST request's CPU, a CPU profile under `npm run bench:api`), which a unary
 * implementation here never reads.
 */
export function directUnaryCalls(routes: Routes): DirectUnaryCall {
  const invoke = directUnaryInvoker(routes);
  return async (method, request, init) => {
    const response = invoke(method, request, init);
    if (!response) throw new ConnectError(`${method.parent.typeName}/${method.name} is not implemented`, Code.Unimplemented);
    return (await response).message;
  };
}

/** The routes' unary methods behind their interceptors (see directUnaryCalls), answering with the whole response. */
export function directUnaryInvoker(routes: Routes): DirectUnaryInvoker {
  const methods = new Map<DescMethod, UnaryChain>();
  const router = createConnectRouter();
  const register = router.service.bind(router);
  router.service = (service, implementation, options) => {
    const specs = createServiceImplSpec(service, implementation);
    for (const method of service.methods) {
      const spec = specs.methods[method.localName];
      if (spec?.kind !== 'unary') continue;
      const impl = spec.impl as (request: MessageShape<DescMessage>, context: HandlerContext) => Promise<Record<string, unknown>>;
      const invoke: UnaryChain = async (req) => {
        // An interceptor may pass on a request of its own making: it names no protocol then.
        const context = new DirectHandlerContext(req, req instanceof DirectUnaryRequest ? req.protocolName : 'rest');
        return new DirectUnaryResponse(req.method, create(req.method.output, await impl(req.message, context)), context);
      };
      const interceptors: readonly Interceptor[] = options?.interceptors ?? [];
      // The first interceptor outermost, as connect-es' applyInterceptors chains them.
      methods.set(
        method,
        interceptors.reduceRight<UnaryChain>((next, interceptor) => interceptor(next as never) as UnaryChain, invoke),
      );
    }
    return register(service, implementation, options);
  };
  routes(router);

  return ((method: DescMethod, request: MessageShape<DescMessage>, init: DirectCallInit) => {
    const chain = methods.get(method);
    return chain?.(new DirectUnaryRequest(method as DescMethodUnary, request, init));
  }) as DirectUnaryInvoker;
}

/** What the interceptors see of a call: as connect-es makes it, but with its signal made on first read. */
class DirectUnaryRequest implements UnaryRequest {
  readonly stream = false as const;
  readonly service: DescService;
  readonly requestMethod = 'POST';
  readonly url: string;
  readonly header: Headers;
  readonly contextValues: ContextValues;

  constructor(
    readonly method: DescMethodUnary,
    readonly message: MessageShape<DescMessage>,
    private readonly init: DirectCallInit,
  ) {
    this.service = method.parent;
    this.url = init.url;
    this.header = init.header;
    this.contextValues = init.contextValues ?? createContextValues();
  }

  get signal(): AbortSignal {
    return this.init.signal();
  }

  get protocolName(): string {
    return this.init.protocolName ?? 'rest';
  }
}

/**
 * The implementation's context, from the request the interceptors passed on (its header and
 * values, as connect-es' mergeRequest takes them), for a call without a deadline. connect-es'
 * createHandlerContext would also link a deadline signal, the request's signal and its own with
 * three abort listeners (~30 µs per call on Node 20), to end up aborting when the request's
 * signal does: the request's signal is the context's here.
 */
class DirectHandlerContext implements HandlerContext {
  readonly service: DescService;
  readonly method: DescMethod;
  readonly requestMethod: string;
  readonly url: string;
  readonly timeoutMs = noDeadline;
  readonly requestHeader: Headers;
  readonly values: ContextValues;
  private header?: Headers;
  private trailer?: Headers;

  constructor(
    private readonly request: UnaryRequest,
    readonly protocolName: string,
  ) {
    this.service = request.service;
    this.method = request.method;
    this.requestMethod = request.requestMethod;
    this.url = request.url;
    this.requestHeader = request.header;
    this.values = request.contextValues;
  }

  get signal(): AbortSignal {
    return this.request.signal;
  }

  get responseHeader(): Headers {
    return (this.header ??= new Headers());
  }

  get responseTrailer(): Headers {
    return (this.trailer ??= new Headers());
  }
}

/** The implementation's answer as the interceptors see it, its headers those the implementation set. */
class DirectUnaryResponse implements UnaryResponse {
  readonly stream = false as const;
  readonly service: DescService;

  constructor(
    readonly method: DescMethodUnary,
    readonly message: MessageShape<DescMessage>,
    private readonly context: DirectHandlerContext,
  ) {
    this.service = method.parent;
  }

  get header(): Headers {
    return this.context.responseHeader;
  }

  get trailer(): Headers {
    return this.context.responseTrailer;
  }
}
