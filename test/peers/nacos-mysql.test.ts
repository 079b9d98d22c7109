import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { MariaDb } from '../support/mariadb.js';
import { startTestNode } from '../support/node.js';
import { NACOS_224, PeerServer } from '../support/peer-server.js';
import { findMainPort } from '../support/ports.js';

type TestNode = Awaited<ReturnType<typeof startTestNode>>;
const GROUP = 'DEFAULT_GROUP';

/**
 * Our node and a real Nacos 2.2.4 server on one MariaDB with Nacos's schema (created by our
 * --db-init): a config either writes is read by the other, history included.
 */
describe('one MariaDB shared by our node and a real Nacos 2.2.4 server', { timeout: 45 * 60_000 }, () => {
  const db = new MariaDb();
  let node: TestNode;
  let nacos: PeerServer;
  let nacosPort: number;

  const post = async (base: string, params: Record<string, string>): Promise<void> => {
    const res = await fetch(`${base}/nacos/v1/cs/configs`, { method: 'POST', body: new URLSearchParams({ group: GROUP, ...params }) });
    assert.equal(res.status, 200, `${base}: ${await res.text()}`);
  };
  const get = async (base: string, dataId: string): Promise<{ status: number; content: string; md5: string | null }> => {
    const res = await fetch(`${base}/nacos/v1/cs/configs?${new URLSearchParams({ dataId, group: GROUP })}`);
    return { status: res.status, content: await res.text(), md5: res.headers.get('content-md5') };
  };

  before(async () => {
    PeerServer.prepare(NACOS_224);
    await db.start();
    await db.createDatabase('nacos');
    // Nacos's data source wants a user with a password.
    await db.query("CREATE USER 'nacos'@'%' IDENTIFIED BY 'nacos-pass'");
    await db.query("GRANT ALL ON nacos.* TO 'nacos'@'%'");
    // A Nacos server writing beside ours is a mixed cluster: its changes announce nothing to our
    // node, so reads ask the database (docs/config.md, config.readThrough).
    node = await startTestNode({
      db: { host: db.host, port: db.port, user: 'nacos', password: 'nacos-pass', database: 'nacos', init: true },
      config: { readThrough: true },
    });
    // Ours first, with --db-init: Nacos then starts on the schema we created and dumps our row.
    await post(node.base, { dataId: 'from-ours', content: 'written=by ours', type: 'properties', appName: 'shop', desc: 'ours' });
    nacosPort = await findMainPort(['127.0.0.1', '0.0.0.0'], NACOS_224.offsets);
    const jdbc = `jdbc:mysql://127.0.0.1:${db.port}/nacos?characterEncoding=utf8&connectTimeout=1000&socketTimeout=3000&autoReconnect=true&useUnicode=true&useSSL=false&serverTimezone=UTC`;
    nacos = new PeerServer(NACOS_224, nacosPort, [
      '--spring.sql.init.platform=mysql',
      '--spring.datasource.platform=mysql',
      '--db.num=1',
      `--db.url.0=${jdbc}`,
      '--db.user.0=nacos',
      '--db.password.0=nacos-pass',
      // A JVM zone that is not UTC: serverTimezone=UTC must still make its times UTC, as ours.
    ], { TZ: 'Asia/Shanghai' });
    await nacos.start(1);
  });
  after(async () => {
    await nacos?.dispose();
    await node?.dispose();
    await db.stop();
  });

  it('Nacos reads the row our node wrote; our node reads the row and history Nacos wrote', async () => {
    const nacosBase = `http://127.0.0.1:${nacosPort}`;
    const ours = await get(node.base, 'from-ours');
    const seenByNacos = await get(nacosBase, 'from-ours');
    assert.equal(seenByNacos.status, 200, seenByNacos.content);
    assert.equal(seenByNacos.content, 'written=by ours');
    assert.equal(seenByNacos.md5, ours.md5, 'the same md5');

    await post(nacosBase, { dataId: 'from-nacos', content: 'written=by nacos', type: 'yaml' });
    const seenByOurs = await get(node.base, 'from-nacos');
    assert.equal(seenByOurs.status, 200, seenByOurs.content);
    assert.equal(seenByOurs.content, 'written=by nacos');
    const history = (await (await fetch(`${node.base}/nacos/v2/cs/history/list?dataId=from-nacos&group=${GROUP}`)).json()) as {
      data: { totalCount: number; pageItems: { opType: string; lastModifiedTime: number }[] };
    };
    assert.equal(history.data.totalCount, 1);
    assert.equal(history.data.pageItems[0]?.opType.trim(), 'I');
    // Nacos writes UTC DATETIMEs (serverTimezone=UTC) and we read them as UTC: the same instant.
    assert.ok(Math.abs(history.data.pageItems[0]!.lastModifiedTime - Date.now()) < 5 * 60_000, `history time ${history.data.pageItems[0]!.lastModifiedTime} is now`);
    const row = (await db.query("SELECT app_name, encrypted_data_key, type, md5 FROM config_info WHERE data_id = 'from-nacos'", 'nacos')) as Record<string, unknown>[];
    assert.deepEqual(row, [{ app_name: '', encrypted_data_key: '', type: 'yaml', md5: seenByOurs.md5 }], 'Nacos writes the columns as we do');
  });
});
