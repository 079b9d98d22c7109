/**
 * Accounting of inbound gRPC messages that have begun but not finished arriving. grpc-js collects
 * each such message in memory until its last byte (up to maxMessageBytes per stream), and neither
 * it nor Node's HTTP/2 `maxSessionMemory` counts those bytes: 300 streams each sending part of a
 * large message made a node hold 900 MiB. Each message reserves its declared length when its
 * 5-byte prefix arrives; one that does not fit the session's or the node's budget is refused
 * before its bytes are held.
 */

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

const PREFIX_BYTES = 5;

/**
 * How long a message's reservation lasts: while it arrives (a bi-stream hands each message on at
 * once), or until close() (a unary call keeps its request until the client half-closes).
 */
export type MessageRetention = 'while-arriving' | 'until-closed';

/**
 * Follows the gRPC length-prefixed framing (1 flag byte, 4-byte big-endian length) of one stream's
 * inbound bytes and holds, for the message being received (and, retained until closed, the
 * messages received), a reservation of its declared length in its session's budget and the node's.
 */
export class InboundMessageAccount {
  private prefixRead = 0;
  private declaring = 0;
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
      // Byte 0 of the prefix is the compression flag; bytes 1-4 the length.
      if (this.prefixRead > 0) this.declaring = this.declaring * 256 + chunk[i]!;
      this.prefixRead++;
      i++;
      if (this.prefixRead === PREFIX_BYTES) {
        const declared = this.declaring;
        this.prefixRead = 0;
        this.declaring = 0;
        if (declared > 0) {
          const verdict = this.reserve(declared);
          if (verdict !== 'ok') return verdict;
          this.remaining = declared;
        }
      }
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
    if (!this.session.tryReserve(bytes)) return 'session';
    if (!this.node.tryReserve(bytes)) {
      this.session.release(bytes);
      return 'node';
    }
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
    this.session.release(bytes);
    this.node.release(bytes);
    this.held -= bytes;
  }
}
