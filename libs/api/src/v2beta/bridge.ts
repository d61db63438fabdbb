import { create, fromBinary, toBinary, type DescMethod, type DescService } from '@bufbuild/protobuf';
import type { HandlerContext } from '@connectrpc/connect';

type UnaryImpl = (req: unknown, ctx: HandlerContext) => Promise<unknown>;

/**
 * A v2beta service implemented by its v2 successor: each v2beta method the v2 implementation
 * has is answered by that v2 method, so both versions run the same commands and queries and
 * cannot drift apart. ZITADEL promoted v2beta to v2 keeping the field numbers (its v2 messages
 * only add fields: `domain_query`, `creator_query`, `user_agent_query`, `mfa_init_skipped`), so
 * the request crosses by its wire bytes: every field the client sent arrives, and a field only
 * v2 answers with stays in the response's unknown fields, which the JSON forms leave out and
 * the binary forms pass on, as a v2beta server would not know it either. Methods the v2
 * implementation lacks stay unimplemented in v2beta too.
 */
export function v2betaOf(beta: DescService, v2: DescService, v2Impl: object | undefined): object | undefined {
  if (!v2Impl) return undefined;
  const impl: Record<string, UnaryImpl> = {};
  for (const betaMethod of beta.methods) {
    const v2Method = v2.method[betaMethod.localName] as DescMethod | undefined;
    const handler = (v2Impl as Record<string, UnaryImpl | undefined>)[betaMethod.localName];
    if (!v2Method || !handler || betaMethod.methodKind !== 'unary' || v2Method.methodKind !== 'unary') continue;
    impl[betaMethod.localName] = async (req, ctx) => {
      const v2Request = fromBinary(v2Method.input, toBinary(betaMethod.input, req as never));
      const v2Response = create(v2Method.output, (await handler.call(v2Impl, v2Request, ctx)) as never);
      return fromBinary(betaMethod.output, toBinary(v2Method.output, v2Response));
    };
  }
  return impl;
}
