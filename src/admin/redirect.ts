import type { ClusterMembers } from '../cluster/cluster-members.js';
import { splitRedirect } from '../server/connection-manager.js';
import { BadParameterError } from './errors.js';
import { redirectAddress, type Query } from './params.js';

/** Reads a request's `redirectAddress`: undefined when absent. @throws BadParameterError */
export type RedirectParameter = (query: Query) => string | undefined;

/**
 * `redirectAddress` as the loader and control routes take it: well formed, and a member of this
 * cluster unless the operator allows external targets. Clients follow a redirect in plaintext, so
 * an address nobody configured must not be able to collect them.
 */
export function createRedirectParameter(members: ClusterMembers, allowExternal: boolean): RedirectParameter {
  return (query) => {
    const address = redirectAddress(query);
    if (address === undefined || allowExternal) return address;
    const { serverIp, serverPort } = splitRedirect(address);
    if (members.list().some((m) => m.ip === serverIp && m.port === Number(serverPort))) return address;
    throw new BadParameterError(
      'redirectAddress',
      `must be a member of this cluster (see /nacos/v2/core/cluster/node/list), got '${address}'; set admin.allowExternalRedirect to send clients elsewhere`,
    );
  };
}
