/**
 * TRANSPORTER as Moleculer's NATS transporter options, with its credentials: `nats://user:pass@host:4222`
 * or a token, `nats://token@host:4222` (percent-encoded where needed). Moleculer's own URL handling
 * passes a token as a user name without a password, which a token-protected nats-server refuses,
 * and leaves percent-encoded credentials encoded; these are handled here. Also the start-up checks
 * that go with the transporter: wrong credentials fail with a clear error, an open mesh warns.
 */
import type { BrokerOptions } from "moleculer";
import { connect } from "nats";

export interface NatsOptions {
	servers: string[];
	user?: string;
	pass?: string;
	token?: string;
}

/** Never echoes the URL: it holds the password. */
function parseUrl(url: string): URL {
	try {
		return new URL(url);
	} catch {
		throw new Error("TRANSPORTER is not a valid URL (expected nats://[user:password@|token@]host:port, comma-separated for several servers)");
	}
}

/** The servers and credentials of a `nats://` TRANSPORTER (several URLs comma-separated; the first credentials win). */
export function natsOptionsOf(transporter: string): NatsOptions {
	const urls = transporter.split(",").map(s => s.trim()).filter(Boolean).map(parseUrl);
	const withCredentials = urls.find(u => u.username);
	const options: NatsOptions = { servers: urls.map(u => u.host) };
	if (!withCredentials) return options;
	const user = decodeURIComponent(withCredentials.username);
	const pass = decodeURIComponent(withCredentials.password);
	return pass ? { ...options, user, pass } : { ...options, token: user };
}

const isNats = (transporter: string): boolean => /^nats:\/\//i.test(transporter.trim());

/** What moleculer.config.ts gives the broker: null (in-process), NATS options, or another transporter's string as is. */
export function transporterFor(transporter: string | undefined): BrokerOptions["transporter"] {
	if (!transporter) return null;
	if (!isNats(transporter)) return transporter as BrokerOptions["transporter"];
	return { type: "NATS", options: natsOptionsOf(transporter) } as BrokerOptions["transporter"];
}

/** The one line Berth logs at start when its packets go over a transporter in the clear. */
export function openMeshWarning(config: { transporter?: string; meshSecret?: string }): string | undefined {
	if (!config.transporter || config.meshSecret) return undefined;
	return "TRANSPORTER is set without MESH_SECRET: anything that reaches the transporter can read every call's params and call any action as any user. Set the same MESH_SECRET on every node (docs/operations.md#mesh-trust).";
}

/**
 * Connects once with the TRANSPORTER's credentials before the broker does: Moleculer retries a
 * refused login forever, every 5 s, with a terse log line. A refusal is an error that says what is
 * wrong; any other failure (NATS not up yet) is left to Moleculer's retries.
 */
export async function checkNatsCredentials(transporter: string | undefined): Promise<void> {
	if (!transporter || !isNats(transporter)) return;
	const options = natsOptionsOf(transporter);
	try {
		const conn = await connect({ ...options, reconnect: false, timeout: 10_000 });
		await conn.close();
	} catch (err) {
		const code = (err as { code?: string }).code;
		if (code !== "AUTHORIZATION_VIOLATION") return;
		const sent = options.user ? `user "${options.user}" and its password` : options.token ? "a token" : "no credentials";
		throw new Error(`NATS at ${options.servers.join(", ")} refused the credentials in TRANSPORTER (${sent}): Authorization Violation. Check the user and password (nats://user:password@host:4222) or the token (nats://token@host:4222).`);
	}
}
