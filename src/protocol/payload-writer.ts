/**
 * Writes a Payload (proto.ts) straight into one buffer: its shape is fixed (a metadata message, a
 * body whose only field is the JSON), so the sizes are known before a byte is written. The
 * generic protobufjs encoder builds a list of write operations and a nested state per message,
 * and the JSON was first copied into a Buffer of its own: a measurable share of each reply.
 * For well-formed strings the bytes are protobufjs's (fields in number order; a test compares
 * them); a lone surrogate is written as U+FFFD's valid UTF-8, where protobufjs writes invalid bytes.
 */

import { PayloadKey } from './proto.js';

const { METADATA: PAYLOAD_METADATA, BODY: PAYLOAD_BODY, METADATA_TYPE, METADATA_HEADERS, METADATA_CLIENT_IP, ANY_VALUE, ENTRY_KEY, ENTRY_VALUE } = PayloadKey;

function varintBytes(value: number): number {
  return value < 0x80 ? 1 : value < 0x4000 ? 2 : value < 0x200000 ? 3 : value < 0x10000000 ? 4 : 5;
}

/** A length-delimited field's bytes: key, length, content. */
const fieldBytes = (contentBytes: number): number => 1 + varintBytes(contentBytes) + contentBytes;

/** What a Payload carries. */
export interface PayloadFields {
  readonly type: string;
  readonly clientIp?: string | undefined;
  readonly headers?: Readonly<Record<string, string>> | undefined;
  /** The body's JSON (`Any.value`). */
  readonly json: string;
}

class Cursor {
  offset = 0;
  constructor(readonly buffer: Buffer) {}

  varint(value: number): void {
    while (value >= 0x80) {
      this.buffer[this.offset++] = (value & 0x7f) | 0x80;
      value >>>= 7;
    }
    this.buffer[this.offset++] = value;
  }

  /** A string field whose UTF-8 length is already known. */
  string(key: number, value: string, bytes: number): void {
    this.buffer[this.offset++] = key;
    this.varint(bytes);
    this.offset += this.buffer.write(value, this.offset, bytes, 'utf8');
  }
}

/** The encoded Payload. */
export function writePayload(fields: PayloadFields): Buffer {
  const { type, clientIp, headers, json } = fields;
  const typeBytes = Buffer.byteLength(type, 'utf8');
  const clientIpBytes = clientIp === undefined ? 0 : Buffer.byteLength(clientIp, 'utf8');
  const jsonBytes = Buffer.byteLength(json, 'utf8');
  let metadataBytes = fieldBytes(typeBytes) + (clientIp === undefined ? 0 : fieldBytes(clientIpBytes));
  // Header keys (own, in order, as protobufjs takes them) and each entry's key and value sizes.
  const keys = headers === undefined ? [] : Object.keys(headers);
  const entrySizes: number[] = [];
  if (headers !== undefined) {
    for (const key of keys) {
      const keyBytes = Buffer.byteLength(key, 'utf8');
      const valueBytes = Buffer.byteLength(headers[key]!, 'utf8');
      entrySizes.push(keyBytes, valueBytes);
      metadataBytes += fieldBytes(fieldBytes(keyBytes) + fieldBytes(valueBytes));
    }
  }
  const bodyBytes = fieldBytes(jsonBytes);
  const out = new Cursor(Buffer.allocUnsafe(fieldBytes(metadataBytes) + fieldBytes(bodyBytes)));
  out.buffer[out.offset++] = PAYLOAD_METADATA;
  out.varint(metadataBytes);
  out.string(METADATA_TYPE, type, typeBytes);
  if (headers !== undefined) {
    let entry = 0;
    for (const key of keys) {
      const keyBytes = entrySizes[entry++]!;
      const valueBytes = entrySizes[entry++]!;
      out.buffer[out.offset++] = METADATA_HEADERS;
      out.varint(fieldBytes(keyBytes) + fieldBytes(valueBytes));
      out.string(ENTRY_KEY, key, keyBytes);
      out.string(ENTRY_VALUE, headers[key]!, valueBytes);
    }
  }
  if (clientIp !== undefined) out.string(METADATA_CLIENT_IP, clientIp, clientIpBytes);
  out.buffer[out.offset++] = PAYLOAD_BODY;
  out.varint(bodyBytes);
  out.string(ANY_VALUE, json, jsonBytes);
  return out.buffer;
}
