// gRPC length-prefixed message framing over HTTP/2 DATA frames, shared by the raw node:http2
// client (h2-grpc-client.ts) and the raw node:http2 responder (baselines/raw-h2-responder.ts).
// Each message is: 1 flag byte (0: not compressed), 4-byte big-endian length, the message bytes.
// The frame encoding is the server transport's own (src/server/transport), so the two cannot drift.
import { DEFAULT_MAX_MESSAGE_BYTES } from '../../src/protocol/index.js';
import { FRAME_PREFIX_BYTES } from '../../src/server/transport/frame-decoder.js';

export { framed as encodeFrame } from '../../src/server/transport/frame-decoder.js';
export { GRPC_CONTENT_TYPE } from '../../src/server/transport/grpc-status.js';

export class FramingError extends Error {}

/**
 * Reassembles messages from DATA chunks, which may split a message or hold several. Returned
 * messages are views into the received chunks (no copy unless a message spans chunks).
 */
export class FrameReader {
  private pending: Buffer = Buffer.alloc(0);

  constructor(private readonly maxMessageBytes: number = DEFAULT_MAX_MESSAGE_BYTES) {}

  /** Adds received bytes; returns every message they complete, in order. @throws FramingError */
  push(chunk: Buffer): Buffer[] {
    let buffer = this.pending.length === 0 ? chunk : Buffer.concat([this.pending, chunk]);
    const messages: Buffer[] = [];
    while (buffer.length >= FRAME_PREFIX_BYTES) {
      if (buffer[0] !== 0) throw new FramingError(`compressed or invalid message flag ${buffer[0]}`);
      const length = buffer.readUInt32BE(1);
      if (length > this.maxMessageBytes) throw new FramingError(`message of ${length} bytes exceeds ${this.maxMessageBytes}`);
      const end = FRAME_PREFIX_BYTES + length;
      if (buffer.length < end) break;
      messages.push(buffer.subarray(FRAME_PREFIX_BYTES, end));
      buffer = buffer.subarray(end);
    }
    this.pending = buffer;
    return messages;
  }

  /** Bytes of an incomplete message held back (non-zero at end of stream means a truncated message). */
  get pendingBytes(): number {
    return this.pending.length;
  }
}
