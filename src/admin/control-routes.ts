import type { FastifyInstance } from 'fastify';
import { parseLimitRule, replaceLimitRuleFile } from '../server/control/limit-rule.js';
import type { ConnectionManager } from '../server/connection-manager.js';
import { BadParameterError } from './errors.js';
import type { Query } from './params.js';
import type { RedirectParameter } from './redirect.js';

export const CONTROL_PATH = '/nacos/v2/core/control/connection';

/**
 * The connection control rule at runtime (our addition): GET shows it; PUT validates, persists
 * to `<home>/data/connection/limitRule` and applies it, shedding what is now over a limit as a
 * paced budget (toward `redirectAddress` if given).
 */
export function registerControlRoutes(
  app: FastifyInstance,
  deps: { manager: ConnectionManager; limitRuleFile: string; redirectAddress: RedirectParameter },
): void {
  const { manager, limitRuleFile, redirectAddress } = deps;

  app.get(CONTROL_PATH, { config: { access: 'read' } }, async () => ({ rule: manager.limitRule, shedding: manager.shedProgress }));

  app.put(CONTROL_PATH, { config: { access: 'write' } }, async (request) => {
    if (request.body === null || typeof request.body !== 'object' || Array.isArray(request.body)) {
      throw new BadParameterError('body', 'must be a JSON object (the limit rule)');
    }
    const redirect = redirectAddress(request.query as Query);
    const rule = parseLimitRule(request.body);
    // Refused (409) before anything changes while a drain owns the shedding.
    manager.assertCanShed();
    const restoreFile = await replaceLimitRuleFile(limitRuleFile, rule);
    let shedding: number;
    try {
      shedding = manager.applyLimitRule(rule, redirect);
    } catch (error) {
      // A drain that started during the write refuses the rule: the file must not keep it either.
      await restoreFile();
      throw error;
    }
    request.log.info({ rule, shedding }, 'connection limit rule changed');
    return { rule, shedding };
  });
}
