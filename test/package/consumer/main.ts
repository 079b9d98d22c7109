// A service using nacos-remote as an installed package: it starts a node, connects a client,
// asks it one thing and stops both. Usage: node out/main.js <port> <home>
import { RpcClient, isSuccess, request } from 'nacos-remote/client';
import { startNode } from 'nacos-remote/server';

const [port, home] = process.argv.slice(2);
if (port === undefined || home === undefined) throw new Error('usage: node out/main.js <port> <home>');

const node = await startNode({ host: '127.0.0.1', port: Number(port), home, logLevel: 'warn' });
const client = new RpcClient({ serverAddresses: [`127.0.0.1:${port}`], appName: 'consumer' });
try {
  await client.start();
  const reply = await client.request(request('HealthCheckRequest'));
  if (!isSuccess(reply)) throw new Error(`HealthCheckRequest answered ${reply.resultCode}: ${reply.message ?? ''}`);
  console.log(`consumer: ${reply.type} from 127.0.0.1:${port}`);
} finally {
  await client.shutdown();
  await node.close();
}
