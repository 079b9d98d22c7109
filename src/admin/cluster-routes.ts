import type { FastifyInstance } from 'fastify';
import type { ClusterMembers, MemberView } from '../cluster/cluster-members.js';
import { v2Success } from './v2-result.js';

/** A member as Nacos's `Member` JSON: ip, port, address, state, and the long-connection ability. */
function memberJson(member: MemberView): Record<string, unknown> {
  return {
    ip: member.ip,
    port: member.port,
    address: member.address,
    state: member.state,
    abilities: { remoteAbility: { supportRemoteConnection: true } },
  };
}

/** `/nacos/v2/core/cluster/node/list` and `/node/self`. */
export function registerClusterRoutes(
  app: FastifyInstance,
  deps: { members: ClusterMembers },
): void {
  const read = { config: { access: 'read' as const } };
  app.get('/nacos/v2/core/cluster/node/list', read, async () => v2Success(deps.members.list().map(memberJson)));
  app.get('/nacos/v2/core/cluster/node/self', read, async () => {
    const self = deps.members.list().find((m) => m.self)!;
    return v2Success(memberJson(self));
  });
}
