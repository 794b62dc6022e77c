import { BlockList, isIP } from "node:net";

/**
 * Who a request comes from, behind proxies: TRUSTED_PROXIES lists the proxies (CIDRs or single
 * addresses) whose X-Forwarded-For is believed. Without it, or from any other peer, the socket's
 * address is the client, whatever the header says (anyone can send one).
 */
export type TrustedProxies = BlockList;

/** `::ffff:10.0.0.1` (an IPv4 peer on a dual-stack socket) is 10.0.0.1. */
function plain(address: string): string {
	const a = address.trim();
	return /^::ffff:\d+\.\d+\.\d+\.\d+$/i.test(a) ? a.slice(7) : a;
}

function family(address: string): "ipv4" | "ipv6" {
	return isIP(address) === 6 ? "ipv6" : "ipv4";
}

/** Parses TRUSTED_PROXIES' entries; an entry that is not an address or a CIDR is an error that names it. */
export function trustedProxies(entries: string[]): TrustedProxies {
	const list = new BlockList();
	for (const entry of entries) {
		const [address, prefix, extra] = entry.split("/");
		const ip = plain(address ?? "");
		const bits = prefix === undefined ? (isIP(ip) === 6 ? 128 : 32) : Number(prefix);
		const max = isIP(ip) === 6 ? 128 : 32;
		if (!isIP(ip) || extra !== undefined || !/^\d+$/.test(String(bits)) || bits > max) throw new Error(`TRUSTED_PROXIES: "${entry}" is not an IP address or a CIDR such as 10.0.0.0/8`);
		list.addSubnet(ip, bits, family(ip));
	}
	return list;
}

function isTrusted(trusted: TrustedProxies, address: string): boolean {
	return isIP(address) !== 0 && trusted.check(address, family(address));
}

/**
 * The client's address: the socket's peer, or, when that peer is a trusted proxy, the nearest
 * address in X-Forwarded-For (read from the right) that is not itself a trusted proxy. A malformed
 * entry ends the walk: what lies beyond it cannot be believed.
 */
export function clientAddress(remote: string | undefined, forwardedFor: string | string[] | undefined, trusted: TrustedProxies): string {
	let client = plain(remote ?? "");
	if (!client) return "unknown";
	const hops = [forwardedFor ?? []].flat().join(",").split(",").map(plain).filter(Boolean);
	while (isTrusted(trusted, client) && hops.length) {
		const next = hops.pop() as string;
		if (!isIP(next)) break;
		client = next;
	}
	return client;
}
