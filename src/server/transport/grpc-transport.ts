import type http2 from 'node:http2';
import net from 'node:net';
import * as grpc from '@grpc/grpc-js';
import type { Logger } from 'pino';
import { GrpcPaths } from '../../protocol/index.js';
import { SocketListener, type ListenedTransport, type SocketIdentity } from './socket-listener.js';
import { StreamEnd, type ServerTransport, type StreamSink, type Transport, type TransportHandlers } from './types.js';

export interface GrpcTransportOptions {
  readonly host: string;
  readonly port: number;
  readonly kind: 'sdk' | 'cluster';
  readonly maxMessageBytes: number;
  /** Server keepalive ping interval (grpc-java server default: 2 h). */
  readonly keepaliveTimeMs: number;
  /** Keepalive ack timeout (Nacos: 20 s). */
  readonly keepaliveTimeoutMs: number;
  /** A TCP connection with no registered connection on it after this is closed (idle sockets). */
  readonly unregisteredTimeoutMs: number;
  /** After close(), how long in-flight unary calls may take before the socket is destroyed. */
  readonly closeGraceMs: number;
  /** HTTP/2 SETTINGS_MAX_CONCURRENT_STREAMS advertised and enforced per session. */
  readonly maxConcurrentStreams: number;
  readonly now: () => number;
  readonly logger: Logger;
}

const identity = (value: Buffer): Buffer => value;


/** Hand-written service definitions: the proto has no package, and bytes pass through untouched. */
const REQUEST_SERVICE: grpc.ServiceDefinition = {
  request: {
    path: GrpcPaths.REQUEST,
    requestStream: false,
    responseStream: false,
    requestSerialize: identity,
    requestDeserialize: identity,
    responseSerialize: identity,
    responseDeserialize: identity,
  },
};

const BI_STREAM_SERVICE: grpc.ServiceDefinition = {
  requestBiStream: {
    path: GrpcPaths.BI_STREAM,
    requestStream: true,
    responseStream: true,
    requestSerialize: identity,
    requestDeserialize: identity,
    responseSerialize: identity,
    responseDeserialize: identity,
  },
};

class SocketTransport implements ListenedTransport {
  closed = false;
  /** The HTTP/2 session grpc-js runs on this socket, once it exists. */
  session: http2.ServerHttp2Session | undefined;
  readonly id: string;
  readonly remoteIp: string;
  readonly remotePort: number;
  readonly localPort: number;

  constructor(
    identity: SocketIdentity,
    readonly port: 'sdk' | 'cluster',
    /** The raw `remoteAddress:remotePort`, exactly as `call.getPeer()` prints it. */
    readonly peer: string,
    readonly socket: net.Socket,
    private readonly closeGraceMs: number,
  ) {
    ({ id: this.id, remoteIp: this.remoteIp, remotePort: this.remotePort, localPort: this.localPort } = identity);
  }

  socketClosed(): void {
    this.closed = true;
  }

  /**
   * Closes the HTTP/2 session gracefully: GOAWAY, then in-flight calls finish and what was
   * written (a ConnectResetRequest, trailers) is flushed; destroyed after the grace period.
   * Never the raw socket under a live session: Node 20 aborts on data for a torn-down stream.
   */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    const session = this.session;
    if (session === undefined || session.destroyed) {
      this.socket.destroy();
      return;
    }
    session.close();
    setTimeout(() => {
      if (!session.destroyed) session.destroy();
    }, this.closeGraceMs).unref();
  }
}

/**
 * One gRPC listener (SDK or cluster port) on grpc-js, with our own `net.Server` feeding the
 * connection injector (decision 10.1) so that each TCP connection gets one connectionId, shared
 * by every call on it, and its socket's close is the transport's end.
 */
export class GrpcTransport implements ServerTransport {
  private readonly grpcServer: grpc.Server;
  private readonly listener: SocketListener<SocketTransport>;
  private readonly injector: ReturnType<grpc.Server['createConnectionInjector']>;
  /** Keyed by the raw `remoteAddress:remotePort`, exactly as `call.getPeer()` prints it. */
  private readonly byPeer = new Map<string, SocketTransport>();
  private closing: Promise<void> | undefined;

  constructor(
    private readonly options: GrpcTransportOptions,
    private readonly handlers: TransportHandlers,
  ) {
    this.grpcServer = new grpc.Server({
      'grpc.max_receive_message_length': options.maxMessageBytes,
      'grpc.max_send_message_length': options.maxMessageBytes,
      'grpc.keepalive_time_ms': options.keepaliveTimeMs,
      'grpc.keepalive_timeout_ms': options.keepaliveTimeoutMs,
      // Be lenient with client pings: Java pings every 6 min, Go every 60 s (spec 8.13).
      'grpc.http2.min_ping_interval_without_data_ms': 10_000,
      'grpc.keepalive_permit_without_calls': 1,
      'grpc.max_concurrent_streams': options.maxConcurrentStreams,
    });
    this.grpcServer.addService(REQUEST_SERVICE, { request: this.onUnary });
    this.grpcServer.addService(BI_STREAM_SERVICE, { requestBiStream: this.onBiStream });
    this.injector = this.grpcServer.createConnectionInjector(grpc.ServerCredentials.createInsecure());
    this.injectorHttp2Server().on('session', (session: http2.ServerHttp2Session) => {
      const socket = session.socket;
      const transport = this.byPeer.get(`${socket.remoteAddress}:${socket.remotePort}`);
      if (transport !== undefined) transport.session = session;
    });
    this.listener = new SocketListener(
      options,
      handlers,
      (socket, identity) => this.onSocket(socket, identity),
      (transport) => {
        if (this.byPeer.get(transport.peer) === transport) this.byPeer.delete(transport.peer);
      },
    );
  }

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

  private async closeAll(): Promise<void> {
    const drained = this.listener.drained();
    this.stopAccepting();
    // Sessions first (grpc-js destroys them properly), then any socket that never got one.
    this.grpcServer.forceShutdown();
    setImmediate(() => {
      for (const transport of this.listener.transports) transport.socket.destroy();
    });
    await drained;
  }

  private onSocket(socket: net.Socket, identity: SocketIdentity): SocketTransport {
    const transport = new SocketTransport(identity, this.options.kind, `${socket.remoteAddress}:${socket.remotePort}`, socket, this.options.closeGraceMs);
    this.byPeer.set(transport.peer, transport);
    this.injector.injectConnection(socket);
    return transport;
  }

  /**
   * grpc-js (1.14) keeps the HTTP/2 server behind an injector private, and gives no per-connection
   * close; we need its sessions to close connections gracefully. Fails loudly if that changes.
   */
  private injectorHttp2Server(): http2.Http2Server {
    const servers = (this.grpcServer as unknown as { http2Servers?: Map<http2.Http2Server, unknown> }).http2Servers;
    const server = servers === undefined ? undefined : [...servers.keys()].at(-1);
    if (server === undefined) throw new Error('grpc-js internals changed: cannot find the connection injector HTTP/2 server');
    return server;
  }

  private transportOf(call: { getPeer(): string }): SocketTransport | undefined {
    return this.byPeer.get(call.getPeer());
  }

  private readonly onUnary = (
    call: grpc.ServerUnaryCall<Buffer, Buffer>,
    callback: grpc.sendUnaryData<Buffer>,
  ): void => {
    const transport = this.transportOf(call);
    if (transport === undefined) {
      callback({ code: grpc.status.UNAVAILABLE, details: 'connection is closing' });
      return;
    }
    this.handlers.unary(call.request, transport).then(
      (bytes) => callback(null, Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)),
      (error: unknown) => callback({ code: grpc.status.INTERNAL, details: String(error) }),
    );
  };

  private readonly onBiStream = (call: grpc.ServerDuplexStream<Buffer, Buffer>): void => {
    const transport = this.transportOf(call);
    if (transport === undefined) {
      call.end();
      return;
    }
    let ended = false;
    const sink: StreamSink = {
      get ended() {
        return ended || call.cancelled || call.destroyed;
      },
      write(bytes, onFlushed) {
        if (sink.ended) {
          onFlushed(new Error('stream ended'));
          return;
        }
        call.write(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength), onFlushed);
      },
      end() {
        if (ended) return;
        ended = true;
        if (!call.cancelled && !call.destroyed) call.end();
      },
    };
    const session = this.handlers.openStream(transport, sink);
    call.on('data', (bytes: Buffer) => session.onMessage(bytes));
    call.on('end', () => session.onEnd(StreamEnd.ENDED_BY_CLIENT));
    call.on('cancelled', () => session.onEnd(StreamEnd.CANCELLED));
    call.on('error', (error: Error) => {
      this.options.logger.debug({ err: error, connectionId: transport.id }, 'stream error');
      session.onEnd(StreamEnd.ERROR);
    });
    call.on('close', () => session.onEnd(StreamEnd.CANCELLED));
  };
}
