import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  encodeGrpcMessage,
  GrpcStatus,
  isGrpcContentType,
  OK_TRAILERS,
  parseGrpcTimeout,
  statusTrailers,
  trailersOnly,
} from '../../../src/server/transport/grpc-status.js';
import { isBeyondTimers } from '../../../src/protocol/index.js';

describe('grpc-timeout', () => {
  it('reads every unit in whole milliseconds, rounding up', () => {
    assert.equal(parseGrpcTimeout('2H'), 7_200_000);
    assert.equal(parseGrpcTimeout('3M'), 180_000);
    assert.equal(parseGrpcTimeout('5S'), 5000);
    assert.equal(parseGrpcTimeout('250m'), 250);
    assert.equal(parseGrpcTimeout('1500u'), 2);
    assert.equal(parseGrpcTimeout('1n'), 1);
    assert.equal(parseGrpcTimeout('0m'), 0);
    assert.equal(parseGrpcTimeout('99999999S'), 99_999_999_000);
  });

  it('tells a timeout no timer can hold (over 2^31-1 ms) from one it can', () => {
    assert.equal(isBeyondTimers(parseGrpcTimeout('596H')!), false);
    assert.equal(isBeyondTimers(2_147_483_647), false);
    assert.equal(isBeyondTimers(2_147_483_648), true);
    assert.equal(isBeyondTimers(parseGrpcTimeout('1000H')!), true);
  });

  it('refuses what the gRPC spec does not allow', () => {
    for (const bad of ['', '5', 'S', '5s', '123456789m', '-1S', '1.5S', ' 5S', '5S ']) assert.equal(parseGrpcTimeout(bad), undefined, bad);
  });
});

describe('status and trailers', () => {
  it('OK is the shared constant; other statuses carry code and message', () => {
    assert.equal(statusTrailers(GrpcStatus.OK, ''), OK_TRAILERS);
    assert.deepEqual(statusTrailers(GrpcStatus.RESOURCE_EXHAUSTED, 'too big'), { 'grpc-status': '8', 'grpc-message': 'too big' });
  });

  it('a trailers-only answer is the response headers and the status together', () => {
    assert.deepEqual(trailersOnly(GrpcStatus.UNIMPLEMENTED, 'no such method'), {
      ':status': 200,
      'content-type': 'application/grpc',
      'grpc-accept-encoding': 'identity',
      'grpc-status': '12',
      'grpc-message': 'no such method',
    });
  });

  it('percent-encodes %, control characters and non-ASCII in grpc-message', () => {
    assert.equal(encodeGrpcMessage('plain text (ok)'), 'plain text (ok)');
    assert.equal(encodeGrpcMessage('50% done\n'), '50%25 done%0A');
    assert.equal(encodeGrpcMessage('é'), '%C3%A9');
  });

  it('knows gRPC content types', () => {
    for (const ok of ['application/grpc', 'application/grpc+proto', 'application/grpc;charset=utf-8']) assert.ok(isGrpcContentType(ok), ok);
    for (const bad of [undefined, '', 'application/json', 'application/grpc-web', 'application/grpcx']) assert.ok(!isGrpcContentType(bad), String(bad));
  });
});
