// The servers a benchmark measures side by side: our node and the baselines, each started in a
// process of its own (server-process.ts).
import { NACOS_224, PeerServer, RNACOS } from '../../test/support/peer-server.js';
import { DEFAULT_TRANSPORT, TRANSPORT_KINDS, type TransportKind } from '../../src/server/transport/types.js';
import { startOurNode, startPeer, startStandaloneServer, type ServerProcess } from './server-process.js';

export type TargetKey = 'ours' | 'ours-other' | 'raw-h2' | 'grpc-js' | 'r-nacos' | 'nacos';

/** Our node: `ours` on the default gRPC transport, `ours-other` on the other one (issue 16). */
export const OUR_TARGETS: readonly TargetKey[] = ['ours', 'ours-other'];
const OTHER_TRANSPORT: TransportKind = TRANSPORT_KINDS.find((kind) => kind !== DEFAULT_TRANSPORT)!;
export const isOurs = (key: TargetKey): boolean => OUR_TARGETS.includes(key);

/** How tables name each target. */
export const TARGET_LABEL: Record<TargetKey, string> = {
  ours: `ours (${DEFAULT_TRANSPORT})`,
  'ours-other': `ours (${OTHER_TRANSPORT})`,
  'raw-h2': 'raw node:http2',
  'grpc-js': 'bare grpc-js',
  'r-nacos': 'r-nacos 0.8.8',
  nacos: 'Nacos 2.2.4',
};

export interface BenchTarget {
  readonly key: TargetKey;
  readonly label: string;
  readonly start: () => Promise<ServerProcess>;
  /** Answers the standalone commands (memory, fanout, closes; standalone.ts). */
  readonly commands: boolean;
  /** Names connections `<ms>_<ip>_<port>` as our node does: a driver can check it against its sockets. */
  readonly realConnectionIds: boolean;
  /** Our node's gRPC transport (recorded in results: what `ours` means changes with the default). */
  readonly transport?: TransportKind;
}

/**
 * How a results row names its target. Our node is named by the transport the row recorded; rows
 * without one predate the http2 transport, so they were measured on grpc-js.
 */
export function resultLabel(target: string, transport: TransportKind | undefined): string {
  if (isOurs(target as TargetKey)) return `ours (${transport ?? 'grpc-js'})`;
  return TARGET_LABEL[target as TargetKey] ?? target;
}

export interface TargetOptions {
  /** Our node as an operator starts it (the CLI), or as a module that answers the commands. */
  readonly ours: 'cli' | 'module';
  /** Run the node servers with --expose-gc (heap figures after a full GC). */
  readonly exposeGc?: boolean;
  /** Leave r-nacos out even when installed. */
  readonly skipRnacos?: boolean;
  /** Add a real Nacos 2.2.4 server when built (interop/peers/nacos-server.sh build). */
  readonly nacos?: boolean;
  /** A node config file for our node as a module (e.g. the config store's database). */
  readonly nodeConfigFile?: string;
  /** Our node on both gRPC transports (`ours` and `ours-other`); else on the default one only. */
  readonly bothTransports?: boolean;
  /** Only these (ours always runs: every ratio needs it). */
  readonly only?: readonly string[];
}

const module = (path: string) => new URL(path, import.meta.url);

export function benchTargets(host: string, options: TargetOptions): BenchTarget[] {
  const exposeGc = options.exposeGc ?? false;
  const ours = (key: TargetKey, transport: TransportKind): BenchTarget =>
    options.ours === 'cli'
      ? { key, label: TARGET_LABEL[key], transport, start: () => startOurNode(host, { transport }), commands: false, realConnectionIds: true }
      : {
          key,
          label: TARGET_LABEL[key],
          transport,
          start: () =>
            startStandaloneServer(key, module('./our-node.ts'), host, { exposeGc, transport, args: options.nodeConfigFile === undefined ? [] : ['--config', options.nodeConfigFile] }),
          commands: true,
          realConnectionIds: true,
        };
  const targets: BenchTarget[] = [
    ours('ours', DEFAULT_TRANSPORT),
    ...(options.bothTransports === true ? [ours('ours-other', OTHER_TRANSPORT)] : []),
    { key: 'raw-h2', label: TARGET_LABEL['raw-h2'], start: () => startStandaloneServer('raw-h2', module('../baselines/raw-h2-responder.ts'), host, { exposeGc }), commands: true, realConnectionIds: false },
    { key: 'grpc-js', label: TARGET_LABEL['grpc-js'], start: () => startStandaloneServer('grpc-js', module('../baselines/grpcjs-bare.ts'), host, { exposeGc }), commands: true, realConnectionIds: false },
  ];
  if (!options.skipRnacos && PeerServer.installed(RNACOS)) {
    targets.push({ key: 'r-nacos', label: TARGET_LABEL['r-nacos'], start: () => startPeer(RNACOS, host), commands: false, realConnectionIds: false });
  }
  if (options.nacos === true && PeerServer.installed(NACOS_224)) {
    targets.push({ key: 'nacos', label: TARGET_LABEL.nacos, start: () => startPeer(NACOS_224, host), commands: false, realConnectionIds: false });
  }
  return targets.filter((t) => options.only === undefined || isOurs(t.key) || options.only.includes(t.key));
}
