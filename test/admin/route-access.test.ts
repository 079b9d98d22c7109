import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createAdminApp } from '../../src/admin/http.js';
import { NodeMetrics } from '../../src/admin/metrics.js';
import { UndeclaredAccessError } from '../../src/admin/errors.js';
import { ClusterLoader } from '../../src/cluster/cluster-loader.js';
import { ClusterMembers } from '../../src/cluster/cluster-members.js';
import { NacosServer } from '../../src/server/nacos-server.js';
import { startTestNode } from '../support/node.js';
import { testLogger } from '../support/server.js';

describe('admin routes declare their access', () => {
  it('a whole node (loader, control, cluster, naming, config, drain, metrics) builds its admin app: every route says its access', async () => {
    const node = await startTestNode();
    try {
      assert.equal((await node.http.inject({ url: '/nacos/v1/console/health/liveness' })).statusCode, 200);
      assert.equal((await node.http.inject({ url: '/nacos/v2/cs/history/list?dataId=a&group=G' })).statusCode, 200, 'config routes are there');
      assert.equal((await node.http.inject({ url: '/nacos/v2/ns/service/list' })).statusCode, 200, 'naming routes are there');
    } finally {
      await node.dispose();
    }
  });

  it('a route that does not declare its access is refused when it is registered, naming it (the check would otherwise take it as a write)', async () => {
    const server = new NacosServer({ host: '127.0.0.1', port: 1, logger: testLogger });
    const members = new ClusterMembers({ self: '127.0.0.1:1', members: [], grpcPortOffset: 1000, logger: testLogger });
    const app = createAdminApp({ server, cluster: new ClusterLoader(server, members, testLogger), members, metrics: new NodeMetrics(), limitRuleFile: '/nonexistent', logger: testLogger });
    assert.throws(
      () => app.get('/nacos/v2/forgot', async () => 'x'),
      (error: unknown) => error instanceof UndeclaredAccessError && /GET \/nacos\/v2\/forgot/.test(error.message),
    );
    app.get('/nacos/v2/declared', { config: { access: 'read' } }, async () => 'x');
    assert.equal((await app.inject({ url: '/nacos/v2/declared', remoteAddress: '203.0.113.7' })).statusCode, 200);
    await app.close();
  });
});
