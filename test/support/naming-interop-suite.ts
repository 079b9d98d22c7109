import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { HarnessProcess, type HarnessEvent } from './harness-process.js';
import { startTestNode } from './node.js';

/** A real Nacos naming client behind the interop line protocol (register, deregister, list, subscribe). */
export interface RealNamingClient {
  readonly name: string;
  /** The harness's build script (cached build). */
  readonly build: string;
  /** The command line for a harness on this main address, with its service cache in `cacheDir`. */
  command(server: string, cacheDir: string): [string, string[]];
  /** Whether a refused persistent registration (HTTP 501) shows as this answer. */
  refusedWith501(answer: HarnessEvent): boolean;
}

const answered = (e: HarnessEvent) => e.event === 'ok' || e.event === 'instances' || e.event === 'error';

/** Sends a line-protocol command to a naming harness and returns its answer; fails on an error answer. */
export async function runNamingCommand(harness: HarnessProcess, command: string): Promise<HarnessEvent> {
  const answer = await harness.command(command, answered, 30_000);
  assert.notEqual(answer.event, 'error', `${command}: ${JSON.stringify(answer)}`);
  return answer;
}

/** Whether a harness event is a push of exactly `hosts` (sorted `ip:port`; the Go harness names no service). */
export const isPushOf = (hosts: readonly string[]) => (e: HarnessEvent): boolean =>
  e.event === 'instances' && e['source'] === 'push' && JSON.stringify(e['hosts']) === JSON.stringify(hosts);

/**
 * What every real naming client must see through one of our nodes: its registrations, queries
 * and pushes (replace, deregister, a closed client's release), and a clear refusal of a
 * persistent instance.
 */
export function realNamingClientSuite(real: RealNamingClient): void {
  describe(`interop: ${real.name}`, { timeout: 300_000 }, () => {
    let node: Awaited<ReturnType<typeof startTestNode>>;
    let cacheDir: string;
    const harnesses: HarnessProcess[] = [];

    const startHarness = async (): Promise<HarnessProcess> => {
      const harness = new HarnessProcess(...real.command(`127.0.0.1:${node.config.port}`, cacheDir));
      harnesses.push(harness);
      await harness.waitForEvent((e) => e.event === 'started', 60_000, 'naming client started');
      return harness;
    };
    const run = runNamingCommand;
    /** The first pushed instance list equal to `hosts`, from event index `from` on. */
    const pushed = (harness: HarnessProcess, hosts: string[], from: number) =>
      harness.waitForEvent(isPushOf(hosts), 20_000, `a push of ${JSON.stringify(hosts)}`, from);

    before(async () => {
      execFileSync(real.build, { stdio: ['ignore', 'inherit', 'inherit'], timeout: 600_000 });
      cacheDir = mkdtempSync(join(tmpdir(), 'nacos-remote-naming-cache-'));
      node = await startTestNode();
    });
    after(async () => {
      for (const harness of harnesses) await harness.stop();
      await node?.dispose();
      if (cacheDir) rmSync(cacheDir, { recursive: true, force: true });
    });

    it("registers, discovers and hears every change through our node; a closed client's instance goes at once", async () => {
      const provider = await startHarness();
      const consumer = await startHarness();
      const labels = node.server.connections().map((c) => c.labels);
      assert.ok(labels.length >= 2 && labels.every((l) => l['module'] === 'naming'), JSON.stringify(labels));

      let from = consumer.events.length;
      await run(consumer, 'subscribe orders');
      await run(provider, 'register orders 10.2.0.5 8080');
      await pushed(consumer, ['10.2.0.5:8080'], from);
      assert.deepEqual((await run(consumer, 'list orders'))['hosts'], ['10.2.0.5:8080']);

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

    it('a change made just after a subscribe is answered, merged into its confirming push, reaches the subscriber', async () => {
      const [provider, consumer] = harnesses;
      const { server } = node;
      const subscribe = server.handlers.get('SubscribeServiceRequest')!;
      const register = server.handlers.get('InstanceRequest')!;
      // The provider's register is held until the consumer's subscribe is answered, then made at
      // once: it goes in the confirming push, which must be newer than the answer (nacos-sdk-go
      // drops a push not newer than what it holds; one in the answer's millisecond was lost).
      let releaseRegister: (() => void) | undefined;
      let registerHeld!: () => void;
      const held = new Promise<void>((resolve) => (registerHeld = resolve));
      server.registerHandler('InstanceRequest', (request, meta) =>
        new Promise((resolve, reject) => {
          releaseRegister = () => Promise.resolve().then(() => register(request, meta)).then(resolve, reject);
          registerHeld();
        }),
      );
      server.registerHandler('SubscribeServiceRequest', (request, meta) => {
        const answer = subscribe(request, meta);
        releaseRegister?.();
        return answer;
      });
      try {
        const registered = run(provider!, 'register race 10.2.0.7 8080');
        await held;
        const from = consumer!.events.length;
        await run(consumer!, 'subscribe race');
        await registered;
        await pushed(consumer!, ['10.2.0.7:8080'], from);
      } finally {
        server.registerHandler('InstanceRequest', register);
        server.registerHandler('SubscribeServiceRequest', subscribe);
      }
    });

    it('a persistent instance goes over HTTP and is refused with 501', async () => {
      const [client] = harnesses;
      const answer = await client!.command('register-persistent ledger 10.2.0.9 8080', answered, 30_000);
      assert.equal(answer.event, 'error', JSON.stringify(answer));
      assert.ok(real.refusedWith501(answer), JSON.stringify(answer));
    });
  });
}
