import { readFileSync } from 'node:fs';
import net from 'node:net';

function canBind(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.once('error', () => resolve(false));
    server.listen(port, host, () => server.close(() => resolve(true)));
  });
}

const handedOut = new Set<number>();

/**
 * Main ports are drawn below the kernel's ephemeral range: a port found free there can be taken
 * by any outgoing connection (another test's client) before the node binds it.
 */
function mainPortRange(span: number): { readonly low: number; readonly high: number } {
  let ephemeralLow = 32768;
  try {
    ephemeralLow = Number(readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0]);
  } catch {
    // Not Linux: the IANA ephemeral range starts above any port drawn here.
  }
  const high = ephemeralLow - span - 1;
  return high > 12_000 ? { low: 10_000, high } : { low: 12_000, high: 52_000 };
}

/**
 * A main port P such that P, P+1000 and P+1001 (or the given offsets) are free on every given host
 * (HTTP, SDK gRPC, cluster gRPC), so several nodes can run on 127.0.0.1-3 with the same port as
 * real clusters do.
 */
export async function findMainPort(hosts: readonly string[] = ['127.0.0.1'], offsets: readonly number[] = [0, 1000, 1001]): Promise<number> {
  const range = mainPortRange(Math.max(...offsets));
  for (let attempt = 0; attempt < 200; attempt++) {
    const port = range.low + Math.floor(Math.random() * (range.high - range.low));
    if (handedOut.has(port)) continue;
    let free = true;
    for (const host of hosts) {
      for (const p of offsets.map((o) => port + o)) {
        if (!(await canBind(host, p))) {
          free = false;
          break;
        }
      }
      if (!free) break;
    }
    if (free) {
      handedOut.add(port);
      return port;
    }
  }
  throw new Error('no free main port found');
}
