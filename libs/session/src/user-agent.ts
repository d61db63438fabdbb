import { isIP } from 'node:net';
import { invalidArgument } from '#errors';
import type { SessionUserAgent } from './events.js';

/**
 * At most this many bytes of user agent (its JSON) are stored with a session: the request's
 * `userAgent.header` is stored as it is given, so a client must not be able to make every
 * session (and every row of the sessions read model) arbitrarily large.
 */
export const MAX_USER_AGENT_BYTES = 8 * 1024;

export const userAgentTooLarge = () => invalidArgument('SESSION-UaSize', 'Errors.Session.UserAgent.TooLarge');

/**
 * An address as Go's net.IP.String() writes it: IPv4 in dotted form (an IPv4-mapped IPv6
 * address as its IPv4), IPv6 lower-cased. Anything that is not an address is undefined (ZITADEL's
 * net.ParseIP gives nil and the ip is left out).
 */
export function normalizeIp(text: string | undefined): string | undefined {
  if (!text) return undefined;
  const trimmed = text.trim();
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(trimmed);
  if (mapped && isIP(mapped[1]!) === 4) return mapped[1];
  const kind = isIP(trimmed);
  if (kind === 4) return trimmed;
  if (kind === 6) return trimmed.toLowerCase();
  return undefined;
}

/**
 * The user agent CreateSession stores: the request's fields as given (ZITADEL's
 * userAgentToCommand: an `ip` that is not an address is dropped), and, when the request gives
 * no usable `ip`, the address the call came from (`clientIp`, which the transport takes from
 * the connection or a trusted proxy's X-Forwarded-For). Empty header lists are left out.
 * Larger than MAX_USER_AGENT_BYTES → InvalidArgument `SESSION-UaSize`, before anything is written.
 */
export function decideUserAgent(requested: SessionUserAgent | undefined, clientIp: string | undefined): SessionUserAgent | undefined {
  const header = Object.fromEntries(Object.entries(requested?.header ?? {}).filter(([, values]) => values.length > 0));
  const ip = normalizeIp(requested?.ip) ?? normalizeIp(clientIp);
  const agent: SessionUserAgent = {
    ...(requested?.fingerprintId ? { fingerprintId: requested.fingerprintId } : {}),
    ...(ip ? { ip } : {}),
    ...(requested?.description ? { description: requested.description } : {}),
    ...(Object.keys(header).length > 0 ? { header } : {}),
  };
  if (Object.keys(agent).length === 0) return undefined;
  if (Buffer.byteLength(JSON.stringify(agent)) > MAX_USER_AGENT_BYTES) throw userAgentTooLarge();
  return agent;
}
