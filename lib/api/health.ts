/** The contract of the health service: liveness, the node that answered, and readiness. */

/** One readiness check: whether it passed and what it saw (or why it failed). */
export interface ReadinessCheck {
	ok: boolean;
	detail: string;
}

export type ReadinessCheckName = "services" | "db" | "transporter" | "cluster";

/**
 * Whether this node is ready and which checks fail. What each check saw (the apiserver's version,
 * the data path, a DB error's text) is in `checks` only for an admin key's request.
 */
export interface Readiness<Name extends string = ReadinessCheckName> {
	status: "ready" | "unready";
	failing: Name[];
	checks?: Record<Name, ReadinessCheck>;
}

/** What `/health/serving` asks (a Service's readiness probe): readiness without the apiserver. */
export type ServingCheckName = Exclude<ReadinessCheckName, "cluster">;

/** What a caller may see of a readiness result: the details only when `details` (an admin asks). */
export function readinessView<Name extends string>(checks: Record<Name, ReadinessCheck>, details: boolean): Readiness<Name> {
	const failing = (Object.keys(checks) as Name[]).filter(name => !checks[name].ok);
	return { status: failing.length ? "unready" : "ready", failing, ...(details ? { checks } : {}) };
}

export interface Liveness {
	status: "alive";
}

/** Which node answered: lets tests and operators see calls balance across nodes. */
export interface NodeView {
	nodeID: string;
}

/**
 * What this node has done (GET /health/metrics): whether it leads the controllers and since when,
 * and the requests it sent to the apiserver. Counts only, no names.
 */
export interface NodeMetrics {
	nodeID: string;
	/** null on a node that runs no controller (no elector), or with LEADER_ELECTION=false. */
	leading: boolean | null;
	/** Its stretches of leadership, wall-clock ms of this node, the last 20. */
	leadership: { from: number; to?: number }[];
	apiserver: {
		/** Requests by verb (apply, get, list, delete, …) since the process started. */
		byVerb: Record<string, number>;
		/** Requests that changed objects other than the controller Lease. */
		writes: number;
		/** With `?since=<wall-clock ms>`: those sent at or after it (of the last 256), by verb and kind. */
		writesSince?: { at: number; verb: string; kind: string }[];
	};
}
