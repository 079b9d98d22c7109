/**
 * Socket addresses as Nacos prints them: IPv4-mapped IPv6 (`::ffff:10.0.0.5`, from a dual-stack
 * listener) becomes plain IPv4; IPv6 stays unbracketed.
 */
export function normalizeIp(address: string | undefined): string {
  if (!address) return '';
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  return mapped ? mapped[1]! : address;
}

/** Nacos's connectionId: `<ms>_<remoteIp>_<remotePort>` (spec 5.2). */
export function connectionIdOf(nowMs: number, remoteIp: string, remotePort: number): string {
  return `${nowMs}_${remoteIp}_${remotePort}`;
}
