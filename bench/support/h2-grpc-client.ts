// A raw node:http2 gRPC client for load generation: one HTTP/2 session per logical connection,
// our Payload codec, no grpc-js (whose per-call machinery would make the driver the bottleneck).
// Unary calls POST one framed message to /Request/request and read the reply and `grpc-status`;
// the bi-stream carries ConnectionSetupRequest so the server registers the connection.
import http2 from 'node:http2';
import net from 'node:net';
import tls from 'node:tls';
import {
  decodePayload,
  encodePayload,
  ErrorCode,
  GrpcPaths,
  request,
  type MessageRegistry,
  type Labels,
  type Message,
  type RequestMessage,
  type ResponseMessage,
} from '../../src/protocol/index.js';
import { writePayload } from '../../src/protocol/payload-writer.js';
import { encodeFrame, FrameReader, GRPC_CONTENT_TYPE } from './grpc-framing.js';

export interface H2ConnectOptions {
  readonly host: string;
  readonly port: number;
  /** Source address to bind (any of 127.0.0.0/8 on loopback), to spread connections over IPs. */
  readonly localAddress?: string;
  readonly connectTimeoutMs?: number;
  /** PEM CA to trust: the connection speaks TLS (ALPN h2) instead of plaintext. */
  readonly tlsCa?: string;
}

/** A call that ended without `grpc-status: 0` and a message (or with a transport error). */
export class GrpcCallError extends Error {
  constructor(
    message: string,
    /** `grpc-status`, or undefined when the stream ended without one (reset, session gone). */
    readonly grpcStatus: number | undefined,
  ) {
    super(message);
  }
}

const { NGHTTP2_CANCEL } = http2.constants;

function callHeaders(path: string): http2.OutgoingHttpHeaders {
  return { ':method': 'POST', ':path': path, 'content-type': GRPC_CONTENT_TYPE, te: 'trailers' };
}

// Constant: node copies request headers, so one object serves every call.
const UNARY_HEADERS = callHeaders(GrpcPaths.REQUEST);

function headerValue(headers: http2.IncomingHttpHeaders, name: string): string | undefined {
  const value = headers[name];
  return Array.isArray(value) ? value[0] : value;
}

export class H2GrpcConnection {
  private biStream: H2BiStream | undefined;
  /** The session's error, if it failed (calls in flight fail with it). */
  sessionError: Error | undefined;

  private constructor(
    private readonly session: http2.ClientHttp2Session,
    /** This end's address and port, as the server sees them. */
    readonly localAddress: string,
    readonly localPort: number,
  ) {
    // Without a listener an 'error' would be thrown; pending streams fail on their own.
    session.on('error', (error: Error) => (this.sessionError = error));
  }

  /** Opens the TCP connection and the HTTP/2 session; resolves once the session is up. */
  static connect(options: H2ConnectOptions): Promise<H2GrpcConnection> {
    const { host, port, localAddress, connectTimeoutMs = 5000, tlsCa } = options;
    const authority = `${tlsCa === undefined ? 'http' : 'https'}://${host.includes(':') ? `[${host}]` : host}:${port}`;
    const bind = localAddress === undefined ? {} : { localAddress };
    const session = http2.connect(authority, {
      createConnection: () => {
        const socket = net.connect({ host, port, noDelay: true, ...bind });
        return tlsCa === undefined ? socket : tls.connect({ socket, host, ca: tlsCa, ALPNProtocols: ['h2'], ...(net.isIP(host) === 0 ? { servername: host } : {}) });
      },
    });
    return new Promise((resolve, reject) => {
      const fail = (error: Error) => {
        clearTimeout(timer);
        session.destroy();
        reject(error);
      };
      const timer = setTimeout(() => fail(new Error(`connect to ${authority} timed out`)), connectTimeoutMs);
      session.once('error', fail);
      session.once('connect', () => {
        clearTimeout(timer);
        session.off('error', fail);
        // A server that closes at once (r-nacos over its connection limit) leaves no socket behind.
        const socket = session.socket as net.Socket | undefined;
        if (socket === undefined || session.destroyed) {
          session.destroy();
          reject(new Error(`${authority} closed the connection as it opened`));
          return;
        }
        resolve(new H2GrpcConnection(session, socket.localAddress ?? '', socket.localPort ?? 0));
      });
    });
  }

  get closed(): boolean {
    return this.session.closed || this.session.destroyed;
  }

  /**
   * One unary call with an already framed message (see encodeFrame): resolves the reply message
   * bytes. Rejects with GrpcCallError on a non-zero `grpc-status`, a reset or a missing reply.
   */
  unaryFrame(frame: Buffer, timeoutMs = 0): Promise<Buffer> {
    return new Promise((resolve, reject) => {
      const stream = this.session.request(UNARY_HEADERS, { endStream: false });
      const reader = new FrameReader();
      let reply: Buffer | undefined;
      let grpcStatus: string | undefined;
      let grpcMessage: string | undefined;
      let failure: Error | undefined;
      const readStatus = (headers: http2.IncomingHttpHeaders) => {
        // A Trailers-Only response (an error before any message) carries the status in the headers.
        grpcStatus = headerValue(headers, 'grpc-status') ?? grpcStatus;
        grpcMessage = headerValue(headers, 'grpc-message') ?? grpcMessage;
      };
      const timer =
        timeoutMs > 0
          ? setTimeout(() => {
              failure = new GrpcCallError(`unary call timed out after ${timeoutMs} ms`, undefined);
              stream.close(NGHTTP2_CANCEL);
            }, timeoutMs)
          : undefined;
      stream.on('response', readStatus);
      stream.on('trailers', readStatus);
      stream.on('data', (chunk: Buffer) => {
        try {
          for (const message of reader.push(chunk)) reply ??= message;
        } catch (error) {
          failure = error as Error;
          stream.close(NGHTTP2_CANCEL);
        }
      });
      stream.on('error', (error: Error) => (failure ??= error));
      stream.on('close', () => {
        if (timer !== undefined) clearTimeout(timer);
        if (failure === undefined && grpcStatus === '0' && reply !== undefined) {
          resolve(reply);
          return;
        }
        if (failure !== undefined) {
          reject(failure);
        } else if (grpcStatus === undefined) {
          reject(new GrpcCallError(`stream closed without grpc-status (rst code ${stream.rstCode})`, undefined));
        } else {
          const detail = grpcMessage === undefined ? '' : `: ${decodeURIComponent(grpcMessage)}`;
          reject(new GrpcCallError(`grpc-status ${grpcStatus}${reply === undefined && grpcStatus === '0' ? ' without a message' : ''}${detail}`, Number(grpcStatus)));
        }
      });
      stream.end(frame);
    });
  }

  /** Unary call with Payload bytes (frames them). */
  unary(payload: Uint8Array, timeoutMs = 0): Promise<Buffer> {
    return this.unaryFrame(encodeFrame(payload), timeoutMs);
  }

  /** Unary call with a message: encodes it (clientIp: our source address) and decodes the reply. */
  async call(message: RequestMessage, timeoutMs = 5000): Promise<ResponseMessage> {
    const reply = decodePayload(await this.unary(encodePayload(message, { clientIp: this.localAddress }), timeoutMs));
    if (reply.kind !== 'response') throw new Error(`unary reply is a request: ${reply.type}`);
    return reply;
  }

  /** ServerCheck; resolves the connectionId the server gave this connection. */
  async serverCheck(): Promise<string> {
    const reply = await this.call(request('ServerCheckRequest'));
    if (reply.type !== 'ServerCheckResponse') throw new Error(`ServerCheck failed: ${JSON.stringify(reply)}`);
    return String(reply.body['connectionId']);
  }

  /** Opens the bi-stream (once) and returns it. */
  openBiStream(options: H2BiStreamOptions = {}): H2BiStream {
    this.biStream ??= new H2BiStream(this.session.request(callHeaders(GrpcPaths.BI_STREAM), { endStream: false }), this.localAddress, options);
    return this.biStream;
  }

  /**
   * Registers the connection as an SDK client does: ServerCheck, ConnectionSetupRequest on the
   * bi-stream, then HealthChecks until one is not answered 301. Resolves the connectionId.
   */
  async register(labels: Labels = { source: 'sdk' }, timeoutMs = 5000): Promise<string> {
    const connectionId = await this.serverCheck();
    this.openBiStream().send(request('ConnectionSetupRequest', { clientVersion: 'Nacos-Bench-H2:v1', labels }));
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const reply = await this.call(request('HealthCheckRequest'));
      if (reply.errorCode !== ErrorCode.UN_REGISTER) {
        if (reply.resultCode !== 200) throw new Error(`HealthCheck after setup failed: ${JSON.stringify(reply)}`);
        return connectionId;
      }
      if (Date.now() > deadline) throw new Error(`connection ${connectionId} not registered within ${timeoutMs} ms`);
    }
  }

  /** Drops the connection at once, as a client process that dies does (the server sees a FIN). */
  destroy(): void {
    this.session.destroy();
  }

  /** Ends the bi-stream and closes the session gracefully; destroys it if that takes too long. */
  close(graceMs = 1000): Promise<void> {
    this.biStream?.end();
    if (this.session.destroyed) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(() => this.session.destroy(), graceMs);
      this.session.close(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }
}

export interface H2BiStreamOptions {
  /** Answer server pushes with `<Type minus Request>Response`, code 200 (default true; not with onPayload). */
  readonly autoAck?: boolean;
  /**
   * Every message the server sends, undecoded: instead of onMessage and autoAck, for a driver
   * that reads a few fields of each push and acks it itself ({@link H2BiStream.ack}).
   */
  readonly onPayload?: (payload: Buffer) => void;
  /** Every message the server sends, decoded (or the decode error). */
  readonly onMessage?: (message: Message | Error) => void;
  /** The types pushes are decoded with (default: the connection layer's); naming and config pushes need theirs. */
  readonly registry?: MessageRegistry;
}

/** The client's half of `/BiRequestStream/requestBiStream`. */
export class H2BiStream {
  private readonly reader = new FrameReader();
  ended = false;
  error: Error | undefined;
  /** Messages received from the server. */
  received = 0;

  constructor(
    private readonly stream: http2.ClientHttp2Stream,
    private readonly clientIp: string,
    private readonly options: H2BiStreamOptions,
  ) {
    stream.on('data', (chunk: Buffer) => {
      let messages: Buffer[];
      try {
        messages = this.reader.push(chunk);
      } catch (error) {
        this.error = error as Error;
        stream.close(NGHTTP2_CANCEL);
        return;
      }
      for (const bytes of messages) this.onBytes(bytes);
    });
    stream.on('error', (error: Error) => (this.error ??= error));
    stream.on('close', () => (this.ended = true));
  }

  send(message: Message): void {
    this.write(encodePayload(message, { clientIp: this.clientIp }));
  }

  /** Writes Payload bytes (framed here). Ignored once the stream has ended. */
  write(payload: Uint8Array): void {
    if (!this.ended && this.stream.writable) this.stream.write(encodeFrame(payload));
  }

  end(): void {
    if (!this.ended && this.stream.writable) this.stream.end();
  }

  /**
   * Acks a push as an SDK does (`<Type minus Request>Response`, code 200), its JSON written here:
   * the generic encode of a message was a share of a subscriber driver's CPU per push.
   */
  ack(pushType: string, requestId: string): void {
    const json = `{"resultCode":200,"errorCode":0,"requestId":${JSON.stringify(requestId)},"success":true}`;
    this.write(writePayload({ type: pushType.replace(/Request$/, 'Response'), json }));
  }

  private onBytes(bytes: Buffer): void {
    this.received++;
    if (this.options.onPayload !== undefined) {
      this.options.onPayload(bytes);
      return;
    }
    let message: Message | Error;
    try {
      message = decodePayload(bytes, this.options.registry);
    } catch (error) {
      message = error as Error;
    }
    this.options.onMessage?.(message);
    // A push without a requestId could not be matched to its ack: none is sent.
    if ((this.options.autoAck ?? true) && !(message instanceof Error) && message.kind === 'request' && message.requestId !== undefined) {
      this.ack(message.type, message.requestId);
    }
  }
}
