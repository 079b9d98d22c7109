/**
 * gRPC length-prefixed messages over HTTP/2 DATA (a pure byte parser, no I/O): each message is a
 * flag byte (0 plain, 1 compressed), a 4-byte big-endian length, then the message. DATA chunks
 * split messages anywhere, prefix included, or hold several.
 */
import { ErrorCode, NacosRemoteError } from '../../protocol/index.js';

export const FRAME_PREFIX_BYTES = 5;

/** An empty message: pins nothing. */
const NO_BYTES = Buffer.alloc(0);

/** Why a stream's bytes cannot be read as gRPC messages. */
export const FrameProblem = {
  /** Flag 1: we accept no compression. */
  COMPRESSED: 'compressed',
  /** A flag byte other than 0 or 1. */
  BAD_FLAG: 'bad-flag',
  /** A declared length over the message size limit. */
  TOO_LARGE: 'too-large',
  /** The receiver would not hold an unfinished message of this size (a memory budget). */
  OVER_BUDGET: 'over-budget',
} as const;
export type FrameProblemKind = (typeof FrameProblem)[keyof typeof FrameProblem];

/** The inbound bytes broke gRPC framing or a limit; the stream is to be ended with a status. */
export class FrameError extends NacosRemoteError {
  constructor(
    readonly problem: FrameProblemKind,
    message: string,
  ) {
    super('GRPC_FRAME', ErrorCode.BAD_GATEWAY, message);
  }
}

/**
 * How long a message's bytes count as held: while it arrives (a bi-stream hands each message on
 * at once), or until the stream is done with (a unary call keeps its request until the client
 * half-closes, so that a client cannot park a whole message on each of its streams).
 */
export type MessageRetention = 'while-arriving' | 'until-closed';

/** Where decoded messages go; one receiver per stream. */
export interface FrameReceiver {
  /**
   * One whole message. With 'while-arriving' it may be a view into the chunk it came in: use it
   * before the next push. With 'until-closed' it is the receiver's to keep until it disposes the
   * decoder, and the holds cover what it pins (see {@link FrameDecoder}).
   */
  onMessage(message: Buffer): void;
  /**
   * A message of `declaredBytes` begins whose bytes will be held: one the current chunk does not
   * complete, or with 'until-closed' any (then the bytes it pins, which may be more). Answer false
   * to refuse it (the push then throws OVER_BUDGET).
   */
  holdStarted(declaredBytes: number): boolean;
  /** Held bytes are no longer held: a message that completed ('while-arriving'), or at dispose(). */
  holdEnded(heldBytes: number): void;
}

/**
 * Reads one message prefix at a time (flag byte, 4-byte big-endian length), whole in a chunk or
 * split across chunks: the one prefix parser of both transports.
 */
export class PrefixReader {
  private read = 0;
  /** The flag and declared length of the prefix read, once {@link complete}. */
  flag = 0;
  declared = 0;

  /** Whether a whole prefix has been read (until {@link next}). */
  get complete(): boolean {
    return this.read === FRAME_PREFIX_BYTES;
  }

  /** Whether part of a prefix has been read: at end of stream, a truncated message. */
  get partial(): boolean {
    return this.read > 0 && this.read < FRAME_PREFIX_BYTES;
  }

  /** Reads prefix bytes from `chunk` at `offset`, up to a whole prefix; returns the offset after them. */
  readFrom(chunk: Uint8Array, offset: number): number {
    if (this.read === 0 && chunk.length - offset >= FRAME_PREFIX_BYTES) {
      // The common case: the whole prefix in this chunk.
      this.flag = chunk[offset]!;
      this.declared = ((chunk[offset + 1]! * 256 + chunk[offset + 2]!) * 256 + chunk[offset + 3]!) * 256 + chunk[offset + 4]!;
      this.read = FRAME_PREFIX_BYTES;
      return offset + FRAME_PREFIX_BYTES;
    }
    while (offset < chunk.length && this.read < FRAME_PREFIX_BYTES) {
      const byte = chunk[offset++]!;
      if (this.read === 0) {
        this.flag = byte;
        this.declared = 0;
      } else {
        this.declared = this.declared * 256 + byte;
      }
      this.read++;
    }
    return offset;
  }

  /** The prefix was used: the next bytes begin another. */
  next(): void {
    this.read = 0;
  }
}

/**
 * Reassembles one stream's messages. A message inside one chunk is handed over as a view of it
 * (no copy); one that spans chunks is copied, part by part, into a buffer of its declared size
 * allocated when its prefix arrives. A chunk is a view of a whole socket read, shared with other
 * streams' frames: keeping views of it would pin 32-64 KiB per byte counted. Holds are the
 * receiver's budgets (InboundMessageAccount follows the same rule for the grpc-js transport): a
 * message the chunk of its prefix completes is held only with 'until-closed', and then for what
 * the kept message pins (see {@link keep}).
 */
export class FrameDecoder {
  private readonly prefix = new PrefixReader();
  /** The message being held (allocated at its declared size), and how much of it has arrived. */
  private message: Buffer | undefined;
  private filled = 0;
  /** Bytes held in the receiver's budgets now. */
  private held = 0;

  constructor(
    private readonly maxMessageBytes: number,
    private readonly receiver: FrameReceiver,
    private readonly retention: MessageRetention = 'while-arriving',
  ) {}

  /** Whether bytes of an unfinished message (or prefix) are pending: at end of stream, a truncated message. */
  get pending(): boolean {
    return this.prefix.partial || this.message !== undefined;
  }

  /** Reads one DATA chunk, handing every message it completes to the receiver. @throws FrameError */
  push(chunk: Buffer): void {
    let offset = 0;
    const length = chunk.length;
    while (offset < length) {
      if (this.message !== undefined) {
        const message = this.message;
        const take = Math.min(message.length - this.filled, length - offset);
        chunk.copy(message, this.filled, offset, offset + take);
        this.filled += take;
        offset += take;
        if (this.filled === message.length) this.finishHeld(message);
        continue;
      }
      offset = this.prefix.readFrom(chunk, offset);
      if (!this.prefix.complete) continue;
      const { flag, declared } = this.prefix;
      this.prefix.next();
      this.checkPrefix(flag, declared);
      if (length - offset >= declared) {
        const end = offset + declared;
        const message = chunk.subarray(offset, end);
        this.receiver.onMessage(this.retention === 'until-closed' ? this.keep(message) : message);
        offset = end;
      } else {
        this.hold(declared);
        // Slow: an exact ArrayBuffer of its own, not a slice of Node's shared pool that it would pin.
        this.message = Buffer.allocUnsafeSlow(declared);
        this.filled = chunk.copy(this.message, 0, offset);
        offset = length;
      }
    }
  }

  /** The stream is gone, or its messages were handed on: releases what is held. Idempotent. */
  dispose(): void {
    this.message = undefined;
    if (this.held > 0) {
      const held = this.held;
      this.held = 0;
      this.receiver.holdEnded(held);
    }
    this.prefix.next();
  }

  private checkPrefix(flag: number, declared: number): void {
    if (flag !== 0) {
      const problem = flag === 1 ? FrameProblem.COMPRESSED : FrameProblem.BAD_FLAG;
      throw new FrameError(problem, flag === 1 ? 'compressed messages are not supported' : `invalid message flag ${flag}`);
    }
    if (declared > this.maxMessageBytes) {
      throw new FrameError(FrameProblem.TOO_LARGE, `Received message larger than max (${declared} vs. ${this.maxMessageBytes})`);
    }
  }

  private hold(bytes: number): void {
    if (bytes === 0) return;
    if (!this.receiver.holdStarted(bytes)) throw new FrameError(FrameProblem.OVER_BUDGET, `cannot hold a message of ${bytes} bytes now`);
    this.held += bytes;
  }

  /**
   * A whole message to keep until dispose, held for what it pins. Its view pins the chunk's
   * backing ArrayBuffer (a whole socket read): kept only when that is at most twice its size.
   * Otherwise a small message is copied into Node's shared Buffer pool (an ArrayBuffer of its own
   * for every unary request was a measurable share of the call's CPU and of its garbage), and held
   * for the whole slab it pins while kept: a client parking tiny requests on many streams, with
   * other allocations between them, pins a slab per request. When the budget has no room for a
   * slab, or the message is not small, it gets an exact ArrayBuffer of its own.
   * @throws FrameError OVER_BUDGET
   */
  private keep(view: Buffer): Buffer {
    if (view.length === 0) return NO_BYTES;
    if (view.buffer.byteLength <= 2 * view.length) {
      this.hold(view.length);
      return view;
    }
    // Node's rule for what Buffer.allocUnsafe takes from the pool: below half its size.
    const pooled = view.length < Buffer.poolSize >>> 1 && this.receiver.holdStarted(Buffer.poolSize);
    if (pooled) this.held += Buffer.poolSize;
    else this.hold(view.length);
    const copy = pooled ? Buffer.allocUnsafe(view.length) : Buffer.allocUnsafeSlow(view.length);
    view.copy(copy);
    return copy;
  }

  private finishHeld(message: Buffer): void {
    this.message = undefined;
    if (this.retention === 'while-arriving') {
      this.held -= message.length;
      this.receiver.holdEnded(message.length);
    }
    this.receiver.onMessage(message);
  }
}

/**
 * One message framed for the wire. Small messages are copied behind their prefix, so that one
 * write carries them; large ones keep their own buffer and get a separate prefix (see
 * {@link prefixOf}).
 */
export function framed(message: Uint8Array): Buffer {
  const frame = Buffer.allocUnsafe(FRAME_PREFIX_BYTES + message.byteLength);
  frame[0] = 0;
  frame.writeUInt32BE(message.byteLength, 1);
  frame.set(message, FRAME_PREFIX_BYTES);
  return frame;
}

/** The 5-byte prefix of a message of this length. */
export function prefixOf(messageBytes: number): Buffer {
  const prefix = Buffer.allocUnsafe(FRAME_PREFIX_BYTES);
  prefix[0] = 0;
  prefix.writeUInt32BE(messageBytes, 1);
  return prefix;
}
