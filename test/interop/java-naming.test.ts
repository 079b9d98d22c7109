import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { HarnessProcess, type HarnessEvent } from '../support/harness-process.js';
import { startTestNode } from '../support/node.js';

const javaDir = fileURLToPath(new URL('../../interop/java/', import.meta.url));
const answered = (e: HarnessEvent) => e.event === 'ok' || e.event === 'instances' || e.event === 'error';

/** The real com.alibaba.nacos:nacos-client:2.2.4 NamingService against one of our nodes. */
describe('interop: Java nacos-client 2.2.4 NamingService', { timeout: 300_000 }, () => {
  let node: Awaited<ReturnType<typeof startTestNode>>;
  let cacheDir: string;
  const harnesses: HarnessProcess[] = [];

  const startHarness = async (): Promise<HarnessProcess> => {
    const harness = new HarnessProcess('java', [
      '-Dorg.slf4j.simpleLogger.defaultLogLevel=warn',
      '-cp',
      `${javaDir}target/nacos-interop-java.jar`,
      'nacosremote.interop.NamingHarness',
      '--servers',
      `127.0.0.1:${node.config.port}`,
      '--cache-dir',
      cacheDir,
    ]);
    harnesses.push(harness);
    await harness.waitForEvent((e) => e.event === 'started', 60_000, 'NamingService started');
    return harness;
  };
  const run = async (harness: HarnessProcess, command: string): Promise<HarnessEvent> => {
    const answer = await harness.command(command, answered, 30_000);
    assert.notEqual(answer.event, 'error', `${command}: ${JSON.stringify(answer)}`);
    return answer;
  };
  /** The next pushed instance list equal to `hosts`, from event index `from` on. */
  const pushed = (harness: HarnessProcess, hosts: string[], from: number) =>
    harness.waitForEvent(
      (e) => e.event === 'instances' && e['source'] === 'push' && JSON.stringify(e['hosts']) === JSON.stringify(hosts),
      20_000,
      `a push of ${JSON.stringify(hosts)}`,
      from,
    );

  before(async () => {
    execFileSync(`${javaDir}build.sh`, { stdio: ['ignore', 'inherit', 'inherit'], timeout: 600_000 });
    cacheDir = mkdtempSync(join(tmpdir(), 'nacos-remote-naming-cache-'));
    node = await startTestNode();
  });
  after(async () => {
    for (const harness of harnesses) await harness.stop();
    await node?.dispose();
    if (cacheDir) rmSync(cacheDir, { recursive: true, force: true });
  });

  it('registers, discovers and hears every change through our node; a closed client\'s instance goes at once', async () => {
    const provider = await startHarness();
    const consumer = await startHarness();
    const connections = node.server.connections();
    assert.ok(connections.length >= 2 && connections.every((c) => c.labels['module'] === 'naming'), JSON.stringify(connections.map((c) => c.labels)));

    let from = consumer.events.length;
    await run(consumer, 'subscribe orders');
    await run(provider, 'register orders 10.2.0.5 8080');
    await pushed(consumer, ['10.2.0.5:8080'], from);
    const listed = await run(consumer, 'list orders');
    assert.deepEqual(listed['hosts'], ['10.2.0.5:8080']);
    assert.deepEqual(listed['clusters'], ['DEFAULT']);

    // One instance per service per connection: a second register replaces the first.
    from = consumer.events.length;
    await run(provider, 'register orders 10.2.0.5 9090 east');
    await pushed(consumer, ['10.2.0.5:9090'], from);

    const second = await startHarness();
    from = consumer.events.length;
    await run(second, 'register orders 10.2.0.6 8080');
    await pushed(consumer, ['10.2.0.5:9090', '10.2.0.6:8080'], from);

    from = consumer.events.length;
    await run(provider, 'deregister orders 10.2.0.5 9090');
    await pushed(consumer, ['10.2.0.6:8080'], from);

    from = consumer.events.length;
    await second.stop();
    await pushed(consumer, [], from);
    assert.deepEqual((await run(consumer, 'list orders'))['hosts'], []);
  });

  it('a persistent instance goes over HTTP and is refused with 501 and a clear message', async () => {
    const [client] = harnesses;
    const answer = await client!.command('register-persistent ledger 10.2.0.9 8080', answered, 30_000);
    assert.equal(answer.event, 'error', JSON.stringify(answer));
    assert.equal(answer['code'], 501, JSON.stringify(answer));
    assert.match(String(answer['message']), /persistent instances are not supported/);
  });
});
