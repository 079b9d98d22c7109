import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { InvalidResponseError, UnknownResponseTypeError } from '../../src/client/errors.js';
import { decodeResponse } from '../../src/client/decode-response.js';
import {
  defineResponseType,
  encodePayload,
  InvalidBodyError,
  MalformedPayloadError,
  MessageRegistry,
  request,
  response,
} from '../../src/protocol/index.js';
import { PayloadType } from '../support/payload-proto.js';

const registry = MessageRegistry.connectionLayer().register(
  defineResponseType('ConfigQueryResponse', {
    parseBody: (json) => {
      if (typeof json['content'] !== 'string') throw new InvalidBodyError("field 'content' must be a string");
      return { content: json['content'] };
    },
  }),
);
const raw = (type: string, json: string) => PayloadType.encode({ metadata: { type }, body: { value: Buffer.from(json) } }).finish();

describe('decodeResponse: a unary answer, or an UnusableResponseError naming what was wrong', () => {
  it('decodes a registered business response with its parser', () => {
    const reply = decodeResponse(encodePayload(response('ConfigQueryResponse', { content: 'x', other: 1 })), registry, 'ConfigQueryRequest');
    assert.deepEqual(reply, { kind: 'response', type: 'ConfigQueryResponse', resultCode: 200, errorCode: 0, body: { content: 'x' } });
  });

  it('an unregistered type: UnknownResponseTypeError with both type names', () => {
    assert.throws(
      () => decodeResponse(encodePayload(response('MysteryResponse')), registry, 'MysteryRequest'),
      (error: unknown) => error instanceof UnknownResponseTypeError && error.responseType === 'MysteryResponse' && error.requestType === 'MysteryRequest',
    );
  });

  it('bytes that are no Payload, broken JSON, a refused field, a request: InvalidResponseError with the cause', () => {
    const cases: [Uint8Array, (cause: unknown) => boolean][] = [
      [Uint8Array.from([0x12, 0xff, 0xff, 0xff, 0x0f]), (cause) => cause instanceof MalformedPayloadError],
      [raw('ConfigQueryResponse', '{"content":'), (cause) => cause instanceof InvalidBodyError],
      [raw('ConfigQueryResponse', '{"content":5}'), (cause) => cause instanceof InvalidBodyError],
      [encodePayload(request('HealthCheckRequest')), (cause) => cause === undefined],
    ];
    for (const [bytes, expectedCause] of cases) {
      assert.throws(
        () => decodeResponse(bytes, registry, 'ConfigQueryRequest'),
        (error: unknown) => error instanceof InvalidResponseError && error.code === 'INVALID_RESPONSE' && expectedCause(error.cause),
      );
    }
  });
});
