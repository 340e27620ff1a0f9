/**
 * What "loopback-only" means for the embedded stack (design §11): every server it starts listens on a
 * loopback address, and refuses a request whose `Host` is not a loopback name — a web page that points
 * its own DNS name at 127.0.0.1 (DNS rebinding) would otherwise reach the servers as same-origin.
 * The name rule is pure and lives in src/core/loopback.ts; this adds the socket-level checks.
 */
import { readFile } from 'node:fs/promises';
import { isIPv4, isIPv6 } from 'node:net';

export { isLoopbackHost } from '../core/loopback.ts';

/** Whether an IP address (IPv4, IPv6, or IPv4-mapped IPv6) is a loopback address. */
export function isLoopbackAddress(address: string): boolean {
  if (isIPv4(address)) return address.startsWith('127.');
  if (!isIPv6(address)) return false;
  // The URL parser normalizes IPv6 (::ffff:127.0.0.1 → [::ffff:7f00:1], 0:0:…:1 → [::1]).
  const host = new URL(`http://[${address}]/`).hostname;
  return host === '[::1]' || /^\[::ffff:7f[0-9a-f]{2}:[0-9a-f]{1,4}\]$/.test(host);
}

/** `0100007F` (little-endian hex, /proc/net/tcp) or 32 hex digits (tcp6) → an IP address string. */
function procAddress(hex: string): string {
  if (hex.length === 8) {
    return [...Buffer.from(hex, 'hex').reverse()].join('.');
  }
  // Four little-endian 32-bit words; the IPv4-mapped form ::ffff:a.b.c.d keeps its IPv4 in the last word.
  const words = hex.match(/.{8}/g) ?? [];
  const bytes = Buffer.concat(words.map((w) => Buffer.from(w, 'hex').reverse()));
  if (bytes.subarray(0, 10).every((b) => b === 0) && bytes.readUInt16BE(10) === 0xffff) {
    return `::ffff:${[...bytes.subarray(12)].join('.')}`;
  }
  const groups = (bytes.toString('hex').match(/.{4}/g) ?? []).map((g) => g.replace(/^0+(?=.)/, ''));
  return groups.join(':');
}

const LISTEN = '0A';

/**
 * The local addresses of the TCP sockets LISTENing on `port`, from the kernel's socket table
 * (/proc/net/tcp and tcp6); undefined where there is no such table (not Linux). This is what the
 * machine really exposes, whatever the server believes it asked for.
 */
export async function listeningAddresses(port: number): Promise<string[] | undefined> {
  const tables = await Promise.all(
    ['/proc/net/tcp', '/proc/net/tcp6'].map((path) => readFile(path, 'utf8').catch(() => undefined)),
  );
  if (tables.every((t) => t === undefined)) return undefined;
  const addresses: string[] = [];
  for (const line of tables.flatMap((t) => (t ?? '').split('\n').slice(1))) {
    const [, local, , state] = line.trim().split(/\s+/);
    const [hex, portHex] = (local ?? '').split(':');
    if (state === LISTEN && hex && portHex && Number.parseInt(portHex, 16) === port) {
      addresses.push(procAddress(hex));
    }
  }
  return addresses;
}
