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
 * Follows the gRPC framing of one stream's inbound bytes and holds, for each message kept beyond
 * the chunk its prefix came in (one still arriving, and with 'until-closed' one complete),
 * a reservation of its declared length in its session's budget and the node's. The rule is the
 * http2 transport's (FrameDecoder): a message complete within its chunk and handed on at once is
 * never reserved.
 */
export class InboundMessageAccount {
  private readonly prefix = new PrefixReader();
  /** Bytes of the current message still to come. */
  private remaining = 0;
  /** The current message's reservation, and every reservation held (more with 'until-closed'). */
  private current = 0;
  private held = 0;
  private closed = false;

  constructor(
    private readonly session: ByteBudget,
    private readonly node: ByteBudget,
    private readonly retention: MessageRetention = 'while-arriving',
  ) {}

  /** Accounts one chunk of the stream; anything but 'ok' means the stream is to be refused. */
  feed(chunk: Uint8Array): InboundVerdict {
    if (this.closed) return 'ok';
    let i = 0;
    while (i < chunk.length) {
      if (this.remaining > 0) {
        const take = Math.min(this.remaining, chunk.length - i);
        this.remaining -= take;
        i += take;
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
    }
    return 'ok';
  }

  /** The stream is gone or its messages were handed on: gives back every reservation. Idempotent. */
  close(): void {
    this.closed = true;
    this.remaining = 0;
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

  private messageComplete(): void {
    if (this.retention === 'while-arriving') this.release(this.current);
    this.current = 0;
  }

  private release(bytes: number): void {
    if (bytes === 0) return;
    releaseInBoth(this.session, this.node, bytes);
    this.held -= bytes;
  }
}
