import { timingSafeEqual } from 'node:crypto';
import { lookup } from 'node:dns/promises';
import { watchFile, unwatchFile } from 'node:fs';
import { isIP } from 'node:net';
import type { Logger } from 'pino';
import { ClientStatus, RpcClient, type RequestOptions, type RpcClientOptions } from '../client/index.js';
import type { RequestMessage, ResponseMessage, ResponseTypeDefinition } from '../protocol/index.js';
import { CERTAIN_DOWN_REASONS, type MemberDownReason } from './member-messages.js';
import { readClusterConf, requireSelf, type MemberAddress } from './members.js';
import { normalizeIp } from '../server/transport/address.js';

export type MemberState = 'UP' | 'DOWN';

/** A member as `/v2/core/cluster/node/list` shows it (Nacos Member fields). */
export interface MemberView {
  readonly ip: string;
  readonly port: number;
  readonly address: string;
  readonly state: MemberState;
  readonly self: boolean;
}

export interface ClusterMembersOptions {
  /** `advertiseIp:port` of this node. */
  readonly self: string;
  readonly members: readonly MemberAddress[];
  /** SDK port offset; members' cluster gRPC port is port + offset + 1. */
  readonly grpcPortOffset: number;
  readonly logger: Logger;
  /** Re-read when it changes (Nacos's cluster.conf); absent when members came from --members. */
  readonly clusterConfPath?: string;
  readonly clusterConfPollMs?: number;
  /** Overrides for the member clients (intervals, for tests). */
  readonly clientOptions?: Partial<RpcClientOptions>;
  /**
   * A shared member identity (Nacos's `nacos.core.auth.server.identity.key/value`): sent as a
   * header on every cluster request, and a connection that presents it is trusted as a member.
   */
  readonly identity?: { readonly key: string; readonly value: string };
  /** How often hostname entries are resolved again (they are also on every member list change). */
  readonly resolveIntervalMs?: number;
  /** A host's addresses; default `dns.promises.lookup(host, { all: true })`. */
  readonly resolveHost?: (host: string) => Promise<string[]>;
}

const lookupAll = async (host: string): Promise<string[]> => (await lookup(host, { all: true })).map((a) => a.address);

/**
 * The cluster's members and one cluster client per other member (labels `source=cluster`, on the
 * member's cluster port), as Nacos's `ClusterRpcClientProxy`. A member whose client is not
 * connected is DOWN: left out of averages and redirect targets until it answers again.
 */
export class ClusterMembers {
  private members: MemberAddress[];
  private readonly clients = new Map<string, RpcClient>();
  private readonly upListeners = new Set<(address: string) => void>();
  private readonly downListeners = new Set<(address: string, reason: MemberDownReason) => void>();
  /**
   * The reason the down listeners were last told for a client since it last connected: each
   * outage is told once, but a certain reason still comes after an uncertain one (a hung member
   * that is then killed), so waits on a member that is certainly not running end.
   */
  private readonly toldDown = new WeakMap<RpcClient, MemberDownReason>();
  private closed = false;
  /** Member entries' IPs: literal ones, and what hostname entries resolved to. */
  private trustedIps = new Set<string>();
  /** Hostname entries' last resolved addresses. */
  private readonly resolvedHosts = new Map<string, string[]>();
  private resolveTimer: NodeJS.Timeout | undefined;

  constructor(private readonly options: ClusterMembersOptions) {
    this.members = [...options.members];
    this.updateTrustedIps();
  }

  get selfAddress(): string {
    return this.options.self;
  }

  /**
   * Connects to every other member (in the background), starts watching cluster.conf and
   * re-resolving hostname entries. Call {@link resolveAddresses} first so members are trusted from
   * the first connection.
   */
  start(): void {
    this.syncClients();
    const path = this.options.clusterConfPath;
    if (path !== undefined) {
      watchFile(path, { interval: this.options.clusterConfPollMs ?? 2000, persistent: false }, () => void this.reload(path));
    }
    this.resolveTimer = setInterval(() => void this.resolveAddresses(), this.options.resolveIntervalMs ?? 30_000);
    this.resolveTimer.unref();
  }

  /**
   * Resolves every hostname entry (a member with several addresses is trusted at each). A host that
   * does not resolve keeps the addresses it had, so a DNS hiccup does not untrust a member.
   */
  async resolveAddresses(): Promise<void> {
    const resolve = this.options.resolveHost ?? lookupAll;
    const hosts = [...new Set(this.members.filter((m) => isIP(m.ip) === 0).map((m) => m.ip))];
    await Promise.all(
      hosts.map(async (host) => {
        try {
          this.resolvedHosts.set(host, (await resolve(host)).map(normalizeIp));
        } catch (error) {
          this.options.logger.warn({ err: error, host }, 'member hostname did not resolve; keeping its previous addresses');
        }
      }),
    );
    this.updateTrustedIps();
  }

  /** Whether request headers carry the shared member identity (none configured: never). */
  hasIdentity(headers: Readonly<Record<string, string>>): boolean {
    const identity = this.options.identity;
    if (identity === undefined) return false;
    const wanted = identity.key.toLowerCase();
    const secret = Buffer.from(identity.value);
    // Header names are case-insensitive, as Java's request headers; the value is compared in constant time.
    return Object.entries(headers).some(([k, v]) => {
      const shown = Buffer.from(v);
      return k.toLowerCase() === wanted && shown.length === secret.length && timingSafeEqual(shown, secret);
    });
  }

  /** A member by its address or by the identity it presents. */
  isTrustedMember(ip: string, headers: Readonly<Record<string, string>>): boolean {
    return this.isMemberIp(ip) || this.hasIdentity(headers);
  }

  list(): MemberView[] {
    return this.members.map((m) => ({ ip: m.ip, port: m.port, address: m.address, state: this.stateOf(m.address), self: m.address === this.options.self }));
  }

  /** Other members that are up: the candidates for redirects. */
  upOthers(): string[] {
    return this.members.filter((m) => m.address !== this.options.self && this.stateOf(m.address) === 'UP').map((m) => m.address);
  }

  /**
   * Whether a socket address belongs to a listed member: a literal entry, or an address a hostname
   * entry resolved to. The one answer to "is this peer a member" (cluster port trust, admin writes).
   */
  isMemberIp(ip: string): boolean {
    return this.trustedIps.has(normalizeIp(ip));
  }

  /** Calls back each time this node's client to a member connects (first time and after it returns). */
  onMemberUp(listener: (address: string) => void): () => void {
    this.upListeners.add(listener);
    return () => this.upListeners.delete(listener);
  }

  /**
   * Calls back each time this node's client to a member stops being connected (the member is
   * DOWN): its stream ended, its health checks failed (a hung member), a connect to it failed, it
   * left cluster.conf, or no client could be made for it; the reason says which. Once per outage,
   * but a certain reason (a refused reconnect) still comes after an uncertain one.
   */
  onMemberDown(listener: (address: string, reason: MemberDownReason) => void): () => void {
    this.downListeners.add(listener);
    return () => this.downListeners.delete(listener);
  }

  /** Sends a request to a member over its cluster client. @throws when it is unknown or down */
  request(address: string, message: RequestMessage, timeoutMs: number): Promise<ResponseMessage>;
  request<T extends string, B extends object>(
    address: string,
    message: RequestMessage,
    options: RequestOptions<T, B> & { expect: ResponseTypeDefinition<T, B> },
  ): Promise<ResponseMessage<T, B>>;
  request(address: string, message: RequestMessage, timeoutOrOptions: number | RequestOptions): Promise<ResponseMessage> {
    const client = this.clients.get(address);
    if (client === undefined || client.status !== ClientStatus.RUNNING) {
      return Promise.reject(new Error(`member ${address} is not connected`));
    }
    return typeof timeoutOrOptions === 'number' ? client.request(message, timeoutOrOptions) : client.request(message, timeoutOrOptions);
  }

  /**
   * The member reached this one on its own link, so it is up: our client to it, if it is waiting
   * out a reconnect back-off (grown while the member was down), tries again at once.
   */
  heardFrom(address: string): void {
    this.clients.get(address)?.retryNow();
  }

  async close(): Promise<void> {
    this.closed = true;
    clearInterval(this.resolveTimer);
    if (this.options.clusterConfPath !== undefined) unwatchFile(this.options.clusterConfPath);
    const clients = [...this.clients.values()];
    this.clients.clear();
    await Promise.all(clients.map((c) => c.shutdown()));
  }

  private updateTrustedIps(): void {
    const ips = new Set<string>();
    for (const m of this.members) {
      if (isIP(m.ip) !== 0) ips.add(normalizeIp(m.ip));
      else for (const ip of this.resolvedHosts.get(m.ip) ?? []) ips.add(ip);
    }
    this.trustedIps = ips;
  }

  private stateOf(address: string): MemberState {
    if (address === this.options.self) return 'UP';
    return this.clients.get(address)?.status === ClientStatus.RUNNING ? 'UP' : 'DOWN';
  }

  /**
   * Tells the down listeners, once until the client connects again (and once more if a certain
   * reason follows an uncertain one), unless the member left or we close.
   */
  private memberDown(address: string, client: RpcClient, reason: MemberDownReason): void {
    if (this.closed || this.clients.get(address) !== client) return;
    const told = this.toldDown.get(client);
    if (told !== undefined && (CERTAIN_DOWN_REASONS.has(told) || !CERTAIN_DOWN_REASONS.has(reason))) return;
    this.toldDown.set(client, reason);
    this.options.logger.warn({ member: address, reason }, 'member down');
    this.tellDown(address, reason);
  }

  private tellDown(address: string, reason: MemberDownReason): void {
    for (const listener of this.downListeners) listener(address, reason);
  }

  private async reload(path: string): Promise<void> {
    if (this.closed) return;
    try {
      const members = await readClusterConf(path);
      if (this.closed) return;
      if (members === undefined) throw new Error(`${path} was removed`);
      requireSelf(members, this.options.self, path);
      this.members = members;
      this.options.logger.info({ members: members.map((m) => m.address) }, 'cluster members changed');
      this.updateTrustedIps();
      this.syncClients();
      await this.resolveAddresses();
    } catch (error) {
      this.options.logger.error({ err: error }, 'cluster.conf change ignored: the file is not valid');
    }
  }

  /** Creates clients for new members and shuts down those of members that left. */
  private syncClients(): void {
    const wanted = new Set(this.members.filter((m) => m.address !== this.options.self).map((m) => m.address));
    for (const [address, client] of this.clients) {
      if (!wanted.has(address)) {
        this.clients.delete(address);
        void client.shutdown();
        if (!this.closed) this.tellDown(address, 'left');
      }
    }
    for (const member of this.members) {
      if (!wanted.has(member.address) || this.clients.has(member.address)) continue;
      // One member's client failing to be made leaves the others theirs.
      let client: RpcClient;
      try {
        client = this.createClient(member.address);
      } catch (error) {
        this.options.logger.error({ err: error, member: member.address }, 'no client for this member: it stays DOWN');
        this.tellDown(member.address, 'no-client');
        continue;
      }
      this.clients.set(member.address, client);
      // A member that is not up yet is retried in the background by its client; each failed
      // attempt is told through connectFailed.
      client.start().catch(() => undefined);
    }
  }

  private createClient(address: string): RpcClient {
    const client = new RpcClient({
      serverAddresses: [address],
      labels: { source: 'cluster' },
      grpcPortOffset: this.options.grpcPortOffset + 1,
      retryTimes: 1,
      ...(this.options.identity === undefined ? {} : { headers: { [this.options.identity.key]: this.options.identity.value } }),
      logger: this.options.logger.child({ member: address }, { level: 'warn' }),
      ...this.options.clientOptions,
    });
    client.on('connected', () => {
      this.toldDown.delete(client);
      this.options.logger.info({ member: address }, 'member up');
      for (const listener of this.upListeners) listener(address);
    });
    client.on('lost', () => this.memberDown(address, client, 'lost')).on('unhealthy', () => this.memberDown(address, client, 'unhealthy'));
    // At start and on every reconnect; a failed move away from a working link says nothing of the member.
    client.on('connectFailed', (_server, error) => {
      if (client.status !== ClientStatus.RUNNING) this.memberDown(address, client, isConnectionRefused(error) ? 'refused' : 'unreachable');
    });
    return client;
  }
}

/**
 * Whether a failed connect was refused at the TCP level (nothing listens on the port): grpc-js
 * reports it only in the text of its UNAVAILABLE status, somewhere down the cause chain.
 */
function isConnectionRefused(error: unknown): boolean {
  for (let cause = error, depth = 0; cause instanceof Error && depth < 8; cause = cause.cause, depth++) {
    if (/\bECONNREFUSED\b/.test(cause.message)) return true;
  }
  return false;
}
