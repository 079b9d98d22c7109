import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { formatAddress, InvalidServerAddressError, parseServerAddress, ServerList } from '../../src/client/server-list.js';

describe('server addresses (spec 3)', () => {
  it('parses the forms Java accepts; the port defaults to 8848', () => {
    assert.deepEqual(parseServerAddress('10.10.10.10:8848'), { ip: '10.10.10.10', port: 8848 });
    assert.deepEqual(parseServerAddress('10.10.10.10'), { ip: '10.10.10.10', port: 8848 });
    assert.deepEqual(parseServerAddress('http://10.10.10.10'), { ip: '10.10.10.10', port: 8848 });
    assert.deepEqual(parseServerAddress('https://10.10.10.10::8848'), { ip: '10.10.10.10', port: 8848 });
    assert.deepEqual(parseServerAddress('10.10.10.10::9000'), { ip: '10.10.10.10', port: 9000 });
    assert.deepEqual(parseServerAddress('nacos.example:8850'), { ip: 'nacos.example', port: 8850 });
    assert.deepEqual(parseServerAddress('[::1]:8848'), { ip: '::1', port: 8848 });
    assert.deepEqual(parseServerAddress('[fe80::1]'), { ip: 'fe80::1', port: 8848 });
    assert.deepEqual(parseServerAddress('fe80::1:2:3'), { ip: 'fe80::1:2:3', port: 8848 });
    assert.equal(formatAddress({ ip: '::1', port: 8848 }), '[::1]:8848');
  });
  it('rejects empty input and bad ports with a typed error', () => {
    for (const bad of ['', '  ', '10.0.0.1:0', '10.0.0.1:70000', '10.0.0.1:abc', 'http://:8848']) {
      assert.throws(() => parseServerAddress(bad), InvalidServerAddressError, bad);
    }
    assert.throws(() => new ServerList([]), InvalidServerAddressError);
  });
});

describe('server choice (decision 10.7)', () => {
  const addresses = ['10.0.0.1:8848', '10.0.0.2:8848', '10.0.0.3:8848', '10.0.0.4:8848'];

  it('never picks the current server, and spreads evenly over the others', () => {
    let state = 12345;
    const random = () => ((state = (state * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    const list = new ServerList(addresses, random);
    const current = list.all[0]!;
    const counts = new Map<string, number>();
    for (let i = 0; i < 3000; i++) {
      const pick = formatAddress(list.pickOther(current));
      counts.set(pick, (counts.get(pick) ?? 0) + 1);
    }
    assert.equal(counts.get('10.0.0.1:8848'), undefined);
    assert.equal(counts.size, 3);
    for (const [address, n] of counts) assert.ok(n > 850 && n < 1150, `${address}: ${n} of 3000`);
  });

  it('with a one-server list, picks that server', () => {
    const list = new ServerList(['10.0.0.1:8848']);
    assert.equal(formatAddress(list.pickOther(list.all[0])), '10.0.0.1:8848');
  });

  it('resolves a redirect by ip:port, else the first entry with that IP, else none (Java)', () => {
    const list = new ServerList(['10.0.0.1:8848', '10.0.0.2:8848', '10.0.0.2:9000']);
    assert.deepEqual(list.resolveRecommendation('10.0.0.2', 9000), { ip: '10.0.0.2', port: 9000 });
    assert.deepEqual(list.resolveRecommendation('10.0.0.2', 7777), { ip: '10.0.0.2', port: 8848 });
    assert.equal(list.resolveRecommendation('10.9.9.9', 8848), undefined);
  });
});
