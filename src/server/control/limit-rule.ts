import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
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

/** A client IP's limit: its own, else the default (negative: none). */
function clientIpLimit(rule: ConnectionLimitRule, clientIp: string): number | undefined {
  return ownLimit(rule.countLimitPerClientIp, clientIp) ?? rule.countLimitPerClientIpDefault;
}

/** Checks one more connection against the rule; counts exclude trusted cluster connections. */
export function checkLimit(rule: ConnectionLimitRule, clientIp: string, appName: string, counts: LimitCounts): LimitVerdict {
  const over = (max: number | undefined, count: number) => max !== undefined && max >= 0 && count >= max;
  if (over(rule.countLimit, counts.total)) return 'total';
  if (over(clientIpLimit(rule, clientIp), counts.forClientIp)) return 'client-ip';
  if (over(ownLimit(rule.countLimitPerClientApp, appName), counts.forApp)) return 'app';
  return 'ok';
}

/** What surplus counting needs of a connection. */
interface Counted {
  readonly id: string;
  readonly meta: { readonly clientIp: string; readonly appName: string };
}

/** The limited connections (sheddable or not) as the registry counts them, the ones checkLimit sees. */
export interface LimitedCounts {
  readonly total: number;
  forClientIp(clientIp: string): number;
  forApp(appName: string): number;
}

/**
 * The connections to shed so that every limit of `rule` holds again, measured on the same counts
 * checkLimit uses (connections that cannot be shed count too): the newest sheddable ones of each
 * client IP and app over its limit, then the newest beyond the total.
 */
export function surplusConnections(sheddable: readonly Counted[], rule: ConnectionLimitRule, counts: LimitedCounts): Set<string> {
  const picked = new Set<string>();
  const pickOverLimit = (keyOf: (c: Counted) => string, countOf: (key: string) => number, limitOf: (key: string) => number | undefined) => {
    const groups = new Map<string, Counted[]>();
    for (const c of sheddable) {
      const key = keyOf(c);
      const group = groups.get(key);
      if (group) group.push(c);
      else groups.set(key, [c]);
    }
    for (const [key, group] of groups) {
      const limit = limitOf(key);
      if (limit === undefined || limit < 0) continue;
      const over = countOf(key) - limit;
      if (over <= 0) continue;
      for (const c of group.slice(Math.max(0, group.length - over))) picked.add(c.id);
    }
  };
  pickOverLimit((c) => c.meta.clientIp, counts.forClientIp, (ip) => clientIpLimit(rule, ip));
  pickOverLimit((c) => c.meta.appName, counts.forApp, (app) => ownLimit(rule.countLimitPerClientApp, app));
  if (rule.countLimit >= 0) {
    let over = counts.total - picked.size - rule.countLimit;
    for (let i = sheddable.length - 1; i >= 0 && over > 0; i--) {
      const id = sheddable[i]!.id;
      if (picked.has(id)) continue;
      picked.add(id);
      over--;
    }
  }
  return picked;
}

/**
 * Writes the rule where Nacos keeps it, atomically (temp file + rename), and returns how to put
 * the file back as it was (an absent file is removed again): the caller's apply can still fail.
 */
export async function replaceLimitRuleFile(path: string, rule: ConnectionLimitRule): Promise<() => Promise<void>> {
  let previous: string | undefined;
  try {
    previous = await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  await writeAtomically(path, `${JSON.stringify(rule, null, 2)}\n`);
  return () => (previous === undefined ? rm(path, { force: true }) : writeAtomically(path, previous));
}

async function writeAtomically(path: string, text: string): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  const temp = `${path}.${process.pid}.tmp`;
  await writeFile(temp, text, 'utf8');
  await rename(temp, path);
}
