import { DEFAULT_BALANCER_OPTIONS, type BalancerOptions } from '../cluster/balancer.js';
import { DEFAULT_MOVE_GRACE_MS } from '../naming/index.js';
import type { NodeConfig } from './config.js';

/**
 * The balancer's options from a node's config. The cool-down is at least the naming move grace:
 * a client moved again before its last move's hold ended would be mid-move twice (docs/balancing.md).
 */
export function balancerOptionsOf(config: Pick<NodeConfig, 'balancer' | 'naming'>): BalancerOptions {
  const options = { ...DEFAULT_BALANCER_OPTIONS, ...config.balancer };
  return { ...options, cooldownMs: Math.max(options.cooldownMs, config.naming.moveGraceMs ?? DEFAULT_MOVE_GRACE_MS) };
}
