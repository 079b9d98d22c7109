import { NacosRemoteError } from '../protocol/index.js';

/** A server as the client knows it: IP (or host) and main port; gRPC is port + offset. */
export interface ServerAddress {
  readonly ip: string;
  readonly port: number;
}

export const DEFAULT_MAIN_PORT = 8848;

/** A server address that cannot be parsed. */
export class InvalidServerAddressError extends NacosRemoteError {
  constructor(address: string, reason: string) {
    super('INVALID_SERVER_ADDRESS', -400, `invalid server address '${address}': ${reason}`);
  }
}

/** `ip:port` (IPv6 in brackets), as Nacos's `ServerInfo.getAddress()`. */
export function formatAddress(server: ServerAddress): string {
  return server.ip.includes(':') ? `[${server.ip}]:${server.port}` : `${server.ip}:${server.port}`;
}

/**
 * Parses `ip:port`, `host`, `http://ip:port`, `[v6]:port` and Java's `ip::port` forms; a missing
 * port is 8848 (spec 3, `RpcClient.resolveServerInfo`).
 */
export function parseServerAddress(input: string): ServerAddress {
  const raw = input.trim();
  if (raw === '') throw new InvalidServerAddressError(input, 'empty');
  const rest = raw.replace(/^[a-z][a-z0-9+.-]*:\/\//i, '').replace(/\/.*$/, '');
  let ip: string;
  let portText: string | undefined;
  const bracketed = /^\[([^\]]+)\](?::(\d*))?$/.exec(rest);
  if (bracketed) {
    ip = bracketed[1]!;
    portText = bracketed[2];
  } else if ((rest.match(/:/g) ?? []).length > 2) {
    ip = rest; // bare IPv6, so no port
  } else {
    // `ip:port`, or Java's accepted `ip::port`.
    const parts = rest.split(/::?/);
    ip = parts[0]!;
    portText = parts[1];
  }
  if (ip === '') throw new InvalidServerAddressError(input, 'no host');
  if (portText === undefined || portText === '') return { ip, port: DEFAULT_MAIN_PORT };
  const port = Number(portText);
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw new InvalidServerAddressError(input, 'bad port');
  return { ip, port };
}

/**
 * The client's server list and its choice of server. Without a recommendation it picks at
 * random among the servers other than the current one (decision 10.7), so the clients of one
 * server do not all move to the same neighbour.
 */
export class ServerList {
  private servers: ServerAddress[];

  constructor(
    addresses: readonly string[],
    private readonly random: () => number = Math.random,
  ) {
    this.servers = ServerList.parseAll(addresses);
  }

  static parseAll(addresses: readonly string[]): ServerAddress[] {
    const servers = addresses.map(parseServerAddress);
    if (servers.length === 0) throw new InvalidServerAddressError('', 'the server list is empty');
    return servers;
  }

  get all(): readonly ServerAddress[] {
    return this.servers;
  }

  replace(addresses: readonly string[]): void {
    this.servers = ServerList.parseAll(addresses);
  }

  contains(server: ServerAddress): boolean {
    return this.servers.some((s) => s.ip === server.ip && s.port === server.port);
  }

  /** A random server other than `current` (the same one when it is the only server). */
  pickOther(current: ServerAddress | undefined): ServerAddress {
    const others = current === undefined ? this.servers : this.servers.filter((s) => !(s.ip === current.ip && s.port === current.port));
    const pool = others.length > 0 ? others : this.servers;
    return pool[Math.floor(this.random() * pool.length)] ?? pool[0]!;
  }

  /**
   * Java's rule for a redirect: the entry with that ip:port, else the first entry with that IP
   * (taking the list's port), else none, and the redirect is ignored.
   */
  resolveRecommendation(ip: string, port: number | undefined): ServerAddress | undefined {
    return this.servers.find((s) => s.ip === ip && s.port === port) ?? this.servers.find((s) => s.ip === ip);
  }
}
