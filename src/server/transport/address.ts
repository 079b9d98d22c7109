/**
 * Socket addresses as Nacos prints them: IPv4-mapped IPv6 (`::ffff:10.0.0.5`, from a dual-stack
 * listener) becomes plain IPv4; IPv6 stays unbracketed.
 */
export function normalizeIp(address: string | undefined): string {
  if (!address) return '';
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  return mapped ? mapped[1]! : address;
}

/**
 * A connection's id: Nacos's `<ms>_<remoteIp>_<remotePort>` (spec 5.2), then `_<memberAddress>`,
 * the member's address as the cluster lists it. Nacos's alone is unique on one member only: a
 * client process may connect to two members in the same millisecond from the same source port
 * (the kernel reuses a port towards another destination), and members name their clients by
 * these ids to each other (naming sync, the balancer's moves); two clients under one id there
 * lost each other's instances. The socket's own local end would not do: behind NAT or in
 * containers two members may see the same one. Clients take the id as it comes (they store it
 * and log it).
 */
export function connectionIdOf(nowMs: number, remoteIp: string, remotePort: number, memberAddress: string): string {
  return `${nowMs}_${remoteIp}_${remotePort}_${memberAddress}`;
}
