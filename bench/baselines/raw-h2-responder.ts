// Baseline "the platform's limit": a minimal gRPC responder written directly on node:http2. It
// answers /Request/request with fixed ServerCheck/HealthCheck replies (fixed-replies.ts) and holds
// /BiRequestStream/requestBiStream open, counting the messages that arrive (a fan-out's answers):
// no connection management, no codec beyond the Payload type. Framing is the client's module (grpc-framing.ts).
// Standalone: node --import tsx bench/baselines/raw-h2-responder.ts [--host H] [--port P]
import http2 from 'node:http2';
import { GrpcPaths } from '../../src/protocol/index.js';
import { CloseLog, FanOut } from '../support/fan-out.js';
import { encodeFrame, FrameReader, GRPC_CONTENT_TYPE } from '../support/grpc-framing.js';
import { isEntryPoint, serveStandalone, type RunningServer } from '../support/standalone.js';
import { fixedReplies } from './fixed-replies.js';

const { NGHTTP2_CANCEL } = http2.constants;
const RESPONSE_HEADERS: http2.OutgoingHttpHeaders = { ':status': 200, 'content-type': GRPC_CONTENT_TYPE };
const OK_TRAILERS: http2.OutgoingHttpHeaders = { 'grpc-status': '0' };
const UNIMPLEMENTED_HEADERS: http2.OutgoingHttpHeaders = { ...RESPONSE_HEADERS, 'grpc-status': '12' };

export async function startRawH2Responder(host: string, port: number): Promise<RunningServer> {
  const replies = fixedReplies();
  // Reply frames built once; replyTo() returns one of the two payload buffers.
  const framed = new Map<Buffer, Buffer>([replies.serverCheck, replies.healthCheck].map((payload) => [payload, encodeFrame(payload)]));

  const server = http2.createServer();
  const sessions = new Set<http2.ServerHttp2Session>();
  const biStreams = new Set<http2.ServerHttp2Stream>();
  const fanOut = new FanOut<http2.ServerHttp2Stream>();
  const closes = new CloseLog();
  server.on('session', (session: http2.ServerHttp2Session) => {
    sessions.add(session);
    const peer = `${session.socket.remoteAddress}:${session.socket.remotePort}`;
    session.on('close', () => {
      sessions.delete(session);
      closes.record(peer);
    });
    session.on('error', () => undefined);
  });
  server.on('stream', (stream: http2.ServerHttp2Stream, headers: http2.IncomingHttpHeaders) => {
    stream.on('error', () => undefined);
    const path = headers[':path'];
    if (path === GrpcPaths.REQUEST) answerUnary(stream);
    else if (path === GrpcPaths.BI_STREAM) holdBiStream(stream);
    else stream.respond(UNIMPLEMENTED_HEADERS, { endStream: true });
  });

  /** Unary: the request is complete at end of stream; answer its first message. */
  function answerUnary(stream: http2.ServerHttp2Stream): void {
    const reader = new FrameReader();
    let requestPayload: Buffer | undefined;
    stream.on('data', (chunk: Buffer) => {
      try {
        for (const message of reader.push(chunk)) requestPayload ??= message;
      } catch {
        stream.close(NGHTTP2_CANCEL);
      }
    });
    stream.on('end', () => {
      if (stream.destroyed) return;
      if (requestPayload === undefined) {
        stream.respond({ ...RESPONSE_HEADERS, 'grpc-status': '13', 'grpc-message': 'no request message' }, { endStream: true });
        return;
      }
      let frame: Buffer;
      try {
        frame = framed.get(replies.replyTo(requestPayload))!;
      } catch {
        stream.respond({ ...RESPONSE_HEADERS, 'grpc-status': '13', 'grpc-message': 'malformed Payload' }, { endStream: true });
        return;
      }
      stream.respond(RESPONSE_HEADERS, { waitForTrailers: true });
      stream.once('wantTrailers', () => stream.sendTrailers(OK_TRAILERS));
      stream.end(frame);
    });
  }

  /** Bi-stream: response headers now, count the messages that come, end when the client ends. */
  function holdBiStream(stream: http2.ServerHttp2Stream): void {
    stream.respond(RESPONSE_HEADERS, { waitForTrailers: true });
    stream.once('wantTrailers', () => stream.sendTrailers(OK_TRAILERS));
    biStreams.add(stream);
    const reader = new FrameReader();
    stream.on('data', (chunk: Buffer) => {
      try {
        for (let n = reader.push(chunk).length; n > 0; n--) fanOut.answered(stream);
      } catch {
        stream.close(NGHTTP2_CANCEL);
      }
    });
    stream.on('end', () => {
      if (!stream.destroyed) stream.end();
    });
    stream.on('close', () => {
      biStreams.delete(stream);
      fanOut.ended(stream);
    });
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const bound = server.address();
  return {
    port: typeof bound === 'object' && bound !== null ? bound.port : port,
    close: () =>
      new Promise<void>((resolve) => {
        for (const session of sessions) session.destroy();
        server.close(() => resolve());
      }),
    fanOut: (timeoutMs) => fanOut.run([...biStreams], (stream) => stream.write(replies.pushFrame), timeoutMs),
    takeCloses: () => closes.take(),
  };
}

if (isEntryPoint(import.meta.url)) await serveStandalone(startRawH2Responder);
