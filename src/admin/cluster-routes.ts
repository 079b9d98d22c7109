import type { FastifyInstance } from 'fastify';
import type { ClusterMembers, MemberView } from '../cluster/cluster-members.js';

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

/** Nacos v2's `Result` envelope. */
const result = (data: unknown) => ({ code: 0, message: 'success', data });

/** `/nacos/v2/core/cluster/node/list` and `/node/self`. */
export function registerClusterRoutes(
  app: FastifyInstance,
  deps: { members: ClusterMembers },
): void {
  const read = { config: { access: 'read' as const } };
  app.get('/nacos/v2/core/cluster/node/list', read, async () => result(deps.members.list().map(memberJson)));
  app.get('/nacos/v2/core/cluster/node/self', read, async () => {
    const self = deps.members.list().find((m) => m.self)!;
    return result(memberJson(self));
  });
}
