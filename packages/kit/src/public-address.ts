import { lookup } from 'node:dns/promises';
import { BlockList, isIP } from 'node:net';
import { AppError } from '@agentpod/contracts';

/*
 * Whether a URL a tenant chose points at the public internet. The control plane makes the request (a webhook's
 * POST, an assistant's provider call): without a guard a tenant could reach the control plane's own network (a
 * database port, a cloud metadata endpoint). The service refuses a host that is, or resolves to, an address that is
 * not public, unless its operator allows private ones.
 */

const RANGES: readonly { network: string; prefix: number; family: 'ipv4' | 'ipv6'; kind: string }[] = [
  { network: '0.0.0.0', prefix: 8, family: 'ipv4', kind: 'unspecified' },
  { network: '10.0.0.0', prefix: 8, family: 'ipv4', kind: 'private' },
  { network: '100.64.0.0', prefix: 10, family: 'ipv4', kind: 'shared (carrier-grade NAT)' },
  { network: '127.0.0.0', prefix: 8, family: 'ipv4', kind: 'loopback' },
  { network: '169.254.0.0', prefix: 16, family: 'ipv4', kind: 'link-local' },
  { network: '172.16.0.0', prefix: 12, family: 'ipv4', kind: 'private' },
  { network: '192.0.0.0', prefix: 24, family: 'ipv4', kind: 'reserved' },
  { network: '192.168.0.0', prefix: 16, family: 'ipv4', kind: 'private' },
  { network: '198.18.0.0', prefix: 15, family: 'ipv4', kind: 'reserved' },
  { network: '224.0.0.0', prefix: 4, family: 'ipv4', kind: 'multicast' },
  { network: '240.0.0.0', prefix: 4, family: 'ipv4', kind: 'reserved' },
  { network: '::', prefix: 128, family: 'ipv6', kind: 'unspecified' },
  { network: '::1', prefix: 128, family: 'ipv6', kind: 'loopback' },
  { network: 'fc00::', prefix: 7, family: 'ipv6', kind: 'private' },
  { network: 'fe80::', prefix: 10, family: 'ipv6', kind: 'link-local' },
  { network: 'ff00::', prefix: 8, family: 'ipv6', kind: 'multicast' },
];

const LISTS = RANGES.map((range) => {
  const list = new BlockList();
  list.addSubnet(range.network, range.prefix, range.family);
  return { list, kind: range.kind };
});

/** What kind of non-public address `ip` is (`private`, `loopback`, `link-local`…), or undefined for a public one. */
export function nonPublicKind(ip: string): string | undefined {
  const family = isIP(ip);
  if (family === 0) throw new Error(`${ip} is not an IP address`);
  // An IPv4 address written as IPv6 (::ffff:10.0.0.1) is judged as the IPv4 address it is.
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(ip)?.[1];
  const [address, type] = mapped
    ? [mapped, 'ipv4' as const]
    : [ip, family === 4 ? ('ipv4' as const) : ('ipv6' as const)];
  return LISTS.find(({ list }) => list.check(address, type))?.kind;
}

/** The host of a URL as `lookup` and `isIP` take it (`[::1]` → `::1`). */
export const hostOf = (url: URL): string => url.hostname.replace(/^\[(.*)\]$/, '$1');

/** `10.0.0.1 is a private address`, or `db.lan resolves to 10.0.0.1, which is a private address`. */
export const nonPublicAddress = (host: string, ip: string, kind: string): string =>
  `${host === ip ? ip : `${host} resolves to ${ip}, which`} is a ${kind} address`;

export type Resolve = (host: string) => Promise<string[]>;

const RESOLVE_TIMEOUT_MS = 5_000;

/** Every address of `host` (A and AAAA), as the system resolver answers. */
export const resolveAll: Resolve = async (host) => {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer in ${RESOLVE_TIMEOUT_MS / 1000} s`)), RESOLVE_TIMEOUT_MS);
  });
  try {
    const answers = await Promise.race([lookup(host, { all: true, verbatim: true }), timeout]);
    return answers.map((answer) => answer.address);
  } finally {
    clearTimeout(timer);
  }
};

export type PublicTargetOptions = {
  allowPrivate: boolean;
  resolve?: Resolve;
  /** What the URL is, opening the error (`webhook URL`). */
  what: string;
  /** Said after the refused address: who may use what, and how the operator allows private addresses. */
  advice: string;
};

/**
 * Refuses (`invalid`) a URL whose host is, or resolves to, an address that is not public, unless `allowPrivate`;
 * and one whose host does not resolve at all (most often a typo).
 */
export async function checkPublicTarget(text: string, options: PublicTargetOptions): Promise<void> {
  if (options.allowPrivate) return;
  const host = hostOf(new URL(text));
  let addresses: string[];
  if (isIP(host) !== 0) {
    addresses = [host];
  } else if (host === 'localhost' || host.endsWith('.localhost')) {
    // Always the local machine (RFC 6761), whatever a resolver would say.
    addresses = ['127.0.0.1'];
  } else {
    try {
      addresses = await (options.resolve ?? resolveAll)(host);
    } catch (error) {
      throw new AppError('invalid', `${options.what} refused: ${host} does not resolve (${(error as Error).message})`);
    }
  }
  for (const ip of addresses) {
    const kind = nonPublicKind(ip);
    if (kind) {
      throw new AppError('invalid', `${options.what} refused: ${nonPublicAddress(host, ip, kind)}; ${options.advice}`);
    }
  }
}
