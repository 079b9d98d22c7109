import type { FastifyInstance, FastifyRequest } from 'fastify';
import { parseLimitRule, writeLimitRuleFile } from '../server/control/limit-rule.js';
import type { ConnectionManager } from '../server/connection-manager.js';
import type { Access } from './auth.js';
import { BadParameterError } from './errors.js';
import { redirectAddress, type Query } from './params.js';

export const CONTROL_PATH = '/nacos/v2/core/control/connection';

/**
 * The connection control rule at runtime (our addition): GET shows it; PUT validates, persists
 * to `<home>/data/connection/limitRule` and applies it, shedding what is now over a limit as a
 * paced budget (toward `redirectAddress` if given).
 */
export function registerControlRoutes(
  app: FastifyInstance,
  deps: { manager: ConnectionManager; limitRuleFile: string; checkAccess: (request: FastifyRequest, access: Access) => void },
): void {
  const { manager, limitRuleFile, checkAccess } = deps;

  app.get(CONTROL_PATH, async (request) => {
    checkAccess(request, 'read');
    return { rule: manager.limitRule, shedding: manager.shedProgress };
  });

  app.put(CONTROL_PATH, async (request) => {
    checkAccess(request, 'write');
    if (request.body === null || typeof request.body !== 'object' || Array.isArray(request.body)) {
      throw new BadParameterError('body', 'must be a JSON object (the limit rule)');
    }
    const redirect = redirectAddress(request.query as Query);
    const rule = parseLimitRule(request.body);
    // Refused (409) before anything changes while a drain owns the shedding.
    manager.assertCanShed();
    await writeLimitRuleFile(limitRuleFile, rule);
    const shedding = manager.applyLimitRule(rule, redirect);
    request.log.info({ rule, shedding }, 'connection limit rule changed');
    return { rule, shedding };
  });
}
