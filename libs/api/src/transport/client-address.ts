import { BlockList, isIP } from 'node:net';

/**
 * The proxies trusted to name the client in X-Forwarded-For (TRUSTED_PROXIES: addresses and CIDR
 * ranges); undefined when there are none, so the peer is the client without a look at the list
 * (a BlockList check builds a SocketAddress each time: ~4 µs on every request).
 */
export function trustedProxies(entries: readonly string[]): BlockList | undefined {
  if (entries.length === 0) return undefined;
  const list = new BlockList();
  for (const entry of entries) {
    const [address, prefix] = entry.split('/');
    const type = isIP(address!) === 6 ? 'ipv6' : 'ipv4';
    if (prefix === undefined) list.addAddress(address!, type);
    else list.addSubnet(address!, Number(prefix), type);
  }
  return list;
}

/** `::ffff:10.0.0.1` (how Node reports IPv4 on a dual-stack socket) → `10.0.0.1`. */
const unmapped = (address: string) => address.replace(/^::ffff:(?=\d+\.\d+\.\d+\.\d+$)/i, '');

function isTrusted(list: BlockList, address: string): boolean {
  const kind = isIP(address);
  return kind !== 0 && list.check(address, kind === 6 ? 'ipv6' : 'ipv4');
}

/**
 * The address of the client of a request. The peer of the connection, unless the peer is a
 * trusted proxy: then X-Forwarded-For is read from the right (each proxy appends the address it
 * got the request from), skipping the trusted proxies; the first address that is not one is
 * the client (entries left of it could be written by anyone). When every entry is a trusted
 * proxy the leftmost is taken; an entry that is not an address ends the walk at the last
 * trusted hop. With no trusted proxies X-Forwarded-For is never read: a client cannot make up
 * its own address.
 */
export function clientAddress(
  peer: string | undefined,
  forwardedFor: string | string[] | undefined,
  trusted: BlockList | undefined,
): string | undefined {
  if (!peer) return undefined;
  let client = unmapped(peer);
  if (!trusted || forwardedFor === undefined || !isTrusted(trusted, client)) return client;
  const hops = (Array.isArray(forwardedFor) ? forwardedFor.join(',') : forwardedFor)
    .split(',')
    .map((hop) => unmapped(hop.trim()))
    .filter(Boolean);
  for (let i = hops.length - 1; i >= 0; i--) {
    const hop = hops[i]!;
    if (isIP(hop) === 0) return client;
    client = hop;
    if (!isTrusted(trusted, hop)) return client;
  }
  return client;
}
