import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { writePayload } from '../../src/protocol/payload-writer.js';
import { PayloadType, type PayloadProto } from '../../src/protocol/proto.js';

/** What protobufjs writes for the same fields (an unset clientIp or empty headers are not written). */
function protobufjsBytes(type: string, clientIp: string | undefined, headers: Record<string, string>, json: string): Uint8Array {
  const metadata: NonNullable<PayloadProto['metadata']> = { type };
  if (clientIp !== undefined) metadata.clientIp = clientIp;
  if (Object.keys(headers).length > 0) metadata.headers = headers;
  return PayloadType.encode({ metadata, body: { value: Buffer.from(json, 'utf8') } }).finish();
}

describe('writePayload', () => {
  it('writes the bytes protobufjs writes, whatever the strings and headers', () => {
    fc.assert(
      fc.property(
        fc.string({ unit: 'grapheme', maxLength: 40 }),
        fc.option(fc.string({ unit: 'grapheme', maxLength: 40 }), { nil: undefined }),
        fc.dictionary(fc.string({ unit: 'grapheme', maxLength: 20 }), fc.string({ unit: 'grapheme', maxLength: 200 }), { maxKeys: 5 }),
        fc.string({ unit: 'grapheme', maxLength: 300 }),
        (type, clientIp, headers, json) => {
          const expected = [...protobufjsBytes(type, clientIp, headers, json)];
          assert.deepEqual([...writePayload({ type, clientIp, headers, json })], expected);
          // The JSON handed over already encoded (a shared body) writes the same bytes.
          assert.deepEqual([...writePayload({ type, clientIp, headers, json: Buffer.from(json, 'utf8') })], expected);
        },
      ),
    );
  });

  it('writes lengths that take several varint bytes (a body of 300 KB)', () => {
    const json = JSON.stringify({ content: 'é'.repeat(150_000) });
    const bytes = writePayload({ type: 'ConfigQueryResponse', json });
    assert.deepEqual([...bytes], [...protobufjsBytes('ConfigQueryResponse', undefined, {}, json)]);
    const decoded = PayloadType.decode(bytes) as unknown as PayloadProto;
    assert.equal(Buffer.from(decoded.body!.value!).toString('utf8'), json);
  });
});
