import http2 from 'node:http2';
import net from 'node:net';
import { GrpcPaths, isBeyondTimers } from '../../protocol/index.js';
import { ByteBudget, releaseInBoth, reserveInBoth } from './inbound-budget.js';
import { FrameDecoder, FrameError, FrameProblem, framed, prefixOf, type FrameProblemKind, type FrameReceiver, type MessageRetention } from './frame-decoder.js';
import {
  GrpcStatus,
  isGrpcContentType,
  OK_TRAILERS,
  parseGrpcTimeout,
  RESPONSE_HEADERS,
  statusTrailers,
  trailersOnly,
  type GrpcStatusCode,
} from './grpc-status.js';
import { AcceptedSocket, ListeningTransport, SocketListener, type ListenedTransport, type SocketIdentity, type SocketListenerOptions } from './socket-listener.js';
import { StreamEnd, type StreamSession, type StreamSink, type TransportHandlers } from './types.js';

const { NGHTTP2_ENHANCE_YOUR_CALM, NGHTTP2_NO_ERROR } = http2.constants;

/**
 * Response headers are followed by trailers, and carry no `date` (gRPC servers send none; Node
 * formats and encodes one per call). Node copies options, so one object serves every call.
 */
const WITH_TRAILERS = Object.freeze({ waitForTrailers: true, sendDate: false });
/** A response that is all there is (trailers-only, or an HTTP status): no `date` either. */
const HEADERS_ONLY = Object.freeze({ endStream: true, sendDate: false });

/** Messages up to this size are copied behind their prefix (one write); larger ones are written as they are. */
const COPY_LIMIT_BYTES = 16 * 1024;

/**
 * The last push framed, and its frame: a push prepared once is written to many streams in a row
 * (every subscriber of a service), and framed once. Frames are never changed once written.
 */
let lastPush: { readonly bytes: Uint8Array; readonly frame: Buffer } | undefined;

function pushFrame(bytes: Uint8Array): Buffer {
  if (lastPush?.bytes !== bytes) lastPush = { bytes, frame: framed(bytes) };
  return lastPush.frame;
}

/**
 * Writes one length-prefixed message: a reply that ends the stream (`onFlushed` undefined; its
 * trailers follow) or a push that leaves it open, `onFlushed` called once flow control let it out.
 */
function writeFramed(stream: http2.ServerHttp2Stream, bytes: Uint8Array, onFlushed?: (error?: Error | null) => void): void {
  if (bytes.byteLength <= COPY_LIMIT_BYTES) {
    if (onFlushed === undefined) stream.end(framed(bytes));
    else stream.write(pushFrame(bytes), onFlushed);
    return;
  }
  stream.cork();
  stream.write(prefixOf(bytes.byteLength));
  const body = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (onFlushed === undefined) {
    stream.end(body);
  } else {
    stream.write(body, onFlushed);
    stream.uncork();
  }
}

export interface Http2TransportOptions extends SocketListenerOptions {
  readonly kind: 'sdk' | 'cluster';
  readonly maxMessageBytes: number;
  /** Server keepalive ping interval (grpc-java server default: 2 h). */
  readonly keepaliveTimeMs: number;
  /** Keepalive ack timeout (Nacos: 20 s): a connection that does not answer a ping in time is destroyed. */
  readonly keepaliveTimeoutMs: number;
  /** After a connection's close, how long in-flight calls may take before its socket is destroyed. */
  readonly closeGraceMs: number;
  /** HTTP/2 SETTINGS_MAX_CONCURRENT_STREAMS advertised and enforced per session. */
  readonly maxConcurrentStreams: number;
  /**
   * Declared bytes of inbound messages one connection may hold (unfinished ones, and complete
   * unary requests awaiting the client's half-close); negative: no limit.
   */
  readonly maxSessionBufferedBytes: number;
  /** The same for the whole node, shared by its listeners (and with the grpc-js transport's accounting). */
  readonly nodeBufferedBytes: ByteBudget;
}

/** One TCP connection and its HTTP/2 session: the connection identity is the socket's own. */
class H2Connection extends AcceptedSocket implements ListenedTransport {
  closed = false;
  /** Declared bytes of inbound messages its streams hold (unfinished ones, and unary requests not yet dispatched). */
  readonly held: ByteBudget;
  /** Its open bi-streams (usually one), ended when the whole transport closes. */
  biStreams: Set<BiStreamCall> | undefined;
  keepaliveTimer: NodeJS.Timeout | undefined;
  pingAckTimer: NodeJS.Timeout | undefined;
  graceTimer: NodeJS.Timeout | undefined;

  constructor(
    identity: SocketIdentity,
    port: 'sdk' | 'cluster',
    readonly session: http2.ServerHttp2Session,
    readonly owner: Http2Transport,
  ) {
    super(identity, port);
    this.held = new ByteBudget(owner.options.maxSessionBufferedBytes);
  }

  /**
   * GOAWAY: no new streams, in-flight calls finish and what was written leaves; the socket is
   * destroyed after the grace period if the peer holds streams open.
   */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    const session = this.session;
    if (session.destroyed) return;
    session.close();
    if (!session.destroyed) this.graceTimer = setTimeout(destroySession, this.owner.options.closeGraceMs, session).unref();
  }

  /** Bytes held for inbound messages: refused past the connection's budget or the node's. */
  tryHold(bytes: number): boolean {
    return reserveInBoth(this.held, this.owner.options.nodeBufferedBytes, bytes) === 'ok';
  }

  release(bytes: number): void {
    releaseInBoth(this.held, this.owner.options.nodeBufferedBytes, bytes);
  }

  ping(): void {
    if (this.closed || this.session.destroyed) return;
    const sent = this.session.ping((error) => {
      clearTimeout(this.pingAckTimer);
      if (error === null && !this.closed) this.keepaliveTimer?.refresh();
    });
    if (sent) this.pingAckTimer = setTimeout(keepaliveExpired, this.owner.options.keepaliveTimeoutMs, this).unref();
    else this.keepaliveTimer?.refresh();
  }

  socketClosed(): void {
    this.closed = true;
    clearTimeout(this.keepaliveTimer);
    clearTimeout(this.pingAckTimer);
    clearTimeout(this.graceTimer);
  }
}

function destroySocket(this: net.Socket): void {
  this.destroy();
}

function destroySession(session: http2.ServerHttp2Session): void {
  if (!session.destroyed) session.destroy();
}

function keepaliveTick(connection: H2Connection): void {
  connection.ping();
}

function keepaliveExpired(connection: H2Connection): void {
  connection.owner.options.logger.debug({ connectionId: connection.id }, 'keepalive ping not answered in time; closing');
  connection.session.destroy();
}

/** The call a stream carries, kept on the stream so that its listeners need no closure. */
const CALL = Symbol('grpcCall');
type CallStream = http2.ServerHttp2Stream & { [CALL]?: Call };

/** One accepted gRPC call on one HTTP/2 stream. */
abstract class Call implements FrameReceiver {
  protected readonly decoder: FrameDecoder;
  /** Sent when the response side ends (see onWantTrailers). */
  trailers = OK_TRAILERS;
  /** Whether the call's outcome is decided (answered, failed or expired). */
  protected done = false;
  deadlineTimer: NodeJS.Timeout | undefined;

  constructor(
    readonly connection: H2Connection,
    readonly stream: CallStream,
    private readonly encoding: string | undefined,
    retention: MessageRetention,
  ) {
    this.decoder = new FrameDecoder(connection.owner.options.maxMessageBytes, this, retention);
    stream[CALL] = this;
    stream.on('data', onCallData);
    stream.on('end', onCallEnd);
    stream.on('close', onCallClose);
  }

  abstract onMessage(message: Buffer): void;
  abstract halfClosed(): void;
  abstract expire(): void;

  data(chunk: Buffer): void {
    if (this.done) return;
    try {
      this.decoder.push(chunk);
    } catch (error) {
      if (!(error instanceof FrameError)) throw error;
      this.refuseFrames(error);
    }
  }

  holdStarted(declaredBytes: number): boolean {
    return this.connection.tryHold(declaredBytes);
  }

  holdEnded(heldBytes: number): void {
    this.connection.release(heldBytes);
  }

  /** The stream closed, for whatever reason. */
  closed(): void {
    this.settle();
  }

  /** The outcome is decided: no deadline, and nothing more is read or held. */
  protected settle(): void {
    this.done = true;
    clearTimeout(this.deadlineTimer);
    this.decoder.dispose();
  }

  /** Ends the call with a status, after the reply if one was sent, and stops reading it. */
  protected fail(code: GrpcStatusCode, message: string): void {
    this.settle();
    endWithStatus(this.stream, code, message);
  }

  protected refuseFrames(error: FrameError): void {
    if (error.problem === FrameProblem.OVER_BUDGET) {
      // As the grpc-js transport does (docs/operations.md): reset at once, before more bytes come;
      // gRPC clients report RESOURCE_EXHAUSTED.
      this.settle();
      this.stream.close(NGHTTP2_ENHANCE_YOUR_CALM);
      return;
    }
    this.fail(this.statusOf(error.problem), error.message);
  }

  private statusOf(problem: Exclude<FrameProblemKind, 'over-budget'>): GrpcStatusCode {
    switch (problem) {
      case FrameProblem.TOO_LARGE:
        return GrpcStatus.RESOURCE_EXHAUSTED;
      case FrameProblem.COMPRESSED:
        // As gRPC: a compressed message under an encoding we lack is UNIMPLEMENTED; a compressed
        // flag with no (or identity) encoding is a broken peer.
        return this.encoding === undefined || this.encoding === 'identity' ? GrpcStatus.INTERNAL : GrpcStatus.UNIMPLEMENTED;
      case FrameProblem.BAD_FLAG:
        return GrpcStatus.INTERNAL;
    }
  }
}

/**
 * `Request/request`: one message in, one out, answered once the client has half-closed. The
 * request's bytes stay held (decoder retention 'until-closed') until it is dispatched.
 */
class UnaryCall extends Call {
  private request: Buffer | undefined;

  onMessage(message: Buffer): void {
    if (this.done) return;
    if (this.request !== undefined) {
      this.fail(GrpcStatus.INTERNAL, 'more than one request message on a unary call');
      return;
    }
    this.request = message;
  }

  halfClosed(): void {
    if (this.done) return;
    const request = this.request;
    if (request === undefined || this.decoder.pending) {
      this.fail(GrpcStatus.INTERNAL, request === undefined ? 'no request message' : 'truncated request message');
      return;
    }
    this.decoder.dispose();
    this.run(request);
  }

  expire(): void {
    if (!this.done) this.fail(GrpcStatus.DEADLINE_EXCEEDED, 'Deadline exceeded');
  }

  private run(request: Buffer): void {
    let reply: Uint8Array | Promise<Uint8Array>;
    try {
      reply = this.connection.owner.handlers.unary(request, this.connection);
    } catch (error) {
      this.fail(GrpcStatus.INTERNAL, String(error));
      return;
    }
    if (reply instanceof Promise) {
      reply.then(
        (settled) => this.answer(settled),
        (error: unknown) => {
          if (!this.done) this.fail(GrpcStatus.INTERNAL, String(error));
        },
      );
    } else {
      this.answer(reply);
    }
  }

  private answer(reply: Uint8Array): void {
    if (this.done || this.stream.destroyed) return;
    const { maxMessageBytes } = this.connection.owner.options;
    if (reply.byteLength > maxMessageBytes) {
      this.fail(GrpcStatus.RESOURCE_EXHAUSTED, `Sent message larger than max (${reply.byteLength} vs. ${maxMessageBytes})`);
      return;
    }
    this.settle();
    const stream = this.stream;
    stream.respond(RESPONSE_HEADERS, WITH_TRAILERS);
    writeFramed(stream, reply);
  }
}

/** `BiRequestStream/requestBiStream`: messages both ways until either side ends. */
class BiStreamCall extends Call implements StreamSink {
  private session: StreamSession | undefined;
  private endedFlag = false;

  /** Opens the acceptor's session; response headers go out at once (Nacos clients expect none first). */
  open(handlers: TransportHandlers): void {
    this.stream.respond(RESPONSE_HEADERS, WITH_TRAILERS);
    (this.connection.biStreams ??= new Set()).add(this);
    this.session = handlers.openStream(this.connection, this);
  }

  get ended(): boolean {
    return this.endedFlag || this.stream.destroyed || this.stream.closed;
  }

  write(bytes: Uint8Array, onFlushed: (error?: Error | null) => void): void {
    if (this.ended) {
      onFlushed(new Error('stream ended'));
      return;
    }
    // The callback runs once HTTP/2 flow control let the bytes out: a client that does not read
    // holds them back, and the Connection's outbound cap sees it.
    writeFramed(this.stream, bytes, onFlushed);
  }

  end(): void {
    if (this.endedFlag) return;
    this.endedFlag = true;
    const stream = this.stream;
    if (!stream.destroyed && !stream.closed && !stream.writableEnded) stream.end();
  }

  onMessage(message: Buffer): void {
    if (!this.done) this.session?.onMessage(message);
  }

  halfClosed(): void {
    this.ending(StreamEnd.ENDED_BY_CLIENT);
  }

  expire(): void {
    if (this.done) return;
    this.fail(GrpcStatus.DEADLINE_EXCEEDED, 'Deadline exceeded');
    this.ending(StreamEnd.CANCELLED);
  }

  /** Ends the stream with a status (the server is closing): the client sees why. */
  shutDown(): void {
    if (this.done) return;
    this.endedFlag = true;
    this.fail(GrpcStatus.UNAVAILABLE, 'server is closing');
  }

  override closed(): void {
    super.closed();
    this.endedFlag = true;
    this.connection.biStreams?.delete(this);
    this.ending(this.stream.rstCode === undefined || this.stream.rstCode === NGHTTP2_NO_ERROR ? StreamEnd.ENDED_BY_CLIENT : StreamEnd.CANCELLED);
  }

  protected override refuseFrames(error: FrameError): void {
    this.endedFlag = true;
    super.refuseFrames(error);
    this.ending(StreamEnd.ERROR);
  }

  private ending(reason: (typeof StreamEnd)[keyof typeof StreamEnd]): void {
    const session = this.session;
    this.session = undefined;
    session?.onEnd(reason);
  }
}

/**
 * Ends a stream with a status. Trailers-only if nothing was sent, then RST_STREAM(NO_ERROR) once
 * they are out, so a client still sending stops (as gRPC servers do). After response headers,
 * the status goes in trailers (Node would drop them once the stream is closed), and the client
 * ends its side on reading them; what it still sends is discarded.
 */
function endWithStatus(stream: CallStream, code: GrpcStatusCode, message: string): void {
  if (stream.destroyed || stream.closed) return;
  if (!stream.headersSent) {
    stream.respond(trailersOnly(code, message), HEADERS_ONLY);
    stream.close(NGHTTP2_NO_ERROR);
  } else if (!stream.writableEnded) {
    const call = stream[CALL];
    if (call !== undefined) call.trailers = statusTrailers(code, message);
    stream.end();
  }
}

// Stream listeners shared by every call: `this` is the stream, its call is on it.
function onCallData(this: CallStream, chunk: Buffer): void {
  this[CALL]?.data(chunk);
}
function onCallEnd(this: CallStream): void {
  this[CALL]?.halfClosed();
}
function onCallClose(this: CallStream): void {
  this[CALL]?.closed();
}
function onWantTrailers(this: CallStream): void {
  this.sendTrailers(this[CALL]?.trailers ?? OK_TRAILERS);
}
function onCallDeadline(call: Call): void {
  call.expire();
}

/**
 * One gRPC listener (SDK or cluster port) written directly on `node:http2`: the two Nacos methods
 * with gRPC framing, status and trailers, deadlines, size limits and keepalive. Our own
 * `net.Server` hands each socket to the HTTP/2 server, so the socket is the connection's identity
 * (no private fields) and closing the listener does not GOAWAY the live sessions.
 */
export class Http2Transport extends ListeningTransport<H2Connection> {
  private readonly h2: http2.Http2Server;
  protected readonly listener: SocketListener<H2Connection>;
  private readonly bySession = new WeakMap<http2.Http2Session, H2Connection>();
  /** The session Node created, synchronously, for the socket being accepted. */
  private acceptedSession: http2.ServerHttp2Session | undefined;

  constructor(
    readonly options: Http2TransportOptions,
    readonly handlers: TransportHandlers,
  ) {
    super();
    this.h2 = http2.createServer({
      settings: { maxConcurrentStreams: options.maxConcurrentStreams },
    });
    this.h2.on('session', (session: http2.ServerHttp2Session) => {
      this.acceptedSession = session;
    });
    this.h2.on('stream', this.onStream);
    this.h2.on('sessionError', (error: Error, session: http2.ServerHttp2Session) => {
      options.logger.debug({ err: error, connectionId: this.bySession.get(session)?.id }, 'HTTP/2 session error');
    });
    this.listener = new SocketListener(options, handlers, (socket, identity) => this.onSocket(socket, identity));
  }

  protected closeConnections(): void {
    for (const connection of this.listener.transports) {
      for (const call of connection.biStreams ?? []) call.shutDown();
      connection.close();
    }
  }

  private onSocket(socket: net.Socket, identity: SocketIdentity): H2Connection | undefined {
    // Node creates the session synchronously, inside 'connection'.
    this.h2.emit('connection', socket);
    const session = this.acceptedSession;
    this.acceptedSession = undefined;
    if (session === undefined) return undefined;
    const connection = new H2Connection(identity, this.options.kind, session, this);
    this.bySession.set(session, connection);
    connection.keepaliveTimer = setTimeout(keepaliveTick, this.options.keepaliveTimeMs, connection).unref();
    // Once a session has finished, Node ends its socket and waits for the peer's FIN, which a peer
    // that stopped reading never sends: nothing more will be written, so the socket goes now.
    socket.on('finish', destroySocket);
    return connection;
  }

  private readonly onStream = (stream: CallStream, headers: http2.IncomingHttpHeaders): void => {
    stream.on('error', onStreamError);
    stream.on('wantTrailers', onWantTrailers);
    const connection = stream.session === undefined ? undefined : this.bySession.get(stream.session);
    const path = headers[':path'];
    if (connection === undefined || connection.closed) {
      endWithStatus(stream, GrpcStatus.UNAVAILABLE, 'connection is closing');
      return;
    }
    if (path !== GrpcPaths.REQUEST && path !== GrpcPaths.BI_STREAM) {
      endWithStatus(stream, GrpcStatus.UNIMPLEMENTED, `unknown method ${String(path)}`);
      return;
    }
    if (headers[':method'] !== 'POST' || !isGrpcContentType(headers['content-type'])) {
      // As gRPC servers: not a gRPC request at all, so an HTTP status.
      stream.respond({ ':status': 415 }, HEADERS_ONLY);
      stream.close(NGHTTP2_NO_ERROR);
      return;
    }
    let timeoutMs: number | undefined;
    const timeoutHeader = headers['grpc-timeout'];
    if (typeof timeoutHeader === 'string') {
      timeoutMs = parseGrpcTimeout(timeoutHeader);
      if (timeoutMs === undefined) {
        endWithStatus(stream, GrpcStatus.INTERNAL, `Invalid grpc-timeout value "${timeoutHeader}"`);
        return;
      }
    }
    const encodingHeader = headers['grpc-encoding'];
    const encoding = typeof encodingHeader === 'string' ? encodingHeader : undefined;
    let call: Call;
    if (path === GrpcPaths.REQUEST) {
      call = new UnaryCall(connection, stream, encoding, 'until-closed');
    } else {
      const biStream = new BiStreamCall(connection, stream, encoding, 'while-arriving');
      biStream.open(this.handlers);
      call = biStream;
    }
    if (timeoutMs !== undefined && !isBeyondTimers(timeoutMs)) call.deadlineTimer = setTimeout(onCallDeadline, timeoutMs, call).unref();
  };
}

function onStreamError(this: CallStream, error: Error): void {
  const call = this[CALL];
  call?.connection.owner.options.logger.debug({ err: error, connectionId: call.connection.id }, 'stream error');
}
