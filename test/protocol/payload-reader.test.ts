import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { ProtobufReadError, readPayload, type PayloadRead } from '../../src/protocol/payload-reader.js';
import { writePayload } from '../../src/protocol/payload-writer.js';
import { PayloadType, type PayloadProto } from '../support/payload-proto.js';

/** What protobufjs reads from the same bytes, with the defaults decodeEnvelope gave it. */
function protobufjsRead(bytes: Uint8Array): PayloadRead {
  const proto = PayloadType.decode(bytes) as unknown as PayloadProto;
  return {
    type: proto.metadata?.type ?? '',
    clientIp: proto.metadata?.clientIp ?? '',
    headers: proto.metadata?.headers ?? {},
    body: proto.body?.value ?? new Uint8Array(0),
  };
}

const plain = (read: PayloadRead) => ({ ...read, headers: { ...read.headers }, body: [...read.body] });

const varint = (value: number): number[] => {
  const out: number[] = [];
  for (; value >= 0x80; value >>>= 7) out.push((value & 0x7f) | 0x80);
  out.push(value);
  return out;
};
const tag = (field: number, wireType: number) => varint((field << 3) | wireType);
const delimited = (field: number, content: number[]) => [...tag(field, 2), ...varint(content.length), ...content];

/** Fields a newer peer might add, of every wire type: a reader must step over them. */
const unknownField = fc.oneof(
  fc.tuple(fc.integer({ min: 9, max: 2000 }), fc.nat()).map(([field, value]) => [...tag(field, 0), ...varint(value)]),
  fc.tuple(fc.integer({ min: 9, max: 2000 }), fc.uint8Array({ maxLength: 20 })).map(([field, bytes]) => delimited(field, [...bytes])),
  fc.integer({ min: 9, max: 2000 }).map((field) => [...tag(field, 1), 1, 2, 3, 4, 5, 6, 7, 8]),
  fc.integer({ min: 9, max: 2000 }).map((field) => [...tag(field, 5), 1, 2, 3, 4]),
  fc.tuple(fc.integer({ min: 9, max: 2000 }), fc.nat()).map(([field, value]) => [...tag(field, 3), ...tag(1, 0), ...varint(value), ...tag(field, 4)]),
);

describe('readPayload', () => {
  it('reads what protobufjs reads from what the writer writes, unknown fields between them skipped', () => {
    fc.assert(
      fc.property(
        fc.string({ maxLength: 40 }),
        fc.option(fc.string({ maxLength: 40 }), { nil: undefined }),
        fc.dictionary(fc.string({ maxLength: 20 }), fc.string({ maxLength: 100 }), { maxKeys: 5 }),
        fc.string({ maxLength: 200 }),
        fc.array(unknownField, { maxLength: 4 }),
        (type, clientIp, headers, json, unknown) => {
          const bytes = Buffer.from([...unknown.flat(), ...writePayload({ type, clientIp, headers, json })]);
          assert.deepEqual(plain(readPayload(bytes)), plain(protobufjsRead(bytes)));
        },
      ),
    );
  });

  it('keeps the last of a field given twice, and a message given twice whole from its last occurrence', () => {
    const first = [...writePayload({ type: 'A', clientIp: '10.0.0.1', headers: { a: '1' }, json: '{"x":1}' })];
    const second = [...writePayload({ type: 'B', json: '{"y":2}' })];
    const bytes = Buffer.from([...first, ...second]);
    assert.deepEqual(plain(readPayload(bytes)), plain(protobufjsRead(bytes)));
    assert.deepEqual(plain(readPayload(bytes)), { type: 'B', clientIp: '', headers: {}, body: [...Buffer.from('{"y":2}')] });
  });

  it('skips a known field number of another wire type, as Java does (protobufjs reads it as the schema says)', () => {
    const payload = [...writePayload({ type: 'HealthCheckRequest', json: '{}' })];
    const bytes = Buffer.from([...tag(3, 0), ...varint(7), ...tag(2, 5), 1, 2, 3, 4, ...payload]);
    assert.deepEqual(plain(readPayload(bytes)), { type: 'HealthCheckRequest', clientIp: '', headers: {}, body: [...Buffer.from('{}')] });
  });

  it('reads a plain Uint8Array as a Buffer, the body a view of the bytes', () => {
    const written = writePayload({ type: 'HealthCheckRequest', json: '{}' });
    const bytes = new Uint8Array(written);
    const read = readPayload(bytes);
    assert.equal(read.type, 'HealthCheckRequest');
    assert.equal(read.body.buffer, bytes.buffer);
    assert.equal(Buffer.from(read.body).toString(), '{}');
  });

  it("keeps a header named __proto__ as a header, the headers' prototype untouched (the codec's round-trip property found it lost)", () => {
    const read = readPayload(writePayload({ type: 'HealthCheckRequest', headers: JSON.parse('{"__proto__":"x","constructor":"y"}') as Record<string, string>, json: '{}' }));
    assert.equal(Object.getPrototypeOf(read.headers), Object.prototype);
    assert.deepEqual(Object.entries(read.headers), [['__proto__', 'x'], ['constructor', 'y']]);
  });

  it('gives the defaults for an empty Payload', () => {
    assert.deepEqual(plain(readPayload(new Uint8Array(0))), { type: '', clientIp: '', headers: {}, body: [] });
  });

  it('refuses bytes that are not a whole protobuf message', () => {
    const whole = [...writePayload({ type: 'HealthCheckRequest', clientIp: '10.0.0.1', json: '{"a":1}' })];
    // The metadata field (key, one length byte, content), then the body field.
    const metadataEnd = 2 + whole[1]!;
    for (let cut = 1; cut < whole.length; cut++) {
      // A cut between the two fields leaves a whole Payload; every other a length past the end.
      if (cut === metadataEnd) continue;
      assert.throws(() => readPayload(Buffer.from(whole.slice(0, cut))), ProtobufReadError, `cut at ${cut}`);
    }
    assert.throws(() => readPayload(Buffer.from([0x12, 0xff, 0xff, 0xff, 0x0f])), ProtobufReadError);
    assert.throws(() => readPayload(Buffer.from([...tag(9, 6), 0])), /invalid wire type 6/);
    assert.throws(() => readPayload(Buffer.from([...tag(9, 4)])), /invalid wire type 4/);
    assert.throws(() => readPayload(Buffer.from([0x80, 0x80])), ProtobufReadError, 'a varint cut short');
  });
});
