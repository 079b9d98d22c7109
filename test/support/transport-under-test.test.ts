import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import { DEFAULT_TRANSPORT, TRANSPORT_KINDS } from '../../src/server/transport/types.js';
import { transportUnderTest } from './server.js';

describe('transportUnderTest: which gRPC transport a test file runs on', () => {
  const saved = process.env['NACOS_TRANSPORT'];
  afterEach(() => {
    if (saved === undefined) delete process.env['NACOS_TRANSPORT'];
    else process.env['NACOS_TRANSPORT'] = saved;
  });

  it("is the node's default when NACOS_TRANSPORT is unset", () => {
    delete process.env['NACOS_TRANSPORT'];
    assert.equal(transportUnderTest(), DEFAULT_TRANSPORT);
  });

  it("'other' (CI's transport lane) is whichever transport is not the default", () => {
    process.env['NACOS_TRANSPORT'] = 'other';
    const other = transportUnderTest();
    assert.notEqual(other, DEFAULT_TRANSPORT);
    assert.ok(TRANSPORT_KINDS.includes(other));
  });

  it('names a transport explicitly, and refuses an unknown one', () => {
    for (const kind of TRANSPORT_KINDS) {
      process.env['NACOS_TRANSPORT'] = kind;
      assert.equal(transportUnderTest(), kind);
    }
    process.env['NACOS_TRANSPORT'] = 'quic';
    assert.throws(() => transportUnderTest(), /NACOS_TRANSPORT must be grpc-js, http2 or other, not quic/);
  });
});
