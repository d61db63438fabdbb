import { describe, expect, it } from '@jest/globals';
import { clientAddress, trustedProxies } from './client-address.js';

describe('the address of a request\'s client', () => {
  const proxies = trustedProxies(['10.0.0.1', '10.1.0.0/16', 'fd00::/8']);

  it('is the peer when the peer is not a trusted proxy, whatever X-Forwarded-For says', () => {
    expect(clientAddress('192.0.2.9', '203.0.113.5', proxies)).toBe('192.0.2.9');
    expect(clientAddress('::ffff:192.0.2.9', undefined, proxies)).toBe('192.0.2.9');
    expect(clientAddress('10.0.0.1', '203.0.113.5', trustedProxies([]))).toBe('10.0.0.1');
  });

  it('is the first address from the right that is not a trusted proxy, when the peer is one', () => {
    expect(clientAddress('10.0.0.1', '203.0.113.5', proxies)).toBe('203.0.113.5');
    // A client's own entry (left) cannot override what the trusted chain saw.
    expect(clientAddress('10.0.0.1', '1.2.3.4, 203.0.113.5, 10.1.2.3', proxies)).toBe('203.0.113.5');
    expect(clientAddress('fd00::5', ['198.51.100.1', '10.1.0.9'], proxies)).toBe('198.51.100.1');
  });

  it('stops at the last trusted hop on an entry that is not an address, and takes the leftmost when all are trusted', () => {
    expect(clientAddress('10.0.0.1', 'garbage, 10.1.0.2', proxies)).toBe('10.1.0.2');
    expect(clientAddress('10.0.0.1', '10.1.0.3, 10.1.0.2', proxies)).toBe('10.1.0.3');
  });
});
