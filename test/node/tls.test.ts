/**
 * A node with TLS on its gRPC ports, from its config keys: the naming and config clients work
 * over TLS only; members that require client certificates reach each other with cluster.tls and
 * sync naming; unusable certificate files stop the start with a message naming the file.
 */
import assert from 'node:assert/strict';
import { copyFile, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import http from 'node:http';
import https from 'node:https';
import type { TLSSocket } from 'node:tls';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { HTTP_TIMEOUTS } from '../../src/admin/http.js';
import { ConfigClient, NamingClient, type ClientTlsOptions } from '../../src/client/index.js';
import { startTestNode } from '../support/node.js';
import { findMainPort } from '../support/ports.js';
import { eventually } from '../support/raw-peer.js';
import { testLogger } from '../support/server.js';
import { createTestPki } from '../support/tls-certificates.js';

const pki = await createTestPki();
after(() => pki.cleanup());

type TestNode = Awaited<ReturnType<typeof startTestNode>>;

describe('a node with TLS only on its gRPC ports', { timeout: 60_000 }, () => {
  let node: TestNode | undefined;
  let naming: NamingClient | undefined;
  let config: ConfigClient | undefined;
  before(async () => {
    node = await startTestNode({ tls: { enabled: true, certFile: pki.server.certFile, keyFile: pki.server.keyFile, compatibility: false, reloadIntervalMs: 1000 } });
    const tls: ClientTlsOptions = { caFile: pki.ca.certFile };
    const address = `127.0.0.1:${node.config.port}`;
    naming = new NamingClient({ serverAddresses: [address], logger: testLogger, tls });
    config = new ConfigClient({ serverAddresses: [address], logger: testLogger, tls });
  });
  after(async () => {
    await Promise.all([naming?.shutdown(), config?.shutdown()]);
    await node?.dispose();
  });

  it('NamingClient registers and discovers, ConfigClient publishes and reads, both over TLS', async () => {
    assert(node && naming && config);
    const registered = naming;
    await Promise.all([naming.start(), config.start()]);
    await naming.registerInstance('orders', { ip: '10.0.0.5', port: 8080 });
    await eventually(async () => (await registered.getAllInstances('orders', { subscribe: false })).length === 1, 10_000, 'the instance to be listed');
    await config.publishConfig('app.properties', 'DEFAULT_GROUP', 'a=1');
    assert.equal(await config.getConfig('app.properties', 'DEFAULT_GROUP'), 'a=1');
    const labels = node.server.connections().map((c) => c.labels['tls.enable']);
    assert.deepEqual(labels, ['true', 'true']);
    const current = (await (await fetch(`${node.base}/nacos/v2/core/loader/current`)).json()) as Record<string, { metaInfo: { tls: boolean } }>;
    assert.deepEqual(Object.values(current).map((c) => c.metaInfo.tls), [true, true], 'the loader API shows each connection as TLS');
  });
});

/** Starts each node; when one fails, disposes of those that started, so none is left running. */
async function startAll(starts: readonly (() => Promise<TestNode>)[]): Promise<TestNode[]> {
  const results = await Promise.allSettled(starts.map((start) => start()));
  const started = results.flatMap((result) => (result.status === 'fulfilled' ? [result.value] : []));
  const failed = results.find((result) => result.status === 'rejected');
  if (failed !== undefined) {
    await Promise.all(started.map((node) => node.dispose()));
    throw (failed as PromiseRejectedResult).reason;
  }
  return started;
}

describe('two members that require client certificates, with TLS between them (cluster.tls)', { timeout: 60_000 }, () => {
  const hosts = ['127.0.0.1', '127.0.0.2'];
  let nodes: TestNode[] = [];
  let naming: NamingClient | undefined;
  before(async () => {
    const port = await findMainPort(hosts);
    const members = hosts.map((h) => `${h}:${port}`).join(',');
    nodes = await startAll(
      hosts.map((host) => () =>
      startTestNode({
        host,
        port,
        members,
        tls: { enabled: true, certFile: pki.server.certFile, keyFile: pki.server.keyFile, caFile: pki.ca.certFile, mutual: true, compatibility: false },
        cluster: { tls: { enabled: true, caFile: pki.ca.certFile, ...pki.client } },
        naming: { sync: { debounceMs: 20 } },
      }),
      ),
    );
    naming = new NamingClient({ serverAddresses: [`127.0.0.1:${port}`], logger: testLogger, tls: { caFile: pki.ca.certFile, ...pki.client } });
  });
  after(async () => {
    await naming?.shutdown();
    await Promise.all(nodes.map((n) => n.dispose()));
  });

  it("are up to each other, read each other's load (what balancing runs on), and an instance registered on one is listed on the other", async () => {
    await eventually(() => nodes.every((n) => n.members.upOthers().length === 1), 30_000, 'members up over mutual TLS');
    for (const node of nodes) assert.equal((await node.cluster.load()).metricsCount, 2);
    assert(naming);
    await naming.start();
    await naming.registerInstance('synced', { ip: '10.0.0.7', port: 8080 });
    await eventually(
      () => nodes[1]!.naming.reader.query({ namespace: 'public', group: 'DEFAULT_GROUP', name: 'synced' }, { healthyOnly: false }).hosts.length === 1,
      20_000,
      'the instance synced to the other member',
    );
  });
});

/** GET over HTTPS (trusting the test CA) or plain HTTP: the status and the certificate serial shown. */
function get(url: string, ca?: Buffer): Promise<{ status: number; serial?: string }> {
  return new Promise((resolve, reject) => {
    const request = (url.startsWith('https:') ? https : http).get(url, { ...(ca === undefined ? {} : { ca }), agent: false }, (response) => {
      const socket = response.socket as TLSSocket;
      const serial = typeof socket.getPeerCertificate === 'function' ? socket.getPeerCertificate().serialNumber : undefined;
      response.resume();
      response.on('end', () => resolve({ status: response.statusCode ?? 0, ...(serial === undefined ? {} : { serial }) }));
    });
    request.once('error', reject);
  });
}

describe('a node serving HTTPS on its main port, with a plaintext loopback listener', { timeout: 60_000 }, () => {
  const files = { certFile: join(pki.dir, 'https.crt'), keyFile: join(pki.dir, 'https.key') };
  const readiness = '/nacos/v1/console/health/readiness';
  let loopbackPort = 0;
  let node: TestNode;
  let ca: Buffer;
  before(async () => {
    await copyFile(pki.server.certFile, files.certFile);
    await copyFile(pki.server.keyFile, files.keyFile);
    loopbackPort = await findMainPort(['127.0.0.1'], [0]);
    ca = await readFile(pki.ca.certFile);
    node = await startTestNode({ tls: { enabled: true, ...files, https: true, plaintextLoopbackPort: loopbackPort, reloadIntervalMs: 50 } });
  });
  after(() => node?.dispose());

  it('answers over HTTPS, not over plaintext HTTP on the main port, and in plaintext on the loopback port', async () => {
    assert.equal((await get(`https://127.0.0.1:${node.config.port}${readiness}`, ca)).status, 200);
    await assert.rejects(get(`http://127.0.0.1:${node.config.port}${readiness}`));
    assert.equal((await get(`http://127.0.0.1:${loopbackPort}${readiness}`)).status, 200);
  });

  it('keeps the plaintext main port\'s timeouts on HTTPS (Fastify does not set them on a server it did not make)', () => {
    assert.equal(node.http.server.keepAliveTimeout, HTTP_TIMEOUTS.keepAliveTimeout);
    assert.equal(node.http.server.requestTimeout, HTTP_TIMEOUTS.requestTimeout);
    assert.equal(node.http.server.timeout, HTTP_TIMEOUTS.connectionTimeout);
  });

  it('serves a replaced certificate to new HTTPS connections', async () => {
    const before = (await get(`https://127.0.0.1:${node.config.port}${readiness}`, ca)).serial;
    const renewed = await pki.issue(pki.ca, 'https-renewed', 'server');
    await copyFile(renewed.keyFile, files.keyFile);
    await copyFile(renewed.certFile, files.certFile);
    await eventually(async () => (await get(`https://127.0.0.1:${node.config.port}${readiness}`, ca)).serial !== before, 10_000, 'the new certificate on HTTPS');
  });
});

describe('a member whose cluster.tls files are moved away after the start', { timeout: 60_000 }, () => {
  const hosts = ['127.0.0.1', '127.0.0.2'];
  let home = '';
  let filesDir = '';
  let nodes: TestNode[] = [];
  let confPath = '';
  let addresses: string[] = [];
  before(async () => {
    const port = await findMainPort(hosts);
    addresses = hosts.map((h) => `${h}:${port}`);
    home = await mkdtemp(join(tmpdir(), 'nacos-remote-tls-home-'));
    filesDir = await mkdtemp(join(tmpdir(), 'nacos-remote-tls-files-'));
    confPath = join(home, 'conf', 'cluster.conf');
    await mkdir(join(home, 'conf'));
    await writeFile(confPath, `${addresses[0]}\n`);
    const caFile = join(filesDir, 'ca.crt');
    await copyFile(pki.ca.certFile, caFile);
    nodes = await startAll([
      () => startTestNode({ host: hosts[0], port, home, clusterConfPollMs: 50, cluster: { tls: { enabled: true, caFile } } }),
      () =>
        startTestNode({
          host: hosts[1],
          port,
          members: addresses.join(','),
          tls: { enabled: true, certFile: pki.server.certFile, keyFile: pki.server.keyFile, compatibility: false },
        }),
    ]);
  });
  after(async () => {
    await Promise.all(nodes.map((n) => n.dispose()));
    await rm(home, { recursive: true, force: true });
    await rm(filesDir, { recursive: true, force: true });
  });

  it('still connects to a member added to cluster.conf: the credentials were built at the start', async () => {
    const [first] = nodes;
    assert(first);
    await rm(filesDir, { recursive: true, force: true });
    await writeFile(confPath, `${addresses.join('\n')}\n`);
    await eventually(() => first.members.upOthers().includes(addresses[1]!), 20_000, 'the added member up over TLS');
  });
});

/** Asserts the start is refused; a node that starts anyway is closed, so a failing check leaves nothing running. */
async function assertStartRefused(options: Parameters<typeof startTestNode>[0], check: (error: Error) => boolean): Promise<void> {
  await assert.rejects(
    startTestNode(options).then(async (node) => {
      await node.dispose();
      return node;
    }),
    check,
  );
}

describe('a node whose TLS files cannot be used', () => {
  it('does not start, and the message names the file', async () => {
    const badKey = join(pki.dir, 'not-a-key.pem');
    await writeFile(badKey, 'not a key\n');
    await assertStartRefused(
      { tls: { enabled: true, certFile: pki.server.certFile, keyFile: badKey } },
      (error: Error) => error.message.includes(badKey) && (error as { code?: string }).code === 'TLS_FILES',
    );
    await assertStartRefused(
      { tls: { enabled: true, certFile: join(pki.dir, 'missing.crt'), keyFile: badKey } },
      (error: Error) => error.message.includes('missing.crt'),
    );
    await assertStartRefused(
      { cluster: { tls: { enabled: true, caFile: join(pki.dir, 'missing-ca.crt') } } },
      (error: Error) => error.message.includes('missing-ca.crt'),
    );
  });

  it('does not start with a CA file that holds no certificate, on the gRPC ports or for member clients', async () => {
    const garbage = join(pki.dir, 'garbage-ca.pem');
    await writeFile(garbage, 'not a pem\n');
    await assertStartRefused(
      { tls: { enabled: true, certFile: pki.server.certFile, keyFile: pki.server.keyFile, caFile: garbage, mutual: true, compatibility: false } },
      (error: Error) => error.message.includes(garbage) && (error as { code?: string }).code === 'TLS_FILES',
    );
    await assertStartRefused(
      { cluster: { tls: { enabled: true, caFile: garbage } } },
      (error: Error) => error.message.includes(garbage) && (error as { code?: string }).code === 'INVALID_CLIENT_OPTION',
    );
  });

  it('does not start when the member clients\' certificate and key do not match', async () => {
    await assertStartRefused(
      { cluster: { tls: { enabled: true, caFile: pki.ca.certFile, certFile: pki.client.certFile, keyFile: pki.otherClient.keyFile } } },
      (error: Error) => error.message.includes(pki.otherClient.keyFile) && (error as { code?: string }).code === 'INVALID_CLIENT_OPTION',
    );
  });

  it('leaves no temporary home behind when the start fails', async () => {
    const tmp = await mkdtemp(join(tmpdir(), 'nacos-remote-tmp-'));
    const previous = process.env['TMPDIR'];
    process.env['TMPDIR'] = tmp;
    try {
      await assertStartRefused({ tls: { enabled: true, certFile: join(pki.dir, 'missing.crt'), keyFile: pki.server.keyFile } }, () => true);
      assert.deepEqual(await readdir(tmp), []);
    } finally {
      if (previous === undefined) delete process.env['TMPDIR'];
      else process.env['TMPDIR'] = previous;
      await rm(tmp, { recursive: true, force: true });
    }
  });
});
