import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { serviceListHandler } from '../../../src/naming/handlers/service-list.js';
import { NamingState } from '../../../src/naming/naming-state.js';
import type { RequestMessage, ResponseMessage } from '../../../src/protocol/index.js';
import type { RequestMeta } from '../../../src/server/handlers/index.js';

describe('ServiceListRequest handler', () => {
  it('takes a whitespace namespace and group as blank, as every other naming request does (the defaults, not a namespace named " ")', async () => {
    const state = new NamingState('self', () => 0);
    state.register('c1', { namespace: 'public', group: 'DEFAULT_GROUP', name: 'orders' }, { ip: '10.0.0.1', port: 80, weight: 1, healthy: true, enabled: true, clusterName: 'DEFAULT', metadata: {} });
    const request: RequestMessage = { kind: 'request', type: 'ServiceListRequest', headers: {}, body: { namespace: ' ', groupName: '\t', serviceName: '', pageNo: 1, pageSize: 10 } };
    const reply = (await serviceListHandler(state)(request, {} as RequestMeta)) as ResponseMessage;
    assert.deepEqual(reply.body, { count: 1, serviceNames: ['orders'] });
  });
});
