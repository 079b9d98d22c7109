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
 * A connection's id: Nacos's `<ms>_<remoteIp>_<remotePort>` (spec 5.2), then the member's own end,
 * `_<localIp>_<localPort>`. Nacos's alone is unique on one member only: a client process may
 * connect to two members in the same millisecond from the same source port (the kernel reuses a
 * port towards another destination), and members name their clients by these ids to each other
 * (naming sync, the balancer's moves); two clients under one id there lose each other's instances.
 * Clients take the id as it comes (they echo it in logs only).
 */
export function connectionIdOf(nowMs: number, remoteIp: string, remotePort: number, localIp: string, localPort: number): string {
  return `${nowMs}_${remoteIp}_${remotePort}_${localIp}_${localPort}`;
}
