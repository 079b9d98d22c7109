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
 * Follows the gRPC length-prefixed framing (1 flag byte, 4-byte big-endian length) of one stream's
 * inbound bytes and holds, for the message being received, a reservation of its declared length
 * in its session's budget and the node's.
 */
export class InboundMessageAccount {
  private prefixRead = 0;
  private declaring = 0;
  /** Bytes of the current message still to come; its reservation is `held`. */
  private remaining = 0;
  private held = 0;
  private closed = false;

  constructor(
    private readonly session: ByteBudget,
    private readonly node: ByteBudget,
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
        if (this.remaining === 0) this.releaseHeld();
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

  /** The stream is gone: gives back what its unfinished message held. Idempotent. */
  close(): void {
    this.closed = true;
    this.remaining = 0;
    this.releaseHeld();
  }

  private reserve(bytes: number): InboundVerdict {
    if (!this.session.tryReserve(bytes)) return 'session';
    if (!this.node.tryReserve(bytes)) {
      this.session.release(bytes);
      return 'node';
    }
    this.held = bytes;
    return 'ok';
  }

  private releaseHeld(): void {
    if (this.held === 0) return;
    this.session.release(this.held);
    this.node.release(this.held);
    this.held = 0;
  }
}
