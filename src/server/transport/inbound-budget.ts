/**
 * Accounting of inbound gRPC messages held in memory: those that have begun but not finished
 * arriving, and complete unary requests awaiting the client's half-close. grpc-js collects each
 * unfinished message until its last byte (up to maxMessageBytes per stream), and neither it nor
 * Node's HTTP/2 `maxSessionMemory` counts those bytes: 300 streams each sending part of a large
 * message made a node hold 900 MiB. Each message its prefix's chunk does not complete (and with
 * 'until-closed' every message) reserves its declared length when the prefix arrives; one that
 * does not fit the session's or the node's budget is refused before its bytes are held.
 */
import { PrefixReader, type MessageRetention } from './frame-decoder.js';

/** A number of bytes that may be reserved at once; a negative limit means no limit. */
export class ByteBudget {
  private reserved = 0;

  constructor(readonly limitBytes: number) {}

  get reservedBytes(): number {
    return this.reserved;
  }

  tryReserve(bytes: number): boolean {
    if (this.limitBytes >= 0 && this.reserved + bytes > this.limitBytes) return false;
    this.reserved += bytes;
    return true;
  }

  release(bytes: number): void {
    this.reserved -= bytes;
  }
}

/** Which budget refused a message. */
export type InboundVerdict = 'ok' | 'session' | 'node';

/** Reserves `bytes` in a session's budget and the node's, or in neither. */
export function reserveInBoth(session: ByteBudget, node: ByteBudget, bytes: number): InboundVerdict {
  if (!session.tryReserve(bytes)) return 'session';
  if (!node.tryReserve(bytes)) {
    session.release(bytes);
    return 'node';
  }
  return 'ok';
}

/** Gives back what {@link reserveInBoth} reserved. */
export function releaseInBoth(session: ByteBudget, node: ByteBudget, bytes: number): void {
  session.release(bytes);
  node.release(bytes);
}

/**
 * The socket reads one session's unfinished messages keep. grpc-js keeps a message's parts as
 * views of their DATA chunks, and Node's chunks are views of a whole read, shared with the other
 * streams' frames in it: a message dripped a byte per read, the reads padded with other frames,
 * kept 32-64 KiB per byte declared. The reads' bytes beyond the declared lengths of the messages
 * keeping them are reserved too; each read counts once, however many streams keep it.
 */
export class KeptReads {
  private readonly keepers = new Map<ArrayBufferLike, number>();
  /** Bytes of the distinct reads kept, declared bytes of the messages keeping them, and what is reserved beyond those. */
  private readBytes = 0;
  private declaredBytes = 0;
  private reserved = 0;

  constructor(
    private readonly session: ByteBudget,
    private readonly node: ByteBudget,
  ) {}

  /** A message of `declared` bytes keeps its first read. */
  messageKeeps(declared: number): void {
    this.declaredBytes += declared;
  }

  /** A message keeps a part of `read`; anything but 'ok' means its stream is to be refused. */
  keep(read: ArrayBufferLike): InboundVerdict {
    const keepers = this.keepers.get(read) ?? 0;
    this.keepers.set(read, keepers + 1);
    if (keepers === 0) this.readBytes += read.byteLength;
    const more = this.beyondDeclared() - this.reserved;
    if (more <= 0) return 'ok';
    const verdict = reserveInBoth(this.session, this.node, more);
    if (verdict === 'ok') this.reserved += more;
    return verdict;
  }

  /**
   * A message of `declared` bytes keeps none of `reads` any more (grpc-js copied it out, or its
   * stream is gone). What is no longer needed is given back; more, if its declared bytes covered
   * others' reads, is reserved when a read is next kept.
   */
  messageDone(declared: number, reads: readonly ArrayBufferLike[]): void {
    for (const read of reads) {
      const keepers = this.keepers.get(read)! - 1;
      if (keepers > 0) {
        this.keepers.set(read, keepers);
      } else {
        this.keepers.delete(read);
        this.readBytes -= read.byteLength;
      }
    }
    this.declaredBytes -= declared;
    const less = this.reserved - this.beyondDeclared();
    if (less > 0) {
      releaseInBoth(this.session, this.node, less);
      this.reserved -= less;
    }
  }

  private beyondDeclared(): number {
    return Math.max(0, this.readBytes - this.declaredBytes);
  }
}

/**
 * Follows the gRPC framing of one stream's inbound bytes and holds, for each message kept beyond
 * the chunk its prefix came in (one still arriving, and with 'until-closed' one complete),
 * a reservation of its declared length in its session's budget and the node's. The rule is the
 * http2 transport's (FrameDecoder): a message complete within its chunk and handed on at once is
 * never reserved. With {@link KeptReads} (grpc-js, which keeps views of its chunks), the reads an
 * unfinished message keeps parts of are accounted too.
 */
export class InboundMessageAccount {
  private readonly prefix = new PrefixReader();
  /** Bytes of the current message still to come. */
  private remaining = 0;
  /** The current message's reservation, and every reservation held (more with 'until-closed'). */
  private current = 0;
  private held = 0;
  /** The reads the current message keeps parts of, in order (one read's chunks come together). */
  private reads: ArrayBufferLike[] = [];
  private closed = false;

  constructor(
    private readonly session: ByteBudget,
    private readonly node: ByteBudget,
    private readonly retention: MessageRetention = 'while-arriving',
    private readonly keptReads?: KeptReads,
  ) {}

  /** Accounts one chunk of the stream; anything but 'ok' means the stream is to be refused. */
  feed(chunk: Uint8Array): InboundVerdict {
    if (this.closed) return 'ok';
    let i = 0;
    /** Whether the current message has bytes in this chunk (so grpc-js keeps a view of it). */
    let partInChunk = false;
    while (i < chunk.length) {
      if (this.remaining > 0) {
        const take = Math.min(this.remaining, chunk.length - i);
        this.remaining -= take;
        i += take;
        partInChunk = true;
        if (this.remaining === 0) this.messageComplete();
        continue;
      }
      i = this.prefix.readFrom(chunk, i);
      if (!this.prefix.complete) continue;
      const declared = this.prefix.declared;
      this.prefix.next();
      if (declared === 0) continue;
      if (this.retention === 'while-arriving' && chunk.length - i >= declared) {
        i += declared;
        continue;
      }
      const verdict = this.reserve(declared);
      if (verdict !== 'ok') return verdict;
      this.remaining = declared;
      partInChunk = false;
    }
    return this.remaining > 0 && partInChunk ? this.keep(chunk.buffer) : 'ok';
  }

  /** The stream is gone or its messages were handed on: gives back every reservation. Idempotent. */
  close(): void {
    this.closed = true;
    this.remaining = 0;
    this.readsDone();
    this.current = 0;
    this.release(this.held);
  }

  private reserve(bytes: number): InboundVerdict {
    const verdict = reserveInBoth(this.session, this.node, bytes);
    if (verdict !== 'ok') return verdict;
    this.current = bytes;
    this.held += bytes;
    return 'ok';
  }

  private keep(read: ArrayBufferLike): InboundVerdict {
    const keptReads = this.keptReads;
    if (keptReads === undefined || this.reads.at(-1) === read) return 'ok';
    if (this.reads.length === 0) keptReads.messageKeeps(this.current);
    this.reads.push(read);
    return keptReads.keep(read);
  }

  private readsDone(): void {
    if (this.reads.length === 0) return;
    this.keptReads?.messageDone(this.current, this.reads);
    this.reads = [];
  }

  private messageComplete(): void {
    this.readsDone();
    if (this.retention === 'while-arriving') this.release(this.current);
    this.current = 0;
  }

  private release(bytes: number): void {
    if (bytes === 0) return;
    releaseInBoth(this.session, this.node, bytes);
    this.held -= bytes;
  }
}
