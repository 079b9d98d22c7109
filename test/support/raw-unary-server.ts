import http2 from 'node:http2';
import { encodePayload, type ResponseMessage } from '../../src/protocol/index.js';
import { findMainPort } from './ports.js';

/** One unary call the server received, held until the test answers or fails it. */
export interface HeldUnaryCall {
  /** The request's headers as they came off the wire. */
  readonly headers: http2.IncomingHttpHeaders;
  /** Resolves when the call's stream is closed, by either side. */
  readonly closed: Promise<void>;
  /** Answers with the message and grpc-status 0. */
  answer(message: ResponseMessage): void;
  /** Ends the call with a gRPC error status and no message (trailers only). */
  fail(grpcStatus: number, details: string): void;
}

/**
 * A gRPC server on bare node:http2, in this process, that records each unary call's headers and
 * holds it until the test settles it: what the client puts on the wire and does after an answer,
 * an error or no answer, with no server framework in between.
 */
export class RawUnaryServer {
  private readonly pending: HeldUnaryCall[] = [];
  private readonly waiters: ((call: HeldUnaryCall) => void)[] = [];
  private readonly sessions = new Set<http2.ServerHttp2Session>();

  private constructor(
    private readonly server: http2.Http2Server,
    readonly port: number,
  ) {
    server.on('session', (session) => {
      this.sessions.add(session);
      session.on('close', () => this.sessions.delete(session));
    });
    server.on('stream', (stream, headers) => {
      const call = heldCall(stream, headers);
      const waiter = this.waiters.shift();
      if (waiter === undefined) this.pending.push(call);
      else waiter(call);
    });
  }

  static async start(): Promise<RawUnaryServer> {
    const port = await findMainPort(['127.0.0.1'], [0]);
    const server = http2.createServer();
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => resolve());
    });
    return new RawUnaryServer(server, port);
  }

  /** The next call received, in order of arrival. */
  nextCall(): Promise<HeldUnaryCall> {
    const call = this.pending.shift();
    return call !== undefined ? Promise.resolve(call) : new Promise((resolve) => this.waiters.push(resolve));
  }

  /** Stops listening and destroys every session. */
  async close(): Promise<void> {
    for (const session of this.sessions) session.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

function heldCall(stream: http2.ServerHttp2Stream, headers: http2.IncomingHttpHeaders): HeldUnaryCall {
  // The request body is not needed; reading it lets the client finish sending.
  stream.resume();
  const closed = new Promise<void>((resolve) => stream.once('close', () => resolve()));
  return {
    headers,
    closed,
    answer(message) {
      if (stream.closed) return;
      const payload = encodePayload(message);
      // gRPC framing: not compressed, then the length, big-endian.
      const frame = Buffer.alloc(5 + payload.byteLength);
      frame.writeUInt32BE(payload.byteLength, 1);
      frame.set(payload, 5);
      stream.respond({ ':status': 200, 'content-type': 'application/grpc' }, { waitForTrailers: true });
      stream.once('wantTrailers', () => stream.sendTrailers({ 'grpc-status': '0' }));
      stream.end(frame);
    },
    fail(grpcStatus, details) {
      if (stream.closed) return;
      stream.respond({ ':status': 200, 'content-type': 'application/grpc', 'grpc-status': String(grpcStatus), 'grpc-message': encodeURIComponent(details) }, { endStream: true });
    },
  };
}
