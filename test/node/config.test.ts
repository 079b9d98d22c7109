import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConfigError, parseNodeConfig } from '../../src/node/config.js';

describe('node config: the pacing and batching knobs', () => {
  it('accepts the balancer pacing and the ejector batch size', () => {
    const config = parseNodeConfig({ balancer: { spreadMs: 2000, minMemberRatePerSecond: 10 }, ejector: { probeBatchSize: 64 } });
    assert.equal(config.balancer.spreadMs, 2000);
    assert.equal(config.balancer.minMemberRatePerSecond, 10);
    assert.equal(config.ejector.probeBatchSize, 64);
  });

  for (const [input, key] of [
    [{ ejector: { probeBatchSize: 0 } }, 'ejector.probeBatchSize'],
    [{ ejector: { probeBatchSize: 1.5 } }, 'ejector.probeBatchSize'],
    [{ balancer: { spreadMs: 0 } }, 'balancer.spreadMs'],
    [{ balancer: { minMemberRatePerSecond: -1 } }, 'balancer.minMemberRatePerSecond'],
  ] as const) {
    it(`rejects ${JSON.stringify(input)}, naming ${key}`, () => {
      assert.throws(() => parseNodeConfig(input), (error: unknown) => error instanceof ConfigError && error.message.includes(`'${key}'`));
    });
  }
});

describe('node config: the admin API policy', () => {
  it('defaults to the safe policy: writes from loopback and members, redirects to members', () => {
    assert.deepEqual(parseNodeConfig({}).admin, { anonymousWrites: 'local', allowExternalRedirect: false });
  });

  it("takes Nacos's open behaviour when asked", () => {
    const config = parseNodeConfig({ admin: { anonymousWrites: 'anywhere', allowExternalRedirect: true } });
    assert.deepEqual(config.admin, { anonymousWrites: 'anywhere', allowExternalRedirect: true });
  });

  for (const [input, key] of [
    [{ admin: { anonymousWrites: 'everyone' } }, 'admin.anonymousWrites'],
    [{ admin: { allowExternalRedirect: 'yes' } }, 'admin.allowExternalRedirect'],
    [{ admin: { protectReads: true } }, 'admin.protectReads'],
  ] as const) {
    it(`rejects ${JSON.stringify(input)}, naming ${key}`, () => {
      assert.throws(() => parseNodeConfig(input), (error: unknown) => error instanceof ConfigError && error.message.includes(`'${key}'`));
    });
  }
});

describe('node config: the gRPC transport', () => {
  it('defaults to http2 and takes grpc-js', () => {
    assert.equal(parseNodeConfig({}).transport, 'http2');
    assert.equal(parseNodeConfig({ transport: 'grpc-js' }).transport, 'grpc-js');
  });

  it('rejects an unknown transport, naming the key', () => {
    assert.throws(() => parseNodeConfig({ transport: 'netty' }), (error: unknown) => error instanceof ConfigError && error.message.includes("'transport'"));
  });
});

describe('node config: naming', () => {
  it('takes the push timings, a zero merge window included, and leaves the rest to the defaults', () => {
    assert.deepEqual(parseNodeConfig({}).naming, {});
    assert.deepEqual(parseNodeConfig({ naming: { pushDelayMs: 0, pushRetryDelayMs: 250 } }).naming, { pushDelayMs: 0, pushRetryDelayMs: 250 });
  });

  it('takes the sync timings, a zero debounce included', () => {
    const sync = { debounceMs: 0, verifyIntervalMs: 1000, expireMs: 30_000, startupHoldMs: 0, startupWaitMs: 2000, snapshotAskIntervalMs: 0 };
    assert.deepEqual(parseNodeConfig({ naming: { sync } }).naming, { sync });
  });

  for (const [input, key] of [
    [{ naming: { pushDelayMs: -1 } }, 'naming.pushDelayMs'],
    [{ naming: { pushTimeoutMs: 0 } }, 'naming.pushTimeoutMs'],
    [{ naming: { pushDelay: 500 } }, 'naming.pushDelay'],
    [{ naming: { sync: { verifyIntervalMs: 0 } } }, 'naming.sync.verifyIntervalMs'],
    [{ naming: { sync: { expireMs: 1.5 } } }, 'naming.sync.expireMs'],
    [{ naming: { sync: { debounceMs: -1 } } }, 'naming.sync.debounceMs'],
    [{ naming: { sync: { verifyMs: 5000 } } }, 'naming.sync.verifyMs'],
    [{ naming: { sync: { snapshotAskIntervalMs: -1 } } }, 'naming.sync.snapshotAskIntervalMs'],
    [{ naming: { sync: { startupHoldMs: -1 } } }, 'naming.sync.startupHoldMs'],
    [{ naming: { sync: { startupHoldMs: 2_147_483_648 } } }, 'naming.sync.startupHoldMs'],
  ] as const) {
    it(`rejects ${JSON.stringify(input)}, naming ${key}`, () => {
      assert.throws(() => parseNodeConfig(input), (error: unknown) => error instanceof ConfigError && error.message.includes(`'${key}'`));
    });
  }
});

describe('node config: delays a timer can hold', () => {
  it('regression: a delay past 2^31-1 ms (a timer would fire after 1 ms) is refused, naming the key', () => {
    for (const [input, key] of [
      [{ keepaliveTimeMs: 3e9 }, 'keepaliveTimeMs'],
      [{ ejector: { intervalMs: 2_147_483_648 } }, 'ejector.intervalMs'],
      [{ drainWindowMs: 2_147_483_648 }, 'drainWindowMs'],
    ] as const) {
      assert.throws(() => parseNodeConfig(input), (error: unknown) => error instanceof ConfigError && error.message.includes(`'${key}'`), key);
    }
  });

  it('takes the longest delay a timer holds, and still refuses 0 where an interval must run', () => {
    assert.equal(parseNodeConfig({ keepaliveTimeMs: 2_147_483_647 }).keepaliveTimeMs, 2_147_483_647);
    assert.throws(() => parseNodeConfig({ keepaliveTimeMs: 0 }), ConfigError);
    assert.equal(parseNodeConfig({ drainWindowMs: 0 }).drainWindowMs, 0);
  });
});

describe('node config: TLS on the gRPC ports', () => {
  it('takes tls.reloadIntervalMs 0: the files are read once, at start, as Nacos', () => {
    assert.equal(parseNodeConfig({ tls: { enabled: true, certFile: 'a.crt', keyFile: 'a.key', reloadIntervalMs: 0 } }).tls.reloadIntervalMs, 0);
  });

  it('is off by default, with compatibility on as Nacos', () => {
    assert.deepEqual(parseNodeConfig({}).tls, { enabled: false, mutual: false, compatibility: true, reloadIntervalMs: 10_000, https: false });
  });

  it('takes the files, mutual TLS and compatibility off', () => {
    const tls = { enabled: true, certFile: '/c.pem', keyFile: '/k.pem', caFile: '/ca.pem', mutual: true, compatibility: false, reloadIntervalMs: 500, https: true, plaintextLoopbackPort: 8849 };
    assert.deepEqual(parseNodeConfig({ tls }).tls, tls);
  });

  for (const [input, key] of [
    [{ tls: { enabled: true, keyFile: '/k.pem' } }, 'tls.certFile'],
    [{ tls: { enabled: true, certFile: '/c.pem' } }, 'tls.keyFile'],
    [{ tls: { enabled: true, certFile: '/c.pem', keyFile: '/k.pem', mutual: true } }, 'tls.caFile'],
    [{ tls: { reloadIntervalMs: -1 } }, 'tls.reloadIntervalMs'],
    [{ tls: { trustAll: true } }, 'tls.trustAll'],
    [{ tls: { https: true } }, 'tls.https'],
    [{ tls: { enabled: true, certFile: '/c.pem', keyFile: '/k.pem', plaintextLoopbackPort: 8849 } }, 'tls.plaintextLoopbackPort'],
  ] as const) {
    it(`rejects ${JSON.stringify(input)}, naming ${key}`, () => {
      assert.throws(() => parseNodeConfig(input), (error: unknown) => error instanceof ConfigError && error.message.includes(`'${key}'`));
    });
  }
});

describe('node config: TLS between members', () => {
  it('is absent by default and takes a CA, a client certificate and a server name', () => {
    assert.equal(parseNodeConfig({}).cluster.tls, undefined);
    const tls = { enabled: true, caFile: '/ca.pem', certFile: '/c.pem', keyFile: '/k.pem', serverName: 'nacos.internal' };
    assert.deepEqual(parseNodeConfig({ cluster: { tls } }).cluster.tls, tls);
  });

  for (const [input, key] of [
    [{ cluster: { tls: { enabled: true, certFile: '/c.pem' } } }, 'cluster.tls'],
    [{ cluster: { tls: { enabled: 'yes' } } }, 'cluster.tls.enabled'],
    [{ cluster: { tls: { mutual: true } } }, 'cluster.tls.mutual'],
  ] as const) {
    it(`rejects ${JSON.stringify(input)}, naming ${key}`, () => {
      assert.throws(() => parseNodeConfig(input), (error: unknown) => error instanceof ConfigError && error.message.includes(`'${key}`));
    });
  }
});

describe('node config: the shared database', () => {
  it('takes a URL, percent-decoded, with the defaults filled in', () => {
    const { db } = parseNodeConfig({ db: { url: 'mysql://nacos:p%40ss@db.internal:3307/nacos_config' } });
    assert.deepEqual(db, {
      host: 'db.internal',
      port: 3307,
      user: 'nacos',
      password: 'p@ss',
      database: 'nacos_config',
      poolSize: 10,
      connectTimeoutMs: 3000,
      queryTimeoutMs: 2000,
      probeIntervalMs: 1000,
      probeMaxIntervalMs: 30_000,
      timezone: 'Z',
      init: false,
    });
    assert.equal(parseNodeConfig({}).config.announceTimeoutMs, 3000);
    assert.equal(parseNodeConfig({ config: { announceTimeoutMs: 500 } }).config.announceTimeoutMs, 500);
    assert.equal(parseNodeConfig({}).config.readThrough, false);
    assert.equal(parseNodeConfig({ config: { readThrough: true } }).config.readThrough, true);
  });

  it('takes parts, which win over the URL', () => {
    const { db } = parseNodeConfig({ db: { url: 'mysql://a@h1/d1', host: 'h2', database: 'd2', password: 'secret', poolSize: 3, init: true } });
    assert.equal(db?.host, 'h2');
    assert.equal(db?.database, 'd2');
    assert.equal(db?.user, 'a');
    assert.equal(db?.port, 3306);
    assert.equal(db?.poolSize, 3);
    assert.equal(db?.init, true);
  });

  for (const [input, key] of [
    [{ db: { host: 'h' } }, 'db.database'],
    [{ db: { database: 'd' } }, 'db.host'],
    [{ db: { url: 'postgres://h/d' } }, 'db.url'],
    [{ db: { url: 'not a url' } }, 'db.url'],
    [{ db: { url: 'mysql://nacos:50%off@db/nacos' } }, 'db.url'],
    [{ db: { url: 'mysql://nacos@db/nacos?ssl=true' } }, 'db.url'],
    [{ db: { url: 'mysql://h/d', poolSize: 0 } }, 'db.poolSize'],
    [{ db: { url: 'mysql://h/d', timezone: 'Europe/Paris' } }, 'db.timezone'],
    [{ db: { url: 'mysql://h/d', passwrd: 'x' } }, 'db.passwrd'],
    [{ config: { store: 'mysql' } }, 'config.store'],
  ] as const) {
    it(`rejects ${JSON.stringify(input)}, naming ${key}`, () => {
      assert.throws(() => parseNodeConfig(input), (error: unknown) => error instanceof ConfigError && error.message.includes(`'${key}'`));
    });
  }

  it('refuses 4-byte characters unless config.allowFourByteUtf8', () => {
    assert.equal(parseNodeConfig({}).config.allowFourByteUtf8, false);
    assert.equal(parseNodeConfig({ config: { allowFourByteUtf8: true } }).config.allowFourByteUtf8, true);
  });
});
