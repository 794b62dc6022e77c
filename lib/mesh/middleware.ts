/**
 * MESH_SECRET on Moleculer's transmit path: every packet a node sends is sealed (lib/mesh/seal.ts),
 * and every packet it receives must open with the same secret, or it is dropped before Moleculer
 * reads it. A node without the secret sees no service and no params, and nothing it sends is
 * accepted. Another team's service joins with one line:
 *
 * ```ts
 * import { meshMiddleware, transporterFor } from "berth";
 * export default { namespace: "berth", transporter: transporterFor(process.env.TRANSPORTER), middlewares: [meshMiddleware(process.env.MESH_SECRET)] };
 * ```
 */
import type { Middleware, ServiceBroker } from "moleculer";
import { deriveMeshKey, openPacket, sealPacket } from "./seal";

type Logger = ServiceBroker["logger"];
type Send = (topic: string, data: Buffer, meta?: { packet?: { type?: string } }) => Promise<void>;
type Receive = (cmd: string, data: Buffer, ...rest: unknown[]) => unknown;

/** What Moleculer calls a packet of unknown type (its PACKET_UNKNOWN). */
const UNKNOWN_TYPE = "???";

/**
 * Warns of refused packets without flooding the log (a hostile node can send many): the first
 * at once, then at most one line a minute with how many were refused since; each one at debug.
 * Never the payload.
 */
export function refusalReporter(logger: Pick<Logger, "warn" | "debug">, everyMs = 60_000, now = Date.now): (type: string, bytes: number) => void {
	let last = -Infinity;
	let unreported = 0;
	return (type, bytes) => {
		logger.debug(`Refused a mesh packet (${type}, ${bytes} bytes)`);
		unreported++;
		if (now() - last < everyMs) return;
		last = now();
		logger.warn(`Refused ${unreported} mesh packet(s) that did not authenticate with MESH_SECRET (last: ${type}, ${bytes} bytes): a node without the secret, or with another one, is on the transporter`);
		unreported = 0;
	};
}

/** The transmit middleware; `secret` is MESH_SECRET (required: a mesh that meant to be sealed must not start open). */
export function meshMiddleware(secret: string | undefined): Middleware {
	if (!secret) throw new Error("meshMiddleware: MESH_SECRET is not set; every node of a Berth mesh needs the same secret");
	const key = deriveMeshKey(secret);
	let refused: (type: string, bytes: number) => void = () => undefined;
	const middleware = {
		name: "BerthMeshSeal",
		created(broker: ServiceBroker) {
			const logger = broker.getLogger("mesh");
			refused = refusalReporter(logger);
			if (broker.transit) logger.info("Mesh packets are sealed with MESH_SECRET (AES-256-GCM)");
		},
		transporterSend(next: Send): Send {
			return (topic, data, meta) => next(topic, sealPacket(key, data, meta?.packet?.type ?? UNKNOWN_TYPE), meta);
		},
		transporterReceive(next: Receive): Receive {
			return (cmd, data, ...rest) => {
				const plaintext = openPacket(key, data, cmd);
				if (!plaintext) return refused(cmd, data.length);
				return next(cmd, plaintext, ...rest);
			};
		},
	};
	// Moleculer's typings declare these hooks as returning a promise, not the wrapped function they are.
	return middleware as unknown as Middleware;
}
