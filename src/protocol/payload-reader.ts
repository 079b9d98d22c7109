/**
 * Reads a Payload (proto.ts) straight from its bytes: the three fields we use, strings decoded
 * where they lie and the body a view. protobufjs's generic decoder made a reader and an object
 * per message (Payload, Metadata, Any) on every call, and we then copied the fields out of them.
 * It reads what protobufjs 7 reads and refuses what it refuses (a test compares them over
 * arbitrary bytes): unknown fields are skipped; a field given twice keeps its last value, a
 * message given twice its last occurrence whole (protobufjs replaces rather than merges); every
 * read (tag, varint, length, skipped field) stays within the message it is in; fields nested more
 * than 100 levels deep (messages and groups) are refused. Where protobufjs is lax this follows
 * Java's parser: a known field of another wire type is skipped as unknown (protobufjs reads it as
 * the schema's type); a string running past its message, field number 0 and an end-group that
 * does not close its own group are refused (protobufjs cuts the string short and skips the
 * others); a varint is read to its last byte (protobufjs steps 5 bytes past a fifth); a header
 * entry counts as a nesting level.
 */
import { setOwn } from './fields.js';
import type { Headers } from './messages.js';
import { PayloadKey } from './proto.js';

/** What a Payload carries, with protobuf's defaults for what it lacks: its metadata read, its JSON body not yet parsed. */
export interface PayloadRead {
  /** `metadata.type`: the simple Java class name of the body. */
  readonly type: string;
  /** `metadata.clientIp`: the sender's own idea of its IP; empty on responses. */
  readonly clientIp: string;
  /** `metadata.headers`. */
  readonly headers: Headers;
  /** UTF-8 JSON of the body (`Any.value`). */
  readonly body: Uint8Array;
}

/** The bytes are not a protobuf message (truncated, or a wire type that does not exist). */
export class ProtobufReadError extends Error {}

const WireType = { VARINT: 0, FIXED64: 1, DELIMITED: 2, GROUP_START: 3, GROUP_END: 4, FIXED32: 5 } as const;

/** No headers: one frozen object, as protobufjs's default. */
const NO_HEADERS: Readonly<Record<string, string>> = Object.freeze({});
const EMPTY_BYTES: Uint8Array = new Uint8Array(0);

/** How deep fields may nest (messages and groups), as protobufjs's and protoc's recursion limit. */
const NESTING_LIMIT = 100;

/** Message depths: the Payload, its Metadata and Any, a header entry. */
const PAYLOAD_DEPTH = 0;
const SUBMESSAGE_DEPTH = 1;
const ENTRY_DEPTH = 2;

/** Every read takes the end of the message it is in (`limit`) and refuses to cross it. */
class ProtoReader {
  position = 0;

  constructor(readonly bytes: Buffer) {}

  /** A varint of up to 32 bits (longer ones are read whole, their high bits dropped, as Java's readRawVarint32). */
  varint(limit: number): number {
    const bytes = this.bytes;
    let value = 0;
    for (let shift = 0; shift < 70; shift += 7) {
      if (this.position >= limit) throw new ProtobufReadError(`index out of range: varint past ${limit}`);
      const byte = bytes[this.position++]!;
      if (shift < 32) value = (value | ((byte & 0x7f) << shift)) >>> 0;
      if (byte < 0x80) return value;
    }
    throw new ProtobufReadError('invalid varint encoding');
  }

  /** A field's key (number << 3 | wire type); number 0 is not a field (Java refuses it too). */
  tag(limit: number): number {
    const tag = this.varint(limit);
    if (tag >>> 3 === 0) throw new ProtobufReadError(`invalid field number 0 at offset ${this.position}`);
    return tag;
  }

  /** The end offset of a length-delimited field's content, checked against `limit`. */
  delimited(limit: number): number {
    const length = this.varint(limit);
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

  /**
   * Skips the value of the field whose key is `tag`, in a message `depth` deep. A group is
   * skipped with a stack of the open groups' numbers, not by recursion: a peer's deep nesting
   * meets the nesting limit, never the call stack.
   */
  skip(tag: number, limit: number, depth: number): void {
    if ((tag & 7) !== WireType.GROUP_START) {
      this.skipValue(tag & 7, limit);
      return;
    }
    const openGroups = [tag >>> 3];
    while (openGroups.length > 0) {
      const inner = this.tag(limit);
      if ((inner & 7) === WireType.GROUP_END) {
        const opened = openGroups.pop();
        if (inner >>> 3 !== opened) throw new ProtobufReadError(`end of group ${inner >>> 3} inside group ${opened}`);
        continue;
      }
      // A field inside a group is one level deeper than the group.
      if (depth + openGroups.length > NESTING_LIMIT) throw new ProtobufReadError('maximum nesting depth exceeded');
      if ((inner & 7) === WireType.GROUP_START) openGroups.push(inner >>> 3);
      else this.skipValue(inner & 7, limit);
    }
  }

  /** Skips a value that is not a group. */
  private skipValue(wireType: number, limit: number): void {
    switch (wireType) {
      case WireType.VARINT:
        this.varint(limit);
        return;
      case WireType.FIXED64:
        this.advance(8, limit);
        return;
      case WireType.DELIMITED:
        this.position = this.delimited(limit);
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
    const tag = reader.tag(limit);
    if (tag === PayloadKey.METADATA) {
      const end = reader.delimited(limit);
      type = '';
      clientIp = '';
      headers = undefined;
      while (reader.position < end) {
        const field = reader.tag(end);
        if (field === PayloadKey.METADATA_TYPE) type = reader.string(end);
        else if (field === PayloadKey.METADATA_CLIENT_IP) clientIp = reader.string(end);
        else if (field === PayloadKey.METADATA_HEADERS) readHeader(reader, end, (headers ??= {}));
        else reader.skip(field, end, SUBMESSAGE_DEPTH);
      }
    } else if (tag === PayloadKey.BODY) {
      const end = reader.delimited(limit);
      body = EMPTY_BYTES;
      while (reader.position < end) {
        const field = reader.tag(end);
        if (field === PayloadKey.ANY_VALUE) {
          const valueEnd = reader.delimited(end);
          body = reader.bytes.subarray(reader.position, valueEnd);
          reader.position = valueEnd;
        } else reader.skip(field, end, SUBMESSAGE_DEPTH);
      }
    } else {
      reader.skip(tag, limit, PAYLOAD_DEPTH);
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
    const field = reader.tag(end);
    if (field === PayloadKey.ENTRY_KEY) key = reader.string(end);
    else if (field === PayloadKey.ENTRY_VALUE) value = reader.string(end);
    else reader.skip(field, end, ENTRY_DEPTH);
  }
  // A peer's header named `__proto__` is kept as a header.
  setOwn(headers, key, value);
}
