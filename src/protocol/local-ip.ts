import { networkInterfaces } from 'node:os';

/** The first non-internal IPv4 address, as Java's `NetUtils.localIP()`; else loopback. */
export function firstNonInternalIPv4(): string {
  for (const addresses of Object.values(networkInterfaces())) {
    for (const a of addresses ?? []) if (a.family === 'IPv4' && !a.internal) return a.address;
  }
  return '127.0.0.1';
}
