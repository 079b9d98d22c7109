import { isIP } from 'node:net';
import { readFile } from 'node:fs/promises';
import { formatAddress, parseServerAddress } from '../client/index.js';
import { NacosRemoteError } from '../protocol/index.js';

/** A bad member list; the message names the offending entry or line. */
export class MemberListError extends NacosRemoteError {
  constructor(message: string) {
    super('INVALID_MEMBER_LIST', 400, message);
  }
}

/** One member: `ip:mainPort`, as Nacos's cluster.conf and every redirect address. */
export interface MemberAddress {
  readonly ip: string;
  readonly port: number;
  readonly address: string;
}

const HOSTNAME = /^[a-zA-Z0-9]([a-zA-Z0-9-]*[a-zA-Z0-9])?(\.[a-zA-Z0-9]([a-zA-Z0-9-]*[a-zA-Z0-9])?)*$/;

/** Parses one `ip:port` entry (a missing port is 8848, as Nacos). */
export function parseMember(entry: string, where: string): MemberAddress {
  // The same address forms the client accepts; a member also needs room for its cluster port.
  let parsed;
  try {
    parsed = parseServerAddress(entry);
  } catch (error) {
    throw new MemberListError(`${where}: ${(error as Error).message}`);
  }
  const { ip, port } = parsed;
  if (isIP(ip) === 0 && !HOSTNAME.test(ip)) throw new MemberListError(`${where}: '${entry}' has a bad address`);
  if (port > 65535 - 1001) throw new MemberListError(`${where}: '${entry}' has a bad port (the cluster port would be over 65535)`);
  return { ip, port, address: formatAddress(parsed) };
}

export function parseMemberList(entries: readonly { text: string; where: string }[]): MemberAddress[] {
  const seen = new Map<string, string>();
  const members: MemberAddress[] = [];
  for (const { text, where } of entries) {
    const member = parseMember(text, where);
    const first = seen.get(member.address);
    if (first !== undefined) throw new MemberListError(`${where}: '${member.address}' is listed twice (also ${first})`);
    seen.set(member.address, where);
    members.push(member);
  }
  return members;
}

/** `--members ip:port,ip:port,...` */
export function parseMembersOption(value: string): MemberAddress[] {
  const entries = value
    .split(',')
    .map((text, i) => ({ text, where: `--members entry ${i + 1}` }))
    .filter((e) => e.text.trim() !== '');
  return parseMemberList(entries);
}

/** Nacos's cluster.conf: one `ip:port` a line; `#` starts a comment; blank lines ignored. */
export function parseClusterConf(text: string, path: string): MemberAddress[] {
  const entries = text
    .split(/\r?\n/)
    .map((line, i) => ({ text: line.replace(/#.*$/, '').trim(), where: `${path} line ${i + 1}` }))
    .filter((e) => e.text !== '');
  return parseMemberList(entries);
}

export async function readClusterConf(path: string): Promise<MemberAddress[] | undefined> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
  return parseClusterConf(text, path);
}

/** Checks that self is in the list: a member list without self is a start-up error. */
export function requireSelf(members: readonly MemberAddress[], self: string, source: string): void {
  if (!members.some((m) => m.address === self)) {
    throw new MemberListError(
      `${source} does not list this node (${self}); list it, or set --advertise-ip to the address it is listed under`,
    );
  }
}
