import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { writePayload } from '../../src/protocol/payload-writer.js';
import { PayloadType, type PayloadProto } from '../support/payload-proto.js';

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
        },
      ),
    );
  });

  it('any string, lone surrogates included, decodes as that string made well-formed (protobufjs writes those as invalid UTF-8)', () => {
    const wellFormed = (text: string): string => (text as string & { toWellFormed(): string }).toWellFormed();
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 40 }), fc.string({ unit: 'binary', maxLength: 200 }), (type, json) => {
        const decoded = PayloadType.decode(writePayload({ type, headers: { [type]: json }, json })) as unknown as PayloadProto;
        assert.equal(decoded.metadata?.type, wellFormed(type));
        assert.deepEqual(decoded.metadata?.headers, { [wellFormed(type)]: wellFormed(json) });
        assert.equal(Buffer.from(decoded.body!.value!).toString('utf8'), wellFormed(json));
      }),
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
