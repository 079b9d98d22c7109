import http2 from 'node:http2';
import { createRequire } from 'node:module';
import net from 'node:net';
import * as grpc from '@grpc/grpc-js';
import type { Logger } from 'pino';
import { ErrorCode, GrpcPaths, isBeyondTimers, NacosRemoteError, type Timers } from '../../protocol/index.js';
import { parseGrpcTimeout } from './grpc-status.js';
import { ByteBudget, InboundMessageAccount, KeptReads } from './inbound-budget.js';
import { AcceptedSocket, ListeningTransport, SocketListener, type ListenedTransport, type SocketIdentity } from './socket-listener.js';
import type { TlsTerminator } from './tls-terminator.js';
import { StreamEnd, type StreamSink, type Transport, type TransportHandlers } from './types.js';

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
  /** This member's address as the cluster lists it: the end of every connection id. */
  readonly memberAddress: string;
  /** After close(), how long in-flight unary calls may take before the socket is destroyed. */
  readonly closeGraceMs: number;
  /** HTTP/2 SETTINGS_MAX_CONCURRENT_STREAMS advertised and enforced per session. */
  readonly maxConcurrentStreams: number;
  /**
   * Declared bytes of inbound messages one session may hold (unfinished ones, and unary requests
   * awaiting the client's half-close), and the socket reads grpc-js keeps beyond those
   * (KeptReads); negative: no limit.
   */
  readonly maxSessionBufferedBytes: number;
  /** The same for the whole node, shared by its listeners. */
  readonly nodeBufferedBytes: ByteBudget;
  readonly timers: Timers;
  readonly logger: Logger;
  /** TLS below the HTTP/2 server (our own sockets), when the node has it on. */
  readonly tls?: TlsTerminator;
}

const identity = (value: Buffer): Buffer => value;

/**
 * The @grpc/grpc-js version this build was written and tested against: the transport reaches into
 * its private fields (see {@link injectorHttp2Server}), so package.json pins exactly this one.
 */
export const REQUIRED_GRPC_JS_VERSION = '1.14.7';

/** The installed @grpc/grpc-js lacks a private field the transport relies on. */
export class GrpcInternalsError extends NacosRemoteError {
  constructor(message: string) {
    super('GRPC_INTERNALS_CHANGED', ErrorCode.SERVER_ERROR, message);
  }
}

function installedGrpcJsVersion(): string {
  try {
    return (createRequire(import.meta.url)('@grpc/grpc-js/package.json') as { version?: string }).version ?? 'unknown';
  } catch {
    return 'unknown';
  }
}

/**
 * The HTTP/2 server behind a grpc-js connection injector. grpc-js (1.14) keeps it private, in
 * `Server.http2Servers` (the injector's is the newest key), and gives no per-connection close; we
 * need its sessions to close connections gracefully and to account their streams.
 * @throws GrpcInternalsError naming the installed and the required version if that shape is missing
 */
export function injectorHttp2Server(server: object, installedVersion = installedGrpcJsVersion()): http2.Http2Server {
  const servers: unknown = (server as { http2Servers?: unknown }).http2Servers;
  const newest = servers instanceof Map ? [...(servers as Map<unknown, unknown>).keys()].at(-1) : undefined;
  // Node's Http2Server is a net.Server; nothing else would do.
  if (!(newest instanceof net.Server)) {
    throw new GrpcInternalsError(
      `@grpc/grpc-js ${installedVersion} lacks the private Server.http2Servers map holding the connection injector's HTTP/2 server; ` +
        `this build needs exactly @grpc/grpc-js ${REQUIRED_GRPC_JS_VERSION}`,
    );
  }
  return newest as http2.Http2Server;
}


function dropTimeoutBeyondTimers(_stream: http2.ServerHttp2Stream, headers: http2.IncomingHttpHeaders): void {
  const timeout = headers['grpc-timeout'];
  if (typeof timeout !== 'string') return;
  const timeoutMs = parseGrpcTimeout(timeout);
  if (timeoutMs !== undefined && isBeyondTimers(timeoutMs)) delete headers['grpc-timeout'];
}

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

class SocketTransport extends AcceptedSocket implements ListenedTransport {
  closed = false;
  /** The HTTP/2 session grpc-js runs on this socket, once it exists. */
  session: http2.ServerHttp2Session | undefined;

  constructor(
    identity: SocketIdentity,
    port: 'sdk' | 'cluster',
    /** The raw `remoteAddress:remotePort`, exactly as `call.getPeer()` prints it. */
    readonly peer: string,
    readonly socket: net.Socket,
    private readonly closeGraceMs: number,
  ) {
    super(identity, port);
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
export class GrpcTransport extends ListeningTransport<SocketTransport> {
  private readonly grpcServer: grpc.Server;
  protected readonly listener: SocketListener<SocketTransport>;
  private readonly injector: ReturnType<grpc.Server['createConnectionInjector']>;
  /** Keyed by the raw `remoteAddress:remotePort`, exactly as `call.getPeer()` prints it. */
  private readonly byPeer = new Map<string, SocketTransport>();
  /** Each session's budget, and the socket reads its unfinished messages keep. */
  private readonly sessionInbound = new WeakMap<http2.Http2Session, { readonly budget: ByteBudget; readonly keptReads: KeptReads }>();

  constructor(
    private readonly options: GrpcTransportOptions,
    private readonly handlers: TransportHandlers,
  ) {
    super();
    this.grpcServer = new grpc.Server({
      'grpc.max_receive_message_length': options.maxMessageBytes,
      'grpc.max_send_message_length': options.maxMessageBytes,
      'grpc.keepalive_time_ms': options.keepaliveTimeMs,
      'grpc.keepalive_timeout_ms': options.keepaliveTimeoutMs,
      // Be lenient with client pings: Java pings every 6 min, Go every 60 s (spec 8.13).
      'grpc.http2.min_ping_interval_without_data_ms': 10_000,
      'grpc.keepalive_permit_without_calls': 1,
      // A peer that opens more after our SETTINGS are acknowledged has its session ended by nghttp2;
      // clients that follow HTTP/2 queue instead, and streams sent before the ack are refused.
      'grpc.max_concurrent_streams': options.maxConcurrentStreams,
    });
    this.grpcServer.addService(REQUEST_SERVICE, { request: this.onUnary });
    this.grpcServer.addService(BI_STREAM_SERVICE, { requestBiStream: this.onBiStream });
    this.injector = this.grpcServer.createConnectionInjector(grpc.ServerCredentials.createInsecure());
    const http2Server = injectorHttp2Server(this.grpcServer);
    http2Server.on('session', (session: http2.ServerHttp2Session) => {
      const socket = session.socket;
      const transport = this.byPeer.get(`${socket.remoteAddress}:${socket.remotePort}`);
      if (transport !== undefined) transport.session = session;
    });
    // Before grpc-js reads the headers: it truncates the timeout to 32 bits, so a long one (1000H)
    // becomes negative and ends the call at once. Past what a timer holds, the call gets no deadline.
    http2Server.prependListener('stream', dropTimeoutBeyondTimers);
    // Registered after grpc-js's own 'stream' listener, so its call has already paused the stream
    // and this 'data' listener sees the same chunks without changing the flow.
    http2Server.on('stream', (stream: http2.ServerHttp2Stream, headers: http2.IncomingHttpHeaders) => this.accountInbound(stream, headers));
    this.listener = new SocketListener(
      options,
      handlers,
      (socket, identity) => this.onSocket(socket, identity),
      (transport) => {
        if (this.byPeer.get(transport.peer) === transport) this.byPeer.delete(transport.peer);
      },
    );
  }

  protected closeConnections(): void {
    // Sessions first (grpc-js destroys them properly), then any socket that never got one.
    this.grpcServer.forceShutdown();
    setImmediate(() => {
      for (const transport of this.listener.transports) transport.socket.destroy();
    });
  }

  private onSocket(socket: net.Socket, identity: SocketIdentity): SocketTransport {
    const transport = new SocketTransport(identity, this.options.kind, `${socket.remoteAddress}:${socket.remotePort}`, socket, this.options.closeGraceMs);
    this.byPeer.set(transport.peer, transport);
    this.injector.injectConnection(socket);
    return transport;
  }

  /**
   * Holds the unfinished messages of our two calls to their session's and the node's budgets; a
   * message that does not fit is refused with RST_STREAM ENHANCE_YOUR_CALM (the client sees
   * RESOURCE_EXHAUSTED) and the session's other streams go on.
   */
  private accountInbound(stream: http2.ServerHttp2Stream, headers: http2.IncomingHttpHeaders): void {
    const path = headers[':path'];
    const session = stream.session;
    if ((path !== GrpcPaths.REQUEST && path !== GrpcPaths.BI_STREAM) || session === undefined) return;
    let inbound = this.sessionInbound.get(session);
    if (inbound === undefined) {
      const budget = new ByteBudget(this.options.maxSessionBufferedBytes);
      inbound = { budget, keptReads: new KeptReads(budget, this.options.nodeBufferedBytes) };
      this.sessionInbound.set(session, inbound);
    }
    // grpc-js keeps a unary request until the client half-closes: it counts until then.
    const retention = path === GrpcPaths.REQUEST ? 'until-closed' : 'while-arriving';
    const account = new InboundMessageAccount(inbound.budget, this.options.nodeBufferedBytes, retention, inbound.keptReads);
    stream.on('data', (chunk: Buffer) => {
      const verdict = account.feed(chunk);
      if (verdict === 'ok') return;
      account.close();
      this.options.logger.debug(
        { remote: `${session.socket?.remoteAddress}:${session.socket?.remotePort}`, path, budget: verdict },
        'inbound message refused: unfinished messages over budget',
      );
      stream.close(http2.constants.NGHTTP2_ENHANCE_YOUR_CALM);
    });
    // 'end': every byte was read and the call dispatched to its handler.
    if (path === GrpcPaths.REQUEST) stream.once('end', () => account.close());
    stream.once('close', () => account.close());
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
    new Promise<Uint8Array>((resolve) => resolve(this.handlers.unary(call.request, transport))).then(
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
