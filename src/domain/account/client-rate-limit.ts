/**
 * Unauthenticated requests (sign-up, login, refresh) one client address may make per window, all instances
 * together: without a bound, one client fills the password hasher's queue for everyone, or signs up enough
 * accounts to drain a first-come-first-served coupon. The limit per window is configuration.
 */
export const CLIENT_RATE_WINDOW_MS = 60 * 1000;
export const DEFAULT_CLIENT_RATE_LIMIT_PER_MINUTE = 60;

const IPV4 = /^\d{1,3}(?:\.\d{1,3}){3}$/;

/** The eight 16-bit groups of an IPv6 address (zone and embedded IPv4 tail allowed), or undefined. */
function ipv6Groups(address: string): number[] | undefined {
  const text = address.split('%')[0]!.toLowerCase();
  const halves = text.split('::');
  if (halves.length > 2) return undefined;
  const parse = (half: string) => {
    if (half === '') return [];
    const parts = half.split(':');
    const tail = parts.at(-1)!;
    if (IPV4.test(tail)) {
      const [a, b, c, d] = tail.split('.').map(Number) as [number, number, number, number];
      parts.splice(-1, 1, ((a << 8) | b).toString(16), ((c << 8) | d).toString(16));
    }
    return parts.map((part) => (/^[0-9a-f]{1,4}$/.test(part) ? parseInt(part, 16) : Number.NaN));
  };
  const head = parse(halves[0]!);
  const rest = halves.length === 2 ? parse(halves[1]!) : [];
  const missing = 8 - head.length - rest.length;
  if (halves.length === 2 ? missing < 1 : missing !== 0) return undefined;
  const groups = [...head, ...Array<number>(halves.length === 2 ? missing : 0).fill(0), ...rest];
  return groups.some(Number.isNaN) ? undefined : groups;
}

/**
 * What one client's budget is kept under: an IPv4 address as it is (one mapped into IPv6, ::ffff:a.b.c.d
 * however written, unwrapped), an IPv6 address by its /64, the block a single subscriber or host is given,
 * so rotating through the addresses of one's own network buys no extra attempts. A request whose connection
 * has already closed has no address; those share one key, as nobody is there to read their answers.
 */
export function clientKey(address: string | undefined): string {
  if (address === undefined) return 'unknown';
  if (IPV4.test(address)) return address;
  const groups = ipv6Groups(address);
  if (!groups) return address;
  if (groups.slice(0, 5).every((group) => group === 0) && groups[5] === 0xffff) {
    return [groups[6]! >> 8, groups[6]! & 0xff, groups[7]! >> 8, groups[7]! & 0xff].join('.');
  }
  return `${groups
    .slice(0, 4)
    .map((group) => group.toString(16))
    .join(':')}::/64`;
}
