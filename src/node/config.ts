import { readFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { z } from 'zod';
import { MAX_TIMER_DELAY_MS, NacosRemoteError } from '../protocol/index.js';
import { DEFAULT_MOVE_WINDOW_MS } from '../server/connection-manager.js';
import { DEFAULT_TRANSPORT, TRANSPORT_KINDS } from '../server/transport/types.js';
import { LOG_FORMATS } from './logger.js';

/** A delay or interval: a timer holds at most MAX_TIMER_DELAY_MS, and fires after 1 ms past it. */
const delayMs = z.number().int().min(0).max(MAX_TIMER_DELAY_MS);
const ms = delayMs.min(1);
const port = z.number().int().min(1).max(65535);
/** -1 is no limit; anything else is checked against maxMessageBytes below. */
const bufferedBytes = z.number().int().min(-1);
const BUFFERED_BYTES_KEYS = ['maxSessionBufferedBytes', 'maxBufferedBytes'] as const;

/**
 * TLS on the gRPC ports (both, as Nacos's `nacos.remote.server.rpc.tls.*`; docs/security.md):
 * off by default; compatibility (TLS and plaintext on one port) on by default, as Nacos.
 */
const TlsSchema = z
  .strictObject({
    enabled: z.boolean().default(false),
    /** PEM certificate chain (Nacos: certChainFile). */
    certFile: z.string().min(1).optional(),
    /** PEM private key (Nacos: certPrivateKey). */
    keyFile: z.string().min(1).optional(),
    /** PEM CA bundle client certificates are checked against (Nacos: trustCollectionCertFile). */
    caFile: z.string().min(1).optional(),
    /** Require client certificates signed by caFile (Nacos: mutualAuthEnable). */
    mutual: z.boolean().default(false),
    compatibility: z.boolean().default(true),
    /** How often the files are checked for changes; a change applies to new connections. 0: never (Nacos reads them once). */
    reloadIntervalMs: delayMs.default(10_000),
    /** HTTPS on the main port with the same certificate (logins and tokens off the wire in clear). */
    https: z.boolean().default(false),
    /** With https: a plaintext HTTP listener on 127.0.0.1 at this port too, for local health checks. */
    plaintextLoopbackPort: port.optional(),
  })
  .superRefine((tls, context) => {
    if (tls.https && !tls.enabled) context.addIssue({ code: 'custom', path: ['https'], message: 'needs tls.enabled (HTTPS serves the gRPC ports\' certificate)' });
    if (tls.plaintextLoopbackPort !== undefined && !tls.https) {
      context.addIssue({ code: 'custom', path: ['plaintextLoopbackPort'], message: 'only with tls.https (without it the main port is plaintext already)' });
    }
    if (!tls.enabled) return;
    for (const key of ['certFile', 'keyFile'] as const) {
      if (tls[key] === undefined) context.addIssue({ code: 'custom', path: [key], message: 'required when tls.enabled is true' });
    }
    if (tls.mutual && tls.caFile === undefined) context.addIssue({ code: 'custom', path: ['caFile'], message: 'required when tls.mutual is true (the CA client certificates are checked against)' });
  });

/**
 * The shared database: a `mysql://user:password@host:port/database` URL, or its parts (the parts
 * win over the URL's); pool size and timeouts; `init` (`--db-init`) creates Nacos's tables when
 * missing; `timezone` is how DATETIMEs are read and written (`Z`, as Nacos with serverTimezone=UTC).
 */
const DbSchema = z
  .strictObject({
    url: z.string().min(1).optional(),
    host: z.string().min(1).optional(),
    port: port.optional(),
    user: z.string().min(1).optional(),
    password: z.string().optional(),
    database: z.string().min(1).optional(),
    poolSize: z.number().int().min(1).max(1000).default(10),
    connectTimeoutMs: ms.default(3000),
    // Below the 3 s a Java client waits for a config query: a frozen database's first read is
    // answered from the copy before the client gives up.
    queryTimeoutMs: ms.default(2000),
    probeIntervalMs: ms.default(1000),
    probeMaxIntervalMs: ms.default(30_000),
    timezone: z.string().regex(/^(Z|local|[+-]\d{2}:\d{2})$/, 'must be Z, local or an offset such as +08:00').default('Z'),
    init: z.boolean().default(false),
  })
  .transform((db, context) => {
    let fromUrl: { host?: string; port?: number; user?: string; password?: string; database?: string } = {};
    if (db.url !== undefined) {
      let url: URL;
      try {
        url = new URL(db.url);
      } catch {
        context.addIssue({ code: 'custom', path: ['url'], message: 'must be a URL such as mysql://user:password@host:3306/nacos' });
        return z.NEVER;
      }
      if (url.protocol !== 'mysql:' && url.protocol !== 'mariadb:') {
        context.addIssue({ code: 'custom', path: ['url'], message: `must be a mysql:// URL, not ${url.protocol}//` });
        return z.NEVER;
      }
      // JDBC-style parameters (?ssl=true, ?useSSL=true) would be dropped silently: none is read.
      if (url.search !== '' || url.hash !== '') {
        context.addIssue({ code: 'custom', path: ['url'], message: `takes no query parameters or fragment (${url.search}${url.hash}): set the db options instead; the connection to the database is plaintext (docs/security.md)` });
        return z.NEVER;
      }
      try {
        fromUrl = {
          host: url.hostname === '' ? undefined : url.hostname.replace(/^\[(.*)\]$/, '$1'),
          port: url.port === '' ? undefined : Number(url.port),
          user: url.username === '' ? undefined : decodeURIComponent(url.username),
          password: url.password === '' ? undefined : decodeURIComponent(url.password),
          database: url.pathname.length > 1 ? decodeURIComponent(url.pathname.slice(1)) : undefined,
        };
      } catch {
        // A bare % in the user, password or database (mysql://nacos:50%off@db/nacos).
        context.addIssue({ code: 'custom', path: ['url'], message: 'has a % that is not percent-encoding: write % as %25 (or set db.user, db.password, db.database)' });
        return z.NEVER;
      }
    }
    const host = db.host ?? fromUrl.host;
    const database = db.database ?? fromUrl.database;
    if (host === undefined) context.addIssue({ code: 'custom', path: ['host'], message: 'is required (or a url with a host)' });
    if (database === undefined) context.addIssue({ code: 'custom', path: ['database'], message: 'is required (or a url with a /database path)' });
    if (host === undefined || database === undefined) return z.NEVER;
    return {
      host,
      port: db.port ?? fromUrl.port ?? 3306,
      user: db.user ?? fromUrl.user ?? 'root',
      password: db.password ?? fromUrl.password ?? '',
      database,
      poolSize: db.poolSize,
      connectTimeoutMs: db.connectTimeoutMs,
      queryTimeoutMs: db.queryTimeoutMs,
      probeIntervalMs: db.probeIntervalMs,
      probeMaxIntervalMs: db.probeMaxIntervalMs,
      timezone: db.timezone,
      init: db.init,
    };
  });

/** Every node option; the config file (`--config`) takes the same keys, validated strictly. */
export const NodeConfigSchema = z.strictObject({
  host: z.string().min(1).default('0.0.0.0'),
  port: port.default(8848),
  grpcPortOffset: z.number().int().min(1).max(60000).default(1000),
  home: z.string().min(1).default(join(homedir(), 'nacos')),
  logLevel: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  /** `json` or `pretty`; unset: pretty when stdout is a terminal, else json. */
  logFormat: z.enum(LOG_FORMATS).optional(),
  tls: TlsSchema.default({ enabled: false, mutual: false, compatibility: true, reloadIntervalMs: 10_000, https: false }),
  /** Which gRPC implementation serves the SDK and cluster ports (docs/server.md). */
  transport: z.enum(TRANSPORT_KINDS).default(DEFAULT_TRANSPORT),
  maxMessageBytes: z.number().int().min(1024).default(10 * 1024 * 1024),
  maxOutboundBytes: z.number().int().min(1024).optional(),
  /**
   * gRPC transport caps (docs/operations.md): concurrent streams per HTTP/2 session (100; Nacos:
   * no limit), and the declared bytes of unfinished inbound messages per session (32 MiB) and per
   * node (128 MiB), both at least maxMessageBytes; -1 is no limit, as Nacos.
   */
  grpc: z
    .strictObject({ maxConcurrentStreams: z.number().int().min(1).max(4_294_967_295), maxSessionBufferedBytes: bufferedBytes, maxBufferedBytes: bufferedBytes })
    .partial()
    .default({}),
  /**
   * Which address per-client-IP limits count: the IP the client reports in its setup (Nacos), or
   * the TCP peer's address, which a client cannot choose (the safe choice where clients are not
   * behind NAT or a proxy).
   */
  limits: z.strictObject({ countClientIpBy: z.enum(['reported', 'transport']) }).partial().default({}),
  keepaliveTimeMs: ms.default(2 * 60 * 60 * 1000),
  keepaliveTimeoutMs: ms.default(20_000),
  setupTimeoutMs: ms.default(10_000),
  refusalCloseDelayMs: delayMs.default(300),
  shutdownResetWaitMs: delayMs.default(1000),
  /**
   * A client that closes within this of acking a ConnectResetRequest, or of the ack's timeout, has
   * moved, not gone; default `DEFAULT_MOVE_WINDOW_MS` (30 s; docs/naming.md).
   */
  moveWindowMs: delayMs.default(DEFAULT_MOVE_WINDOW_MS),
  ejector: z
    .strictObject({ initialDelayMs: ms, intervalMs: ms, idleThresholdMs: ms, detectTimeoutMs: ms, probeBatchSize: z.number().int().positive() })
    .partial()
    .default({}),
  shed: z.strictObject({ ratePerSecond: z.number().positive(), tickMs: ms }).partial().default({}),
  /** Off unless tokens are given; then writes need `accessToken`, reads too with protectReads. */
  auth: z
    .strictObject({ tokens: z.array(z.string().min(8, 'tokens must be at least 8 characters')).default([]), protectReads: z.boolean().default(false) })
    .default({ tokens: [], protectReads: false }),
  /** How open the HTTP admin API is beyond tokens (docs/operations.md); the defaults are the safe ones. */
  admin: z
    .strictObject({
      /** Without tokens, who may change state: `local` (loopback and members) or `anywhere` (Nacos). */
      anonymousWrites: z.enum(['local', 'anywhere']).default('local'),
      /** Whether redirectAddress may name a server that is not a member. */
      allowExternalRedirect: z.boolean().default(false),
    })
    .default({ anonymousWrites: 'local', allowExternalRedirect: false }),
  /** The IP other members and redirected clients reach this node at; default --host unless 0.0.0.0. */
  advertiseIp: z.string().min(1).optional(),
  /** `ip:port,ip:port,...` (main ports, self included); else `<home>/conf/cluster.conf`; else standalone. */
  members: z.string().min(1).optional(),
  /** How often cluster.conf is checked for changes. */
  clusterConfPollMs: ms.default(2000),
  /**
   * Member trust: hostname entries are resolved again this often; a shared identity (Nacos 2.2.4's
   * `nacos.core.auth.server.identity.key/value`) is sent on cluster requests and trusted when shown.
   */
  cluster: z
    .strictObject({
      resolveIntervalMs: ms.default(30_000),
      identityKey: z.string().min(1).optional(),
      identityValue: z.string().min(1).optional(),
      /**
       * TLS from this node's member clients to the other members' cluster ports (ours: in Nacos
       * 2.2.4 members talk in plaintext). Their server certificates must name the members' IPs.
       */
      tls: z
        .strictObject({
          enabled: z.boolean().default(false),
          /** PEM CA bundle the members' certificates are checked against; default Node's roots. */
          caFile: z.string().min(1).optional(),
          /** PEM client certificate and key, for members that require one (tls.mutual). */
          certFile: z.string().min(1).optional(),
          keyFile: z.string().min(1).optional(),
          /** The name checked in the members' certificates instead of their IPs. */
          serverName: z.string().min(1).optional(),
        })
        .refine((t) => (t.certFile === undefined) === (t.keyFile === undefined), { message: 'certFile and keyFile go together' })
        .optional(),
    })
    .refine((c) => (c.identityKey === undefined) === (c.identityValue === undefined), { message: 'identityKey and identityValue go together' })
    .default({ resolveIntervalMs: 30_000 }),
  /** `/cluster` and smartReloadCluster timeouts (Nacos: 200 ms per member, 1 s in all, 100 ms per reload). */
  loaderTimeouts: z.strictObject({ memberMs: ms, totalMs: ms, reloadMs: ms }).partial().default({}),
  /** Automatic balancing (docs/balancing.md); on by default. */
  balancer: z
    .strictObject({
      enabled: z.boolean(),
      intervalMs: ms,
      band: z.number().min(0).max(1),
      spreadMs: ms,
      minMemberRatePerSecond: z.number().positive(),
      clusterRatePerSecond: z.number().positive(),
      maxMemberRatePerSecond: z.number().positive(),
      cooldownMs: delayMs,
      warmupMs: delayMs,
      settleMs: delayMs,
      operatorHoldMs: delayMs,
    })
    .partial()
    .default({}),
  /** On SIGTERM or POST /nacos/v2/core/ops/drain, clients are moved away over this window. */
  drainWindowMs: delayMs.default(10_000),
  /** Naming pushes (docs/naming.md): merge window (Nacos: 500 ms), ack timeout, retry delay; sync across members. */
  naming: z
    .strictObject({
      pushDelayMs: delayMs,
      pushTimeoutMs: ms,
      pushRetryDelayMs: ms,
      /** A moved client's instances stay listed this long for its new connection to adopt (default 10 000 ms; 0 as Nacos). */
      moveGraceMs: delayMs,
      /**
       * Debounce of changes (Nacos: 1000 ms), verify interval (5000 ms), expiry of synced clients
       * (180 000 ms), how long a start keeps SDK clients away for the others' snapshots (30 000 ms)
       * and how long reads arriving before them wait (2000 ms), and how often a member's snapshot
       * ask is answered (1000 ms).
       */
      sync: z.strictObject({ debounceMs: delayMs, verifyIntervalMs: ms, expireMs: ms, startupHoldMs: delayMs, startupWaitMs: delayMs, snapshotAskIntervalMs: delayMs }).partial(),
    })
    .partial()
    .default({}),
  /** Intervals of the clients this node keeps to the other members. */
  memberClient: z.strictObject({ keepAliveMs: ms, healthCheckTimeoutMs: ms, serverCheckTimeoutMs: ms }).partial().default({}),
  /**
   * Config (docs/config.md): where configs are stored (`embedded`: SQLite under home, one node;
   * `mysql`: the database in `db`, shared by members; default `mysql` when `db` is set), content
   * limit in UTF-8 bytes, notify retries as Nacos's RpcConfigChangeNotifier, and whether 4-byte
   * UTF-8 characters are accepted (only where the tables are utf8mb4).
   */
  config: z
    .strictObject({
      store: z.enum(['embedded', 'mysql']).optional(),
      maxContentBytes: z.number().int().min(1).default(10 * 1024 * 1024),
      notify: z
        .strictObject({ timeoutMs: ms.default(3000), retryStepMs: ms.default(2000), maxAttempts: z.number().int().min(1).default(50) })
        .default({ timeoutMs: 3000, retryStepMs: 2000, maxAttempts: 50 }),
      allowFourByteUtf8: z.boolean().default(false),
      /** On a shared database: how often a member reads the history table for changes it was not told of. */
      catchUpMs: ms.default(30_000),
      /** On a shared database: whether changes are announced to the other members (false: catch-up only, a test hook). */
      announce: z.boolean().default(true),
      /** On a shared database: an announcement a member has not answered within this is left to its catch-up. */
      announceTimeoutMs: ms.default(3000),
      /** On a shared database: every read asks the database, not the member's copy (a mixed cluster with Nacos members). */
      readThrough: z.boolean().default(false),
    })
    .default({ maxContentBytes: 10 * 1024 * 1024, notify: { timeoutMs: 3000, retryStepMs: 2000, maxAttempts: 50 }, allowFourByteUtf8: false, catchUpMs: 30_000, announce: true, announceTimeoutMs: 3000, readThrough: false }),
  /** The shared MySQL/MariaDB database with Nacos's schema (docs/config.md#a-cluster-on-mysql). */
  db: DbSchema.optional(),
}).superRefine((config, context) => {
  if (config.config.store === 'mysql' && config.db === undefined) {
    context.addIssue({ code: 'custom', path: ['config', 'store'], message: '"mysql" needs db (url, or host and database)' });
  }
  for (const key of BUFFERED_BYTES_KEYS) {
    const value = config.grpc[key];
    if (value === undefined || value === -1 || value >= config.maxMessageBytes) continue;
    context.addIssue({
      code: 'custom',
      path: ['grpc', key],
      message: `must be -1 (no limit) or at least maxMessageBytes (${config.maxMessageBytes}): a message of the largest allowed size could never arrive`,
    });
  }
});

export type NodeConfig = z.infer<typeof NodeConfigSchema>;
export type NodeConfigInput = z.input<typeof NodeConfigSchema>;

/** A bad option or config file; the message names the offending key. */
export class ConfigError extends NacosRemoteError {
  constructor(message: string) {
    super('INVALID_CONFIG', 400, message);
  }
}

/** Validates options, filling defaults. @throws ConfigError naming the bad key */
export function parseNodeConfig(input: unknown, source = 'config'): NodeConfig {
  const result = NodeConfigSchema.safeParse(input ?? {});
  if (result.success) return result.data;
  const problems = result.error.issues.map((issue) =>
    issue.code === 'unrecognized_keys'
      ? issue.keys.map((k) => `'${[...issue.path, k].join('.')}': unknown option`).join('; ')
      : `'${issue.path.join('.')}': ${issue.message}`,
  );
  throw new ConfigError(`${source}: ${problems.join('; ')}`);
}

/** Reads a JSON config file (any subset of the options). */
export async function readConfigFile(path: string): Promise<Record<string, unknown>> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    throw new ConfigError(`cannot read config file ${path}: ${(error as Error).message}`);
  }
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (error) {
    throw new ConfigError(`config file ${path} is not valid JSON: ${(error as Error).message}`);
  }
  if (data === null || typeof data !== 'object' || Array.isArray(data)) {
    throw new ConfigError(`config file ${path} must hold a JSON object`);
  }
  return data as Record<string, unknown>;
}

/** `<home>/conf/cluster.conf`, as Nacos. */
export function clusterConfPath(home: string): string {
  return join(home, 'conf', 'cluster.conf');
}

/** `<home>/data/config.db`: the embedded config store. */
export function configStorePath(home: string): string {
  return join(home, 'data', 'config.db');
}

/** `<home>/data/connection/limitRule`, as Nacos. */
export function limitRulePath(home: string): string {
  return join(home, 'data', 'connection', 'limitRule');
}
