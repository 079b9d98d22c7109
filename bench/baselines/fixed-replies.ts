// What both baseline servers answer on /Request/request: the Payloads our node sends for
// ServerCheck and HealthCheck, encoded once by our codec, so reply sizes match ours byte for
// byte. The request is read only as far as its Payload type (protobuf, no JSON): the least a
// responder must do to tell the two calls apart.
import { decodeEnvelope, encodePayload, request, response } from '../../src/protocol/index.js';
import { connectionIdOf } from '../../src/server/transport/address.js';
import { encodeFrame } from '../support/grpc-framing.js';

export interface FixedReplies {
  readonly serverCheck: Buffer;
  readonly healthCheck: Buffer;
  /** What a fan-out pushes on each bi-stream: a framed ClientDetectionRequest, as our node's. */
  readonly pushPayload: Buffer;
  readonly pushFrame: Buffer;
  /** ServerCheckResponse for ServerCheckRequest, HealthCheckResponse for anything else. */
  replyTo(requestPayload: Uint8Array): Buffer;
}

const asBuffer = (bytes: Uint8Array): Buffer => Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);

export function fixedReplies(): FixedReplies {
  // A connectionId as long as a real one for a 5-digit ephemeral port on 127.0.0.1.
  const serverCheck = asBuffer(encodePayload(response('ServerCheckResponse', { connectionId: connectionIdOf(Date.now(), '127.0.0.1', 54321, '127.0.0.1:8848') })));
  const healthCheck = asBuffer(encodePayload(response('HealthCheckResponse')));
  const pushPayload = asBuffer(encodePayload({ ...request('ClientDetectionRequest'), requestId: '1' }));
  return {
    serverCheck,
    healthCheck,
    pushPayload,
    pushFrame: encodeFrame(pushPayload),
    replyTo: (requestPayload) => (decodeEnvelope(requestPayload).type === 'ServerCheckRequest' ? serverCheck : healthCheck),
  };
}
