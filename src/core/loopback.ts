/**
 * Loopback names and addresses, as pure rules (no I/O): the local stack's Host check (design §11) and
 * the token endpoint's refusal of a client `jwks_uri` that points at the machine it runs on.
 *
 * @see https://www.rfc-editor.org/rfc/rfc6761#section-6.3 (localhost and *.localhost)
 * @see https://www.rfc-editor.org/rfc/rfc1122#section-3.2.1.3 (127.0.0.0/8)
 */

const OCTET = '(?:25[0-5]|2[0-4]\\d|1\\d\\d|[1-9]?\\d)';
/**
 * localhost, *.localhost, 127.0.0.0/8 or [::1], with an optional trailing dot and port. Exported for
 * the s3rver child process, which is plain JavaScript and gets it as `{ source, flags }`.
 */
export const LOOPBACK_HOST = new RegExp(
  `^(?:localhost|[a-z0-9.-]*\\.localhost|127(?:\\.${OCTET}){3}|\\[::1\\])\\.?(?::\\d{1,5})?$`,
  'i',
);

/** Whether a `Host` header (or a URL's host) is a loopback name, with or without a port. */
export function isLoopbackHost(host: string | undefined): boolean {
  return host !== undefined && LOOPBACK_HOST.test(host);
}

/**
 * Whether a URL would be fetched from this machine: a loopback name, the unspecified address (which
 * connects to loopback), or IPv4-mapped loopback. The URL parser has already normalized the host
 * (`http://2130706433/` and `http://0x7f.1/` are `127.0.0.1`; `[::ffff:127.0.0.1]` is `[::ffff:7f00:1]`).
 */
export function urlReachesLoopback(url: URL): boolean {
  const host = url.hostname.toLowerCase();
  return (
    isLoopbackHost(host) ||
    host === '0.0.0.0' ||
    host === '[::]' ||
    /^\[::ffff:(?:7f[0-9a-f]{2}:[0-9a-f]{1,4}|0:[0-9a-f]{1,4})\]$/.test(host)
  );
}
