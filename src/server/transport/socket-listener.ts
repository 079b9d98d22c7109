import net from 'node:net';
import { TLSSocket } from 'node:tls';
import type { Logger } from 'pino';
import type { Timers } from '../../protocol/index.js';
import { connectionIdOf, normalizeIp } from './address.js';
import type { TlsTerminator } from './tls-terminator.js';
import type { ServerTransport, Transport, TransportHandlers } from './types.js';

export interface SocketListenerOptions {
  readonly host: string;
  readonly port: number;
  /** A TCP connection with no registered connection on it after this is closed (idle sockets). */
  readonly unregisteredTimeoutMs: number;
  /** This member's address as the cluster lists it: the end of every connection id. */
  readonly memberAddress: string;
  /** The clock for connection ids and the deadlines above. */
  readonly timers: Timers;
  readonly logger: Logger;
  /** When set, every socket goes through it (TLS, or plaintext in compatibility mode) before HTTP/2. */
  readonly tls?: TlsTerminator;
}

/** Who is on the other end of an accepted socket; the connection id is made from it once. */
export interface SocketIdentity {
  readonly id: string;
  readonly remoteIp: string;
  readonly remotePort: number;
  readonly localPort: number;
  /** Known once TLS (if any) is done: set when the socket is adopted. */
  readonly encrypted: boolean;
}

/** A transport the listener tracks: told when its socket has closed. */
export interface ListenedTransport extends Transport {
  socketClosed(): void;
}

/** What both transports' per-socket objects know of their socket from the moment it is adopted. */
export abstract class AcceptedSocket {
  readonly id: string;
  readonly remoteIp: string;
  readonly remotePort: number;
  readonly localPort: number;
  readonly encrypted: boolean;

  constructor(
    identity: SocketIdentity,
    readonly port: 'sdk' | 'cluster',
  ) {
    ({ id: this.id, remoteIp: this.remoteIp, remotePort: this.remotePort, localPort: this.localPort, encrypted: this.encrypted } = identity);
  }
}

/**
 * The TCP side both gRPC transports share: our own `net.Server`, so each accepted socket gets its
 * connection id (decision 10.1) and its `close` is the transport's end; closing the listener
 * leaves live connections alone. The gRPC implementation takes the socket in `accept`.
 */
export class SocketListener<T extends ListenedTransport> {
  private readonly server: net.Server;
  readonly transports = new Set<T>();
  /** Sockets still in their TLS handshake (or not yet showing whether they speak TLS). */
  private readonly handshaking = new Set<net.Socket>();
  /** Set while waiting in drained(): called when the last socket has closed. */
  private onDrained: (() => void) | undefined;

  constructor(
    private readonly options: SocketListenerOptions,
    private readonly handlers: TransportHandlers,
    /** Hands the socket to the gRPC implementation; undefined if it could not be taken (then destroyed). */
    private readonly accept: (socket: net.Socket, identity: SocketIdentity) => T | undefined,
    /** Transport-specific cleanup once a socket has closed. */
    private readonly forget: (transport: T) => void = () => undefined,
  ) {
    this.server = net.createServer({ noDelay: true }, (socket) => this.onSocket(socket));
  }

  /** Binds the port; resolves with the bound port. */
  listen(): Promise<number> {
    return new Promise((resolve, reject) => {
      const onError = (error: Error) => reject(error);
      this.server.once('error', onError);
      this.server.listen(this.options.port, this.options.host, () => {
        this.server.off('error', onError);
        resolve((this.server.address() as net.AddressInfo).port);
      });
    });
  }

  /** Stops accepting new TCP connections; existing ones stay, those still in a TLS handshake go. */
  stopAccepting(): void {
    if (this.server.listening) this.server.close();
    for (const socket of this.handshaking) socket.destroy();
  }

  /**
   * Resolves once every accepted socket has closed. Counted on our own set, not net.Server's
   * 'close' event: that may have fired already (stopAccepting() came earlier, and the last socket
   * closed since), and waiting for it would wait forever.
   */
  drained(): Promise<void> {
    return new Promise<void>((resolve) => {
      if (this.transports.size === 0) resolve();
      else this.onDrained = resolve;
    });
  }

  private onSocket(raw: net.Socket): void {
    const remoteAddress = raw.remoteAddress;
    const remotePort = raw.remotePort;
    if (remoteAddress === undefined || remotePort === undefined) {
      raw.destroy();
      return;
    }
    const { options } = this;
    const remoteIp = normalizeIp(remoteAddress);
    // The identity is the TCP peer's, whatever runs on top of it.
    const identity: SocketIdentity = {
      id: connectionIdOf(options.timers.now(), remoteIp, remotePort, options.memberAddress),
      remoteIp,
      remotePort,
      localPort: raw.localPort ?? options.port,
      encrypted: false,
    };
    raw.setKeepAlive(true, 60_000);
    const terminator = options.tls;
    if (terminator === undefined) {
      this.adopt(raw, identity);
      return;
    }
    this.handshaking.add(raw);
    // A peer that never finishes its handshake is not kept either.
    const cancelHandshakeDeadline = options.timers.setTimeout(() => raw.destroy(), options.unregisteredTimeoutMs);
    raw.on('error', (error) => options.logger.debug({ err: error, connectionId: identity.id }, 'socket error before TLS'));
    raw.once('close', () => {
      cancelHandshakeDeadline();
      this.handshaking.delete(raw);
    });
    terminator.accept(raw, identity.id, (socket) => {
      cancelHandshakeDeadline();
      this.handshaking.delete(raw);
      this.adopt(socket, { ...identity, encrypted: socket instanceof TLSSocket });
    });
  }

  private adopt(socket: net.Socket, identity: SocketIdentity): void {
    const { options } = this;
    const transport = this.accept(socket, identity);
    if (transport === undefined) {
      socket.destroy();
      return;
    }
    this.transports.add(transport);
    // A peer that connects and never registers (no stream, or only ServerChecks) is not kept.
    const cancelUnregisteredDeadline = options.timers.setTimeout(() => {
      if (!transport.closed && !this.handlers.registered(transport)) transport.close();
    }, options.unregisteredTimeoutMs);
    socket.once('close', () => {
      cancelUnregisteredDeadline();
      transport.socketClosed();
      this.transports.delete(transport);
      this.forget(transport);
      try {
        this.handlers.transportClosed(transport);
      } finally {
        if (this.transports.size === 0) this.onDrained?.();
      }
    });
    socket.on('error', (error) => options.logger.debug({ err: error, connectionId: transport.id }, 'socket error'));
  }
}

/** What both transports do with their listener: listen, stop accepting, close once and wait for every socket. */
export abstract class ListeningTransport<T extends ListenedTransport> implements ServerTransport {
  protected abstract readonly listener: SocketListener<T>;
  private closing: Promise<void> | undefined;

  listen(): Promise<number> {
    return this.listener.listen();
  }

  stopAccepting(): void {
    this.listener.stopAccepting();
  }

  close(): Promise<void> {
    this.closing ??= this.closeAll();
    return this.closing;
  }

  /** Ends every connection; the listener no longer accepts. */
  protected abstract closeConnections(): void;

  private async closeAll(): Promise<void> {
    const drained = this.listener.drained();
    this.stopAccepting();
    this.closeConnections();
    await drained;
  }
}
