import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { md5Hex } from '../../src/protocol/config/index.js';
import { startTestNode } from '../support/node.js';

const FORM = { 'content-type': 'application/x-www-form-urlencoded' };

function form(fields: Record<string, string>): string {
  return new URLSearchParams(fields).toString();
}

describe('config open API (HTTP)', async () => {
  const node = await startTestNode({ config: { maxContentBytes: 1024 } });
  after(() => node.dispose());
  const inject = node.http.inject.bind(node.http);

  it('v2: publish (form), get, delete, with Nacos Result bodies', async () => {
    const published = await inject({ method: 'POST', url: '/nacos/v2/cs/config', headers: FORM, payload: form({ dataId: 'web.json', group: 'G', content: '{"a":1}', type: 'json' }) });
    assert.equal(published.statusCode, 200, published.body);
    assert.deepEqual(published.json(), { code: 0, message: 'success', data: true });
    const got = await inject({ method: 'GET', url: '/nacos/v2/cs/config?dataId=web.json&group=G' });
    assert.deepEqual(got.json(), { code: 0, message: 'success', data: '{"a":1}' });
    const deleted = await inject({ method: 'DELETE', url: '/nacos/v2/cs/config?dataId=web.json&group=G' });
    assert.deepEqual(deleted.json(), { code: 0, message: 'success', data: true });
    const gone = await inject({ method: 'GET', url: '/nacos/v2/cs/config?dataId=web.json&group=G' });
    assert.equal(gone.statusCode, 404);
    assert.deepEqual(gone.json(), { code: 20004, message: 'resource not found', data: 'config data not exist' });
  });

  it('v1: publish and get as text with md5 and type headers; namespaces by tenant', async () => {
    const published = await inject({ method: 'POST', url: '/nacos/v1/cs/configs', headers: FORM, payload: form({ dataId: 'a.yaml', group: 'G', tenant: 'dev', content: 'k: 配置', type: 'yaml' }) });
    assert.equal(published.statusCode, 200, published.body);
    assert.equal(published.body, 'true');
    const got = await inject({ method: 'GET', url: '/nacos/v1/cs/configs?dataId=a.yaml&group=G&tenant=dev' });
    assert.equal(got.body, 'k: 配置');
    assert.equal(got.headers['content-md5'], md5Hex('k: 配置'));
    assert.equal(got.headers['config-type'], 'yaml');
    assert.equal((await inject({ method: 'GET', url: '/nacos/v1/cs/configs?dataId=a.yaml&group=G' })).statusCode, 404, 'another namespace');
    assert.equal((await inject({ method: 'DELETE', url: '/nacos/v1/cs/configs?dataId=a.yaml&group=G&tenant=dev' })).body, 'true');
    assert.equal((await inject({ method: 'GET', url: '/nacos/v1/cs/configs?dataId=a.yaml&group=G&tenant=dev' })).statusCode, 404);
  });

  it('bad input: a clear error, nothing stored', async () => {
    const cases: [Record<string, string>, number, number, RegExp][] = [
      [{ dataId: 'a/b', group: 'G', content: 'x' }, 400, 20002, /invalid dataId : a\/b/],
      [{ group: 'G', content: 'x' }, 400, 10000, /dataId/],
      [{ dataId: 'big', group: 'G', content: 'x'.repeat(1025) }, 400, 20002, /over 1024/],
      [{ dataId: 'tagged', group: 'G', content: 'x', tag: 'canary' }, 501, 30000, /tag configs are not supported/],
    ];
    for (const [fields, status, code, data] of cases) {
      const reply = await inject({ method: 'POST', url: '/nacos/v2/cs/config', headers: FORM, payload: form(fields) });
      assert.equal(reply.statusCode, status, JSON.stringify(fields));
      assert.equal(reply.json().code, code);
      assert.match(reply.json().data, data);
    }
    assert.equal(await node.configModule.service.store.count(), 0);
    const v1 = await inject({ method: 'POST', url: '/nacos/v1/cs/configs', headers: FORM, payload: form({ dataId: 'a/b', group: 'G', content: 'x' }) });
    assert.equal(v1.statusCode, 400);
    assert.equal(v1.body, 'invalid dataId : a/b');
  });

  it('CAS over HTTP: the stored md5 updates, another answers 409 and changes nothing', async () => {
    const base = { dataId: 'cas.txt', group: 'G' };
    await inject({ method: 'POST', url: '/nacos/v2/cs/config', headers: FORM, payload: form({ ...base, content: 'one' }) });
    const refused = await inject({ method: 'POST', url: '/nacos/v2/cs/config', headers: FORM, payload: form({ ...base, content: 'two', casMd5: md5Hex('zzz') }) });
    assert.equal(refused.statusCode, 409);
    assert.equal((await inject({ method: 'GET', url: '/nacos/v2/cs/config?dataId=cas.txt&group=G' })).json().data, 'one');
    const ok = await inject({ method: 'POST', url: '/nacos/v2/cs/config', headers: FORM, payload: form({ ...base, content: 'two', casMd5: md5Hex('one') }) });
    assert.equal(ok.statusCode, 200);
  });

  it('history: list newest first, one entry by nid, another key\'s nid is not found', async () => {
    const base = { dataId: 'h.txt', group: 'G' };
    for (const content of ['v1', 'v2']) await inject({ method: 'POST', url: '/nacos/v2/cs/config', headers: FORM, payload: form({ ...base, content }) });
    const list = await inject({ method: 'GET', url: '/nacos/v2/cs/history/list?dataId=h.txt&group=G' });
    const page = list.json().data;
    assert.equal(page.totalCount, 2);
    assert.deepEqual(page.pageItems.map((h: { opType: string }) => h.opType), ['U', 'I']);
    const nid = page.pageItems[0].id;
    const entry = await inject({ method: 'GET', url: `/nacos/v2/cs/history?dataId=h.txt&group=G&nid=${nid}` });
    assert.equal(entry.json().data.content, 'v1', 'an update keeps the previous content');
    const elsewhere = await inject({ method: 'GET', url: `/nacos/v2/cs/history?dataId=cas.txt&group=G&nid=${nid}` });
    assert.equal(elsewhere.statusCode, 404);
  });

  it('a huge history page number gives 500 instead of 400: now 400 naming pageNo; the last allowed page answers empty', async () => {
    await inject({ method: 'POST', url: '/nacos/v2/cs/config', headers: FORM, payload: form({ dataId: 'pages.txt', group: 'G', content: 'x' }) });
    for (const pageNo of ['100000000000000000000', '9007199254740993', String(Math.floor(Number.MAX_SAFE_INTEGER / 500) + 1)]) {
      const reply = await inject({ method: 'GET', url: `/nacos/v2/cs/history/list?dataId=pages.txt&group=G&pageNo=${pageNo}&pageSize=500` });
      assert.equal(reply.statusCode, 400, `pageNo=${pageNo}: ${reply.body}`);
      assert.match(reply.body, /pageNo/);
    }
    const last = Math.floor(Number.MAX_SAFE_INTEGER / 500);
    const reply = await inject({ method: 'GET', url: `/nacos/v2/cs/history/list?dataId=pages.txt&group=G&pageNo=${last}&pageSize=500` });
    assert.equal(reply.statusCode, 200, reply.body);
    assert.equal(reply.json().data.totalCount, 1);
    assert.deepEqual(reply.json().data.pageItems, []);
  });
});

describe('config open API writes follow the admin write rule', async () => {
  const node = await startTestNode({ auth: { tokens: ['secret-token-1'], protectReads: false } });
  after(() => node.dispose());

  it('without tokens: a write from another host or sent cross-site is refused, from loopback taken', async () => {
    const open = await startTestNode();
    try {
      const post = { method: 'POST' as const, url: '/nacos/v2/cs/config', headers: FORM, payload: form({ dataId: 'x', group: 'G', content: 'x' }) };
      assert.equal((await open.http.inject({ ...post, remoteAddress: '10.9.9.9' })).statusCode, 403);
      assert.equal((await open.http.inject({ ...post, headers: { ...FORM, 'sec-fetch-site': 'cross-site' } })).statusCode, 403);
      assert.equal((await open.http.inject({ method: 'DELETE', url: '/nacos/v1/cs/configs?dataId=x&group=G', remoteAddress: '10.9.9.9' })).statusCode, 403);
      assert.equal(await open.configModule.service.store.count(), 0);
      assert.equal((await open.http.inject({ method: 'GET', url: '/nacos/v2/cs/config?dataId=x&group=G', remoteAddress: '10.9.9.9' })).statusCode, 404, 'reads are open');
      assert.equal((await open.http.inject(post)).statusCode, 200);
    } finally {
      await open.dispose();
    }
  });

  it('a write without a token is refused and stores nothing; reads stay open', async () => {
    const refused = await node.http.inject({ method: 'POST', url: '/nacos/v2/cs/config', headers: FORM, payload: form({ dataId: 'x', group: 'G', content: 'x' }) });
    assert.equal(refused.statusCode, 403);
    assert.equal(await node.configModule.service.store.count(), 0);
    const allowed = await node.http.inject({ method: 'POST', url: '/nacos/v2/cs/config?accessToken=secret-token-1', headers: FORM, payload: form({ dataId: 'x', group: 'G', content: 'x' }) });
    assert.equal(allowed.statusCode, 200, allowed.body);
    assert.equal((await node.http.inject({ method: 'GET', url: '/nacos/v2/cs/config?dataId=x&group=G' })).statusCode, 200);
  });
});
