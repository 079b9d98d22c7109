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
 * A main port P such that P, P+1000 and P+1001 (or the given offsets) are free on every given host
 * (HTTP, SDK gRPC, cluster gRPC), so several nodes can run on 127.0.0.1-3 with the same port as
 * real clusters do.
 */
export async function findMainPort(hosts: readonly string[] = ['127.0.0.1'], offsets: readonly number[] = [0, 1000, 1001]): Promise<number> {
  for (let attempt = 0; attempt < 200; attempt++) {
    const port = 12000 + Math.floor(Math.random() * 40000);
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
