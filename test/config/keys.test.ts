import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { InvalidConfigParamError } from '../../src/config/errors.js';
import { checkAdvanceInfo, checkContent, checkKey, checkStorable } from '../../src/config/keys.js';
import { groupKey, md5Hex } from '../../src/protocol/config/index.js';

describe('config keys', () => {
  it('md5 is the hex MD5 of the UTF-8 bytes, as Nacos MD5Utils.md5Hex(content, "UTF-8")', () => {
    assert.equal(md5Hex(''), 'd41d8cd98f00b204e9800998ecf8427e');
    assert.equal(md5Hex('hello'), '5d41402abc4b2a76b9719d911017c592');
    // The digest of the UTF-8 bytes e9 85 8d e7 bd ae (from Python hashlib); a UTF-16 digest differs.
    assert.equal(md5Hex('配置'), '224e2ccda861c2514faa683b3683c361');
  });

  it('group key: parts joined by +, + and % escaped, no tenant part for the public namespace', () => {
    assert.equal(groupKey({ dataId: 'a', group: 'G', tenant: '' }), 'a+G');
    assert.equal(groupKey({ dataId: 'a+b', group: '50%', tenant: 'dev' }), 'a%2Bb+50%25+dev');
    assert.equal(groupKey({ dataId: 'x', group: 'G', tenant: 'a+%b' }), 'x+G+a%2B%25b', 'each part escaped, the tenant too');
  });

  it('accepts Unicode letters, digits and _ - . : and refuses anything else with Nacos messages', () => {
    assert.deepEqual(checkKey('com.app:配置_1-x', 'DEFAULT_GROUP', undefined), { dataId: 'com.app:配置_1-x', group: 'DEFAULT_GROUP', tenant: '' });
    assert.throws(() => checkKey(undefined, 'G', ''), { message: 'invalid dataId : null' });
    assert.throws(() => checkKey('  ', 'G', ''), InvalidConfigParamError);
    assert.throws(() => checkKey('a/b', 'G', ''), { message: 'invalid dataId : a/b' });
    assert.throws(() => checkKey('a', 'G G', ''), { message: 'invalid group : G G' });
    assert.throws(() => checkKey('a', 'G', 'dev/1'), { message: 'invalid tenant' });
    assert.throws(() => checkKey('a', 'G', 'x'.repeat(129)), { message: 'too long tenant, over 128' });
  });

  it("a stored key fits Nacos's columns: dataId 255, group 128 characters (review finding 2)", () => {
    const key = { dataId: 'd'.repeat(255), group: 'g'.repeat(128), tenant: '' };
    assert.deepEqual(checkStorable(key), key);
    assert.throws(() => checkStorable({ ...key, dataId: 'd'.repeat(256) }), { message: 'too long dataId, over 255' });
    assert.throws(() => checkStorable({ ...key, group: 'g'.repeat(129) }), { message: 'too long group, over 128' });
    assert.deepEqual(checkStorable({ ...key, dataId: '𠀀'.repeat(255) }).dataId.length, 510, 'characters, not UTF-16 units');
  });

  it('content: not blank, at most the limit in UTF-8 bytes', () => {
    assert.equal(checkContent('abc', 3), 'abc');
    assert.throws(() => checkContent(' ', 10), { message: 'content is blank :  ' });
    assert.throws(() => checkContent('abcd', 3), { message: 'invalid content, over 3' });
    // Two UTF-16 units, six UTF-8 bytes: the byte count decides.
    assert.throws(() => checkContent('配置', 5), InvalidConfigParamError);
    assert.equal(checkContent('配置', 6), '配置');
  });

  it('advance info over its caps is refused naming the field', () => {
    assert.throws(() => checkAdvanceInfo({ type: 'x'.repeat(33) }), { message: 'too long type, over 32' });
    assert.deepEqual(checkAdvanceInfo({ desc: 'ok' }), { desc: 'ok' });
  });
});
