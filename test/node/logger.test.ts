import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConfigError, parseNodeConfig } from '../../src/node/config.js';
import { resolveLogFormat } from '../../src/node/logger.js';

describe('node log format', () => {
  it('is readable lines on a terminal and JSON lines otherwise, unless one is asked for', () => {
    assert.equal(resolveLogFormat(undefined, true), 'pretty');
    assert.equal(resolveLogFormat(undefined, false), 'json');
    assert.equal(resolveLogFormat('json', true), 'json');
    assert.equal(resolveLogFormat('pretty', false), 'pretty');
  });

  it('takes logFormat from the config and refuses an unknown one, naming the key and the allowed values', () => {
    assert.equal(parseNodeConfig({ logFormat: 'pretty' }).logFormat, 'pretty');
    assert.equal(parseNodeConfig({}).logFormat, undefined);
    assert.throws(
      () => parseNodeConfig({ logFormat: 'xml' }),
      (error: unknown) => error instanceof ConfigError && /'logFormat'/.test(error.message) && /"json"\|"pretty"/.test(error.message),
    );
  });
});
