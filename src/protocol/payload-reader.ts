/**
 * Reads a Payload (proto.ts) straight from its bytes: the three fields we use, strings decoded
 * where they lie and the body a view. protobufjs's generic decoder made a reader and an object
 * per message (Payload, Metadata, Any) on every call, and we then copied the fields out of them.
 * A well-formed Payload reads as protobufjs reads it (a test compares them): unknown fields are
 * skipped; a field given twice keeps its last value, a message given twice its last occurrence
 * whole (protobufjs replaces rather than merges). Where protobufjs was lax this follows Java's
 * parser: a known field of another wire type is skipped as unknown (protobufjs read it as the
 * schema's type), and a length past its message's end is refused (protobufjs cut such a string short).
 */
import { PayloadKey } from './proto.js';

/** What a Payload carries, with protobuf's defaults for what it lacks. */
export interface PayloadRead {
  readonly type: string;
  readonly clientIp: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: Uint8Array;
}

/** The bytes are not a protobuf message (truncated, or a wire type that does not exist). */
export class ProtobufReadError extends Error {}

const WireType = { VARINT: 0, FIXED64: 1, DELIMITED: 2, GROUP_START: 3, GROUP_END: 4, FIXED32: 5 } as const;

/** No headers: one frozen object, as protobufjs's default. */
const NO_HEADERS: Readonly<Record<string, string>> = Object.freeze({});
const EMPTY_BYTES: Uint8Array = new Uint8Array(0);

class ProtoReader {
  position = 0;

  constructor(readonly bytes: Buffer) {}

  /** A varint of up to 32 bits (longer ones are read whole, their high bits dropped, as protobufjs's uint32). */
  varint(): number {
    const bytes = this.bytes;
    let value = 0;
    for (let shift = 0; shift < 70; shift += 7) {
      if (this.position >= bytes.length) throw new ProtobufReadError('index out of range');
      const byte = bytes[this.position++]!;
      if (shift < 32) value = (value | ((byte & 0x7f) << shift)) >>> 0;
      if (byte < 0x80) return value;
    }
    throw new ProtobufReadError('invalid varint encoding');
  }

  /** The end offset of a length-delimited field's content, checked against `limit`. */
  delimited(limit: number): number {
    const length = this.varint();
    const end = this.position + length;
    if (end > limit) throw new ProtobufReadError(`index out of range: ${this.position} + ${length} > ${limit}`);
    return end;
  }

  string(limit: number): string {
    const end = this.delimited(limit);
    const value = this.bytes.toString('utf8', this.position, end);
    this.position = end;
    return value;
  }

  /** Skips one field's value of the given wire type. */
  skip(wireType: number, limit: number): void {
    switch (wireType) {
      case WireType.VARINT:
        this.varint();
        return;
      case WireType.FIXED64:
        this.advance(8, limit);
        return;
      case WireType.DELIMITED:
        this.position = this.delimited(limit);
        return;
      case WireType.GROUP_START:
        for (let tag = this.varint(); (tag & 7) !== WireType.GROUP_END; tag = this.varint()) this.skip(tag & 7, limit);
        return;
      case WireType.FIXED32:
        this.advance(4, limit);
        return;
      default:
        throw new ProtobufReadError(`invalid wire type ${wireType} at offset ${this.position}`);
    }
  }

  private advance(count: number, limit: number): void {
    if (this.position + count > limit) throw new ProtobufReadError('index out of range');
    this.position += count;
  }
}

/** @throws ProtobufReadError */
export function readPayload(bytes: Uint8Array): PayloadRead {
  const reader = new ProtoReader(Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
  const limit = bytes.byteLength;
  let type = '';
  let clientIp = '';
  let headers: Record<string, string> | undefined;
  let body = EMPTY_BYTES;
  while (reader.position < limit) {
    const tag = reader.varint();
    if (tag === PayloadKey.METADATA) {
      const end = reader.delimited(limit);
      type = '';
      clientIp = '';
      headers = undefined;
      while (reader.position < end) {
        const field = reader.varint();
        if (field === PayloadKey.METADATA_TYPE) type = reader.string(end);
        else if (field === PayloadKey.METADATA_CLIENT_IP) clientIp = reader.string(end);
        else if (field === PayloadKey.METADATA_HEADERS) readHeader(reader, end, (headers ??= {}));
        else reader.skip(field & 7, end);
      }
    } else if (tag === PayloadKey.BODY) {
      const end = reader.delimited(limit);
      body = EMPTY_BYTES;
      while (reader.position < end) {
        const field = reader.varint();
        if (field === PayloadKey.ANY_VALUE) {
          const valueEnd = reader.delimited(end);
          body = reader.bytes.subarray(reader.position, valueEnd);
          reader.position = valueEnd;
        } else reader.skip(field & 7, end);
      }
    } else {
      reader.skip(tag & 7, limit);
    }
  }
  return { type, clientIp, headers: headers ?? NO_HEADERS, body };
}

/** One map entry of `headers` (a key and a value, each '' when absent). */
function readHeader(reader: ProtoReader, limit: number, headers: Record<string, string>): void {
  const end = reader.delimited(limit);
  let key = '';
  let value = '';
  while (reader.position < end) {
    const field = reader.varint();
    if (field === PayloadKey.ENTRY_KEY) key = reader.string(end);
    else if (field === PayloadKey.ENTRY_VALUE) value = reader.string(end);
    else reader.skip(field & 7, end);
  }
  // Defined, not assigned: a peer's header named `__proto__` is kept as a header, and an
  // assignment would try to set the object's prototype instead.
  Object.defineProperty(headers, key, { value, enumerable: true, writable: true, configurable: true });
}
