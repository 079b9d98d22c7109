import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { NacosRemoteError } from '../../../src/protocol/index.js';
import {
  checkLimit,
  InvalidLimitRuleError,
  parseLimitRule,
  readLimitRuleFile,
  surplusConnections,
  UNLIMITED_RULE,
  type LimitCounts,
} from '../../../src/server/control/limit-rule.js';

const DEFAULTS = {
  countLimit: -1,
  countLimitPerClientIpDefault: -1,
  countLimitPerClientIp: {},
  countLimitPerClientApp: {},
  monitorIpList: [],
};

/** Asserts that parsing fails with InvalidLimitRuleError whose message names `key`. */
function assertRejects(data: unknown, key: string): void {
  assert.throws(
    () => parseLimitRule(data),
    (error: unknown) => {
      assert.ok(error instanceof InvalidLimitRuleError, `not an InvalidLimitRuleError: ${String(error)}`);
      assert.ok(error instanceof NacosRemoteError, 'error instanceof NacosRemoteError');
      assert.equal(error.code, 'INVALID_LIMIT_RULE');
      assert.ok(error.message.includes(`'${key}'`), `message does not name '${key}': ${error.message}`);
      return true;
    },
  );
}

describe('parseLimitRule', () => {
  it('fills every default from an empty object, null or undefined', () => {
    assert.deepEqual(parseLimitRule({}), DEFAULTS);
    assert.deepEqual(parseLimitRule(null), DEFAULTS);
    assert.deepEqual(parseLimitRule(undefined), DEFAULTS);
    assert.deepEqual(UNLIMITED_RULE, DEFAULTS);
  });

  it("reads Nacos 2.2.4's file ({monitorIpList, countLimit}) and keeps the other defaults", () => {
    assert.deepEqual(parseLimitRule({ monitorIpList: ['10.0.0.1', '10.0.0.2'], countLimit: 100 }), {
      ...DEFAULTS,
      monitorIpList: ['10.0.0.1', '10.0.0.2'],
      countLimit: 100,
    });
  });

  it("reads 2.1.x's per-IP and per-app keys", () => {
    const rule = parseLimitRule({
      countLimit: 10,
      countLimitPerClientIpDefault: 3,
      countLimitPerClientIp: { '10.0.0.1': 5, '10.0.0.2': -1 },
      countLimitPerClientApp: { billing: 0 },
    });
    assert.deepEqual(rule, {
      countLimit: 10,
      countLimitPerClientIpDefault: 3,
      countLimitPerClientIp: { '10.0.0.1': 5, '10.0.0.2': -1 },
      countLimitPerClientApp: { billing: 0 },
      monitorIpList: [],
    });
  });

  it('ignores unknown keys', () => {
    const rule = parseLimitRule({ countLimit: 4, somethingNew: { x: 1 }, countLimitPerSomething: 'x' });
    assert.deepEqual(rule, { ...DEFAULTS, countLimit: 4 });
  });

  it('accepts 0 and -1 as limits', () => {
    assert.equal(parseLimitRule({ countLimit: 0 }).countLimit, 0);
    assert.equal(parseLimitRule({ countLimit: -1 }).countLimit, -1);
  });

  it('rejects bad values with an InvalidLimitRuleError naming the key', () => {
    assertRejects({ countLimit: 'many' }, 'countLimit');
    assertRejects({ countLimit: 1.5 }, 'countLimit');
    assertRejects({ countLimit: -2 }, 'countLimit');
    assertRejects({ countLimitPerClientIpDefault: true }, 'countLimitPerClientIpDefault');
    assertRejects({ countLimitPerClientIp: [] }, 'countLimitPerClientIp');
    assertRejects({ countLimitPerClientIp: { '10.0.0.1': 'x' } }, 'countLimitPerClientIp.10.0.0.1');
    assertRejects({ countLimitPerClientApp: { billing: -5 } }, 'countLimitPerClientApp.billing');
    assertRejects({ monitorIpList: '10.0.0.1' }, 'monitorIpList');
    assertRejects({ monitorIpList: ['10.0.0.1', 7] }, 'monitorIpList.1');
  });

  it('rejects a rule that is not an object', () => {
    assert.throws(() => parseLimitRule([1, 2]), InvalidLimitRuleError);
    assert.throws(() => parseLimitRule(5), InvalidLimitRuleError);
    assert.throws(() => parseLimitRule('countLimit=1'), InvalidLimitRuleError);
  });
});

describe('readLimitRuleFile', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'nacos-limit-rule-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });
  const file = async (name: string, text: string): Promise<string> => {
    const path = join(dir, name);
    await writeFile(path, text, 'utf8');
    return path;
  };

  it('a missing file is the unlimited rule', async () => {
    assert.deepEqual(await readLimitRuleFile(join(dir, 'data', 'connection', 'limitRule')), UNLIMITED_RULE);
  });

  it('an empty or blank file is the unlimited rule', async () => {
    assert.deepEqual(await readLimitRuleFile(await file('empty', '')), UNLIMITED_RULE);
    assert.deepEqual(await readLimitRuleFile(await file('blank', ' \n\t\n')), UNLIMITED_RULE);
  });

  it('reads a valid file at <home>/data/connection/limitRule', async () => {
    await mkdir(join(dir, 'home', 'data', 'connection'), { recursive: true });
    const path = join(dir, 'home', 'data', 'connection', 'limitRule');
    await writeFile(path, JSON.stringify({ monitorIpList: ['1.1.1.1'], countLimit: 20, countLimitPerClientIpDefault: 2, extra: 1 }));
    assert.deepEqual(await readLimitRuleFile(path), {
      ...DEFAULTS,
      monitorIpList: ['1.1.1.1'],
      countLimit: 20,
      countLimitPerClientIpDefault: 2,
    });
  });

  it('rejects a file that is not JSON, naming the file', async () => {
    const path = await file('broken', '{"countLimit": 3');
    await assert.rejects(readLimitRuleFile(path), (error: unknown) => {
      assert.ok(error instanceof InvalidLimitRuleError, 'error instanceof InvalidLimitRuleError');
      assert.ok(error.message.includes(path), error.message);
      return true;
    });
  });

  it('rejects a file with a bad value, naming the key', async () => {
    const path = await file('bad-value', '{"countLimit": 3, "countLimitPerClientApp": {"shop": "ten"}}');
    await assert.rejects(readLimitRuleFile(path), (error: unknown) => {
      assert.ok(error instanceof InvalidLimitRuleError, 'error instanceof InvalidLimitRuleError');
      assert.match(error.message, /'countLimitPerClientApp\.shop'/);
      return true;
    });
  });

  it('a path that cannot be read (a directory) is an error, not the unlimited rule', async () => {
    await assert.rejects(readLimitRuleFile(dir), (error: unknown) => (error as NodeJS.ErrnoException).code === 'EISDIR');
  });
});

describe('checkLimit', () => {
  const counts = (total: number, forClientIp = 0, forApp = 0): LimitCounts => ({ total, forClientIp, forApp });

  it('the unlimited rule never refuses', () => {
    assert.equal(checkLimit(UNLIMITED_RULE, '10.0.0.1', 'app', counts(1e6, 1e6, 1e6)), 'ok');
  });

  it('refuses when the count has reached the limit (limit N allows N connections)', () => {
    const rule = parseLimitRule({ countLimit: 3 });
    assert.equal(checkLimit(rule, '10.0.0.1', 'app', counts(2)), 'ok');
    assert.equal(checkLimit(rule, '10.0.0.1', 'app', counts(3)), 'total');
    assert.equal(checkLimit(parseLimitRule({ countLimit: 0 }), '10.0.0.1', 'app', counts(0)), 'total');
  });

  it('checks the total first, then the client IP, then the app', () => {
    const rule = parseLimitRule({ countLimit: 1, countLimitPerClientIpDefault: 1, countLimitPerClientApp: { app: 1 } });
    assert.equal(checkLimit(rule, '10.0.0.1', 'app', counts(1, 1, 1)), 'total');
    assert.equal(checkLimit(rule, '10.0.0.1', 'app', counts(0, 1, 1)), 'client-ip');
    assert.equal(checkLimit(rule, '10.0.0.1', 'app', counts(0, 0, 1)), 'app');
    assert.equal(checkLimit(rule, '10.0.0.1', 'other', counts(0, 0, 1)), 'ok');
  });

  it('a per-IP override wins over the default, whether higher, lower or unlimited', () => {
    const rule = parseLimitRule({ countLimitPerClientIpDefault: 2, countLimitPerClientIp: { hi: 5, lo: 0, free: -1 } });
    assert.equal(checkLimit(rule, 'hi', 'a', counts(0, 4)), 'ok');
    assert.equal(checkLimit(rule, 'hi', 'a', counts(0, 5)), 'client-ip');
    assert.equal(checkLimit(rule, 'lo', 'a', counts(0, 0)), 'client-ip');
    assert.equal(checkLimit(rule, 'free', 'a', counts(0, 1000)), 'ok');
    assert.equal(checkLimit(rule, 'other', 'a', counts(0, 2)), 'client-ip');
  });

  it('the default per-IP limit also applies to a client IP spelled like an Object.prototype member', () => {
    // The client reports its own IP: a name such as "constructor" must not dodge the default.
    const rule = parseLimitRule({ countLimitPerClientIpDefault: 1 });
    for (const ip of ['constructor', 'toString', '__proto__', 'hasOwnProperty']) {
      assert.equal(checkLimit(rule, ip, 'a', counts(0, 1)), 'client-ip', ip);
    }
  });
});

describe('surplusConnections', () => {
  const conn = (id: string, clientIp: string, appName = '-') => ({ id, meta: { clientIp, appName } });

  it('measures a client IP against all its limited connections, shedding from the sheddable ones', () => {
    // 5 limited connections from 10.0.0.1, of which only 3 may be shed (the others are not SDK).
    const sheddable = [conn('a', '10.0.0.1'), conn('b', '10.0.0.1'), conn('c', '10.0.0.1')];
    const rule = { ...UNLIMITED_RULE, countLimitPerClientIp: { '10.0.0.1': 3 } };
    const counts = { total: 5, forClientIp: (ip: string) => (ip === '10.0.0.1' ? 5 : 0), forApp: () => 0 };
    assert.deepEqual([...surplusConnections(sheddable, rule, counts)].sort(), ['b', 'c'], 'the two newest sheddable');
  });

  it('sheds the newest beyond the total once the per-IP surplus is taken', () => {
    const sheddable = [conn('a', '10.0.0.1'), conn('b', '10.0.0.2'), conn('c', '10.0.0.3')];
    const rule = { ...UNLIMITED_RULE, countLimit: 2 };
    const counts = { total: 3, forClientIp: () => 1, forApp: () => 0 };
    assert.deepEqual([...surplusConnections(sheddable, rule, counts)], ['c']);
  });
});
