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

const utf8 = (text: string): number[] => [...Buffer.from(text)];
const unknownNumber = fc.integer({ min: 9, max: 2000 });

/** Fields a newer peer might add, of every wire type, groups nested in groups: a reader must step over them. */
const { unknownField } = fc.letrec<{ unknownField: number[]; group: number[] }>((tie) => ({
  unknownField: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    fc.tuple(unknownNumber, fc.nat()).map(([field, value]) => [...tag(field, 0), ...varint(value)]),
    fc.tuple(unknownNumber, fc.uint8Array({ maxLength: 20 })).map(([field, bytes]) => delimited(field, [...bytes])),
    unknownNumber.map((field) => [...tag(field, 1), 1, 2, 3, 4, 5, 6, 7, 8]),
    unknownNumber.map((field) => [...tag(field, 5), 1, 2, 3, 4]),
    tie('group'),
  ),
  group: fc
    .tuple(unknownNumber, fc.array(tie('unknownField'), { maxLength: 3 }))
    .map(([field, inner]) => [...tag(field, 3), ...inner.flat(), ...tag(field, 4)]),
}));
const unknownFields = fc.array(unknownField, { maxLength: 2 }).map((fields) => fields.flat());

/** A Payload with unknown fields around every field, inside Metadata, Any and each header entry too, and what it carries. */
const payloadWithUnknownFields = fc
  .tuple(
    fc.string({ maxLength: 40 }),
    fc.string({ maxLength: 40 }),
    fc.dictionary(fc.string({ maxLength: 20 }), fc.string({ maxLength: 100 }), { maxKeys: 4 }),
    fc.string({ maxLength: 200 }),
    fc.array(unknownFields, { minLength: 12, maxLength: 12 }),
  )
  .map(([type, clientIp, headers, json, unknown]) => {
    const entries = Object.entries(headers).flatMap(([key, value]) =>
      delimited(7, [...unknown[0]!, ...delimited(1, utf8(key)), ...unknown[1]!, ...delimited(2, utf8(value)), ...unknown[2]!]),
    );
    const metadata = delimited(2, [...unknown[3]!, ...delimited(3, utf8(type)), ...unknown[4]!, ...entries, ...unknown[5]!, ...delimited(8, utf8(clientIp)), ...unknown[6]!]);
    const body = delimited(3, [...unknown[7]!, ...delimited(2, utf8(json)), ...unknown[8]!]);
    return {
      bytes: Buffer.from([...unknown[9]!, ...metadata, ...unknown[10]!, ...body, ...unknown[11]!]),
      expected: { type, clientIp, headers: { ...headers }, body: utf8(json) },
    };
  });

/** A message's fields as protobufjs's schema has them: a string, bytes, or a message. */
interface Schema {
  readonly [field: number]: Schema | 'string' | 'bytes';
}
const ENTRY_SCHEMA: Schema = { 1: 'string', 2: 'string' };
const PAYLOAD_SCHEMA: Schema = { 2: { 3: 'string', 7: ENTRY_SCHEMA, 8: 'string' }, 3: { 1: 'string', 2: 'bytes' } };

/**
 * Where the reader and protobufjs 7.6.6 may differ on purpose: the reader follows Java's parser
 * (payload-reader.ts says so). The first two are refused by the reader and accepted by protobufjs.
 */
const Difference = {
  FIELD_ZERO: 'field number 0: refused (protobufjs skips it)',
  GROUP_END_MISMATCH: 'an end-group that does not close its group: refused (protobufjs takes it as the end)',
  WIRE_TYPE: "a known field of another wire type: skipped (protobufjs reads it as the schema's type)",
  STRING_PAST_END: 'a string whose length runs past its message: refused (protobufjs cuts it short)',
  LONG_VARINT: 'a varint of more than 5 bytes: read to its last byte (protobufjs steps 5 bytes past the fifth, whatever they are)',
  ENTRY_NESTING: 'groups 100 deep in a header entry: refused (protobufjs does not count the entry as a level)',
} as const;

class DifferenceFound {
  constructor(readonly difference: string) {}
}

/**
 * Walks the bytes as both readers do, and says which documented difference they meet first, if
 * any; undefined also when the bytes are malformed in a way both readers refuse.
 */
function documentedDifference(bytes: Uint8Array): string | undefined {
  let position = 0;
  const malformed = new Error('both refuse');
  const found = (difference: string) => new DifferenceFound(difference);
  const readVarint = (limit: number): number => {
    let value = 0;
    for (let index = 0; ; index++) {
      if (position >= limit) throw malformed;
      const byte = bytes[position++]!;
      if (index === 4 && byte >= 0x80) throw found(Difference.LONG_VARINT);
      value = (value | ((byte & 0x7f) << (7 * index))) >>> 0;
      if (byte < 0x80) return value;
    }
  };
  const readTag = (limit: number): number => {
    const key = readVarint(limit);
    if (key >>> 3 === 0) throw found(Difference.FIELD_ZERO);
    return key;
  };
  const readEnd = (limit: number): number => {
    const length = readVarint(limit);
    if (position + length > limit) throw malformed;
    return position + length;
  };
  const skipValue = (wireType: number, limit: number): void => {
    const width = wireType === 1 ? 8 : wireType === 5 ? 4 : undefined;
    if (wireType === 0) readVarint(limit);
    else if (wireType === 2) position = readEnd(limit);
    else if (width === undefined || position + width > limit) throw malformed;
    else position += width;
  };
  const walkMessage = (schema: Schema, limit: number, depth: number): void => {
    while (position < limit) {
      const key = readTag(limit);
      const known = schema[key >>> 3];
      if (known !== undefined && (key & 7) !== 2) throw found(Difference.WIRE_TYPE);
      if (known === 'string') {
        const length = readVarint(limit);
        if (position + length > limit) throw found(Difference.STRING_PAST_END);
        position += length;
      } else if (known === 'bytes') {
        position = readEnd(limit);
      } else if (known !== undefined) {
        const end = readEnd(limit);
        walkMessage(known, end, depth + 1);
      } else if ((key & 7) !== 3) {
        skipValue(key & 7, limit);
      } else {
        const openGroups = [key >>> 3];
        while (openGroups.length > 0) {
          const inner = readTag(limit);
          if ((inner & 7) === 4) {
            if (inner >>> 3 !== openGroups.pop()) throw found(Difference.GROUP_END_MISMATCH);
            continue;
          }
          if (schema === ENTRY_SCHEMA && openGroups.length === 99) throw found(Difference.ENTRY_NESTING);
          if (depth + openGroups.length > 100) throw malformed;
          if ((inner & 7) === 3) openGroups.push(inner >>> 3);
          else skipValue(inner & 7, limit);
        }
      }
    }
  };
  try {
    walkMessage(PAYLOAD_SCHEMA, bytes.length, 0);
    return undefined;
  } catch (error) {
    if (error instanceof DifferenceFound) return error.difference;
    if (error === malformed) return undefined;
    throw error;
  }
}

const REFUSED = 'refused';
function ourOutcome(bytes: Buffer): ReturnType<typeof plain> | typeof REFUSED {
  try {
    return plain(readPayload(bytes));
  } catch (error) {
    // Our refusals are ours: never a RangeError of V8's or a TypeError.
    if (error instanceof ProtobufReadError) return REFUSED;
    throw error;
  }
}
function protobufjsOutcome(bytes: Buffer): ReturnType<typeof plain> | typeof REFUSED {
  try {
    return plain(protobufjsRead(bytes));
  } catch {
    return REFUSED;
  }
}

/** Both refuse, or both read the same, unless the bytes meet a documented difference. */
function assertReadsAsProtobufjs(bytes: Buffer): void {
  const difference = documentedDifference(bytes);
  const ours = ourOutcome(bytes);
  if (difference === Difference.FIELD_ZERO || difference === Difference.GROUP_END_MISMATCH) assert.equal(ours, REFUSED, difference);
  else if (difference === undefined) assert.deepEqual(ours, protobufjsOutcome(bytes), Buffer.from(bytes).toString('hex'));
}

/** `count` groups of an unknown field, each inside the last, closed properly. */
const nestedGroups = (count: number): number[] => [...Array<number[]>(count).fill(tag(9, 3)).flat(), ...Array<number[]>(count).fill(tag(9, 4)).flat()];

describe('readPayload', () => {
  it('reads what protobufjs reads from what the writer writes, unknown fields between them skipped', () => {
    fc.assert(
      fc.property(
        fc.string({ maxLength: 40 }),
        fc.option(fc.string({ maxLength: 40 }), { nil: undefined }),
        fc.dictionary(fc.string({ maxLength: 20 }), fc.string({ maxLength: 100 }), { maxKeys: 5 }),
        fc.string({ maxLength: 200 }),
        unknownFields,
        (type, clientIp, headers, json, unknown) => {
          const bytes = Buffer.from([...unknown, ...writePayload({ type, clientIp, headers, json })]);
          assert.deepEqual(plain(readPayload(bytes)), plain(protobufjsRead(bytes)));
        },
      ),
    );
  });

  it('skips unknown fields of every wire type, nested groups too, inside Metadata, Any and each header entry as at the top level', () => {
    fc.assert(
      fc.property(payloadWithUnknownFields, ({ bytes, expected }) => {
        assert.deepEqual(plain(readPayload(bytes)), expected);
        assert.deepEqual(plain(protobufjsRead(bytes)), expected);
      }),
    );
  });

  it('refuses what protobufjs refuses and reads what it reads, over arbitrary bytes, but for the documented differences', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 80 }), (bytes) => assertReadsAsProtobufjs(Buffer.from(bytes))), { numRuns: 2000 });
  });

  it('refuses what protobufjs refuses and reads what it reads, over mutated Payloads, but for the documented differences', () => {
    const mutation = fc.tuple(fc.constantFrom('set', 'insert', 'delete'), fc.nat(), fc.integer({ min: 0, max: 255 }));
    fc.assert(
      fc.property(payloadWithUnknownFields, fc.array(mutation, { minLength: 1, maxLength: 3 }), ({ bytes }, mutations) => {
        const mutated = [...bytes];
        for (const [kind, at, byte] of mutations) {
          const index = at % (mutated.length + 1);
          if (kind === 'insert') mutated.splice(index, 0, byte);
          else if (kind === 'delete') mutated.splice(index, 1);
          else if (index < mutated.length) mutated[index] = byte;
        }
        assertReadsAsProtobufjs(Buffer.from(mutated));
      }),
      { numRuns: 2000 },
    );
  });

  it('refuses groups nested past 100 levels as protobufjs does, without recursing (20,000 open groups met the call stack)', () => {
    assert.throws(() => readPayload(Buffer.alloc(20000, 0x0b)), ProtobufReadError);
    assert.throws(() => readPayload(Buffer.alloc(20000, 0x0b)), /maximum nesting depth exceeded/);
    assert.throws(() => readPayload(Buffer.from(nestedGroups(150))), /maximum nesting depth exceeded/);
    assert.doesNotThrow(() => readPayload(Buffer.from(nestedGroups(101))));
    // The limit where protobufjs has it, at the top level and inside Metadata.
    const inMetadata = (content: number[]) => delimited(2, content);
    for (const count of [99, 100, 101, 102, 150]) {
      for (const bytes of [nestedGroups(count), inMetadata(nestedGroups(count))]) {
        assert.equal(documentedDifference(Buffer.from(bytes)), undefined);
        assertReadsAsProtobufjs(Buffer.from(bytes));
      }
    }
    // Java counts a header entry as a level: 100 groups in one are refused, where protobufjs reads them.
    const inEntry = (count: number) => Buffer.from(inMetadata(delimited(7, nestedGroups(count))));
    assertReadsAsProtobufjs(inEntry(99));
    assert.equal(readPayload(inEntry(99)).headers[''], '');
    assert.throws(() => readPayload(inEntry(100)), /maximum nesting depth exceeded/);
    assert.equal(documentedDifference(inEntry(100)), Difference.ENTRY_NESTING);
  });

  it("refuses an end-group that is not its group's, and field number 0, as Java does (protobufjs skips them)", () => {
    const payload = [...writePayload({ type: 'HealthCheckRequest', json: '{}' })];
    const mismatched = Buffer.from([...tag(9, 3), ...tag(10, 4), ...payload]);
    assert.throws(() => readPayload(mismatched), /end of group 10 inside group 9/);
    assert.equal(documentedDifference(mismatched), Difference.GROUP_END_MISMATCH);
    assert.equal(protobufjsRead(mismatched).type, 'HealthCheckRequest');
    for (const fieldZero of [[0, 0, ...payload], delimited(2, [0, 0]), delimited(3, [...tag(9, 3), 0, 0, ...tag(9, 4)])]) {
      assert.throws(() => readPayload(Buffer.from(fieldZero)), /invalid field number 0/);
      assert.equal(documentedDifference(Buffer.from(fieldZero)), Difference.FIELD_ZERO);
    }
  });

  it('refuses a field that runs past the end of its Metadata, Any or header entry, as protobufjs and Java do', () => {
    const cases = {
      // Metadata of 1 byte: field 4's key, its varint value the byte after the Metadata; then a body.
      'varint past Metadata': [0x12, 0x01, 0x20, 0x00, 0x1a, 0x04, 0x12, 0x02, 0x7b, 0x7d],
      // Metadata {type 'A', field 4's key}, the value 0x92 0x00 outside it, then Metadata {type 'B'}.
      'varint past Metadata, then another Metadata': [...delimited(2, [...delimited(3, utf8('A')), 0x20]), 0x92, 0x00, ...delimited(2, delimited(3, utf8('B'))), ...delimited(3, delimited(2, utf8('{}')))],
      // A header entry {key 'k', field 3's key}, its value the next byte of the Metadata.
      'varint past a header entry': [...delimited(2, [...delimited(7, [...delimited(1, utf8('k')), 0x18]), 0x05]), ...delimited(3, delimited(2, utf8('{}')))],
      'tag past Any': [...delimited(3, [0x80]), 0x01],
      'group past Metadata': [...delimited(2, tag(9, 3)), ...tag(9, 4)],
    };
    for (const [name, bytes] of Object.entries(cases)) {
      assert.throws(() => readPayload(Buffer.from(bytes)), /index out of range/, name);
      assert.throws(() => protobufjsRead(Buffer.from(bytes)), /index out of range/, name);
    }
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
