import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createAdminApp } from '../../src/admin/http.js';
import { testLogger } from '../support/server.js';

describe('admin HTTP: health endpoints', () => {
  it('readiness is 500 until started, then 200; liveness is always 200', async () => {
    const target = { started: false };
    const app = createAdminApp(target, testLogger);
    const notReady = await app.inject({ method: 'GET', url: '/nacos/v1/console/health/readiness' });
    assert.equal(notReady.statusCode, 500);
    const alive = await app.inject({ method: 'GET', url: '/nacos/v1/console/health/liveness' });
    assert.equal(alive.statusCode, 200);
    target.started = true;
    const ready = await app.inject({ method: 'GET', url: '/nacos/v1/console/health/readiness' });
    assert.equal(ready.statusCode, 200);
    assert.equal(ready.body, 'OK');
    await app.close();
  });
});
