import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { z } from 'zod';
import { NacosRemoteError } from '../../protocol/index.js';

const limit = z.number().int().min(-1);

/**
 * The connection control rule: Nacos 2.2.4's file (`monitorIpList`, `countLimit`) plus 2.1.x's
 * per-IP and per-app limits (decision 10.12). -1 means unlimited; unknown keys are ignored.
 */
export const ConnectionLimitRuleSchema = z.object({
  countLimit: limit.default(-1),
  countLimitPerClientIpDefault: limit.default(-1),
  countLimitPerClientIp: z.record(z.string(), limit).default({}),
  countLimitPerClientApp: z.record(z.string(), limit).default({}),
  monitorIpList: z.array(z.string()).default([]),
});

export type ConnectionLimitRule = z.infer<typeof ConnectionLimitRuleSchema>;

export const UNLIMITED_RULE: ConnectionLimitRule = Object.freeze({
  countLimit: -1,
  countLimitPerClientIpDefault: -1,
  countLimitPerClientIp: {},
  countLimitPerClientApp: {},
  monitorIpList: [],
});

/** A rule that failed validation; the message names the bad key. */
export class InvalidLimitRuleError extends NacosRemoteError {
  constructor(message: string) {
    super('INVALID_LIMIT_RULE', 400, message);
  }
}

/** Validates a rule given as JSON data. */
export function parseLimitRule(data: unknown): ConnectionLimitRule {
  const result = ConnectionLimitRuleSchema.safeParse(data ?? {});
  if (!result.success) {
    const issue = result.error.issues[0]!;
    throw new InvalidLimitRuleError(`limit rule: '${issue.path.join('.')}' ${issue.message}`);
  }
  return result.data;
}

/** Reads `<home>/data/connection/limitRule`; a missing or empty file is the unlimited rule. */
export async function readLimitRuleFile(path: string): Promise<ConnectionLimitRule> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return UNLIMITED_RULE;
    throw error;
  }
  if (text.trim() === '') return UNLIMITED_RULE;
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (error) {
    throw new InvalidLimitRuleError(`limit rule file ${path} is not JSON: ${(error as Error).message}`);
  }
  return parseLimitRule(data);
}

/** Own keys only: a client-reported IP such as "constructor" must not find Object.prototype members. */
function ownLimit(map: Record<string, number>, key: string): number | undefined {
  return Object.hasOwn(map, key) ? map[key] : undefined;
}

/** Why a registration was refused. */
export type LimitVerdict = 'ok' | 'total' | 'client-ip' | 'app';

export interface LimitCounts {
  total: number;
  forClientIp: number;
  forApp: number;
}

/** Checks one more connection against the rule; counts exclude trusted cluster connections. */
export function checkLimit(rule: ConnectionLimitRule, clientIp: string, appName: string, counts: LimitCounts): LimitVerdict {
  const over = (max: number | undefined, count: number) => max !== undefined && max >= 0 && count >= max;
  if (over(rule.countLimit, counts.total)) return 'total';
  const ipLimit = ownLimit(rule.countLimitPerClientIp, clientIp) ?? rule.countLimitPerClientIpDefault;
  if (over(ipLimit, counts.forClientIp)) return 'client-ip';
  if (over(ownLimit(rule.countLimitPerClientApp, appName), counts.forApp)) return 'app';
  return 'ok';
}

/** What surplus counting needs of a connection. */
interface Counted {
  readonly id: string;
  readonly meta: { readonly clientIp: string; readonly appName: string };
}

/**
 * The connections to shed so that every limit of `rule` holds again: the newest beyond each
 * client IP's and app's limit, then the newest beyond the total. `total` counts every limited
 * connection, sheddable or not.
 */
export function surplusConnections(sheddable: readonly Counted[], rule: ConnectionLimitRule, total: number): Set<string> {
  const picked = new Set<string>();
  const pickOverLimit = (keyOf: (c: Counted) => string, limitOf: (key: string) => number | undefined) => {
    const groups = new Map<string, Counted[]>();
    for (const c of sheddable) {
      const key = keyOf(c);
      const group = groups.get(key);
      if (group) group.push(c);
      else groups.set(key, [c]);
    }
    for (const [key, group] of groups) {
      const limit = limitOf(key);
      if (limit === undefined || limit < 0 || group.length <= limit) continue;
      for (const c of group.slice(limit)) picked.add(c.id);
    }
  };
  pickOverLimit((c) => c.meta.clientIp, (ip) => ownLimit(rule.countLimitPerClientIp, ip) ?? rule.countLimitPerClientIpDefault);
  pickOverLimit((c) => c.meta.appName, (app) => ownLimit(rule.countLimitPerClientApp, app));
  if (rule.countLimit >= 0) {
    let over = total - picked.size - rule.countLimit;
    for (let i = sheddable.length - 1; i >= 0 && over > 0; i--) {
      const id = sheddable[i]!.id;
      if (picked.has(id)) continue;
      picked.add(id);
      over--;
    }
  }
  return picked;
}

/** Writes the rule where Nacos keeps it, atomically (temp file + rename). */
export async function writeLimitRuleFile(path: string, rule: ConnectionLimitRule): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  const temp = `${path}.${process.pid}.tmp`;
  await writeFile(temp, `${JSON.stringify(rule, null, 2)}\n`, 'utf8');
  await rename(temp, path);
}
