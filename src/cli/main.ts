#!/usr/bin/env node
import { Command, InvalidArgumentError, Option } from 'commander';
import { readConfigFile } from '../node/config.js';
import { startNode } from '../node/index.js';
import { LOG_FORMATS, type LogFormat } from '../node/logger.js';
import { exitOnSignals } from './signals.js';
import { NacosRemoteError, PACKAGE_VERSION } from '../protocol/index.js';


function integer(name: string) {
  return (value: string): number => {
    if (!/^-?\d+$/.test(value)) throw new InvalidArgumentError(`${name} must be an integer`);
    return Number(value);
  };
}

const program = new Command('nacos-remote').version(PACKAGE_VERSION).description('Nacos 2.x long-connection layer');

program
  .command('server')
  .description('start a node: HTTP on --port, SDK gRPC on port + offset, cluster gRPC on port + offset + 1')
  .option('--port <port>', 'main (HTTP) port (default 8848)', integer('--port'))
  .option('--host <address>', 'bind address (default 0.0.0.0)')
  .option('--grpc-port-offset <n>', 'SDK gRPC port offset from --port (default 1000)', integer('--grpc-port-offset'))
  .option('--home <dir>', 'home directory holding conf/ and data/ (default ~/nacos)')
  .option('--log-level <level>', 'fatal|error|warn|info|debug|trace|silent (default info)')
  .addOption(new Option('--log-format <format>', 'readable lines or JSON lines (default pretty when stdout is a terminal, else json)').choices(LOG_FORMATS))
  .option('--advertise-ip <ip>', 'the IP clients and members reach this node at (default --host, or the first non-internal IPv4)')
  .option('--members <list>', 'cluster members, ip:port,ip:port,... (main ports, self included); default <home>/conf/cluster.conf')
  .option('--auth-token <token>', 'require this accessToken on write endpoints (repeatable)', (t: string, all: string[] = []) => [...all, t])
  .option('--tls-cert <file>', 'PEM certificate chain: turns TLS on for the gRPC ports (with --tls-key; docs/security.md)')
  .option('--tls-key <file>', 'PEM private key of --tls-cert')
  .option('--tls-ca <file>', 'PEM CA bundle client certificates are checked against (mutual TLS: tls.mutual in the config file)')
  .option('--config <file>', 'JSON file with any of the options (flags win)')
  .option('--db-init', "create Nacos's config tables in the db database when missing (config key db.init)")
  .action(async (flags: { port?: number; host?: string; grpcPortOffset?: number; home?: string; logLevel?: string; logFormat?: LogFormat; advertiseIp?: string; members?: string; authToken?: string[]; tlsCert?: string; tlsKey?: string; tlsCa?: string; config?: string; dbInit?: boolean }) => {
    const { config: configFile, authToken, tlsCert, tlsKey, tlsCa, dbInit, ...given } = flags;
    const fromFile = configFile === undefined ? {} : await readConfigFile(configFile);
    const fromFlags: Record<string, unknown> = Object.fromEntries(Object.entries(given).filter(([, v]) => v !== undefined));
    if (authToken !== undefined) {
      const fileAuth = (fromFile['auth'] ?? {}) as Record<string, unknown>;
      fromFlags['auth'] = { ...fileAuth, tokens: authToken };
    }
    const tlsFlags = { certFile: tlsCert, keyFile: tlsKey, caFile: tlsCa };
    if (Object.values(tlsFlags).some((v) => v !== undefined)) {
      const fileTls = (fromFile['tls'] ?? {}) as Record<string, unknown>;
      fromFlags['tls'] = { ...fileTls, enabled: true, ...Object.fromEntries(Object.entries(tlsFlags).filter(([, v]) => v !== undefined)) };
    }
    if (dbInit === true) fromFlags['db'] = { ...((fromFile['db'] ?? {}) as Record<string, unknown>), init: true };
    let forceAfterMs = 0;
    const started = exitOnSignals(process, () => forceAfterMs);
    const node = await startNode({ ...fromFile, ...fromFlags });
    forceAfterMs = node.config.drainWindowMs + 15_000;
    started(node);
  });

program.parseAsync(process.argv).catch((error: unknown) => {
  // Our own errors (bad options, a bad member list) say what is wrong in their message.
  if (error instanceof NacosRemoteError) console.error(`nacos-remote: ${error.message}`);
  else console.error('nacos-remote: failed to start:', error);
  process.exit(1);
});
