/** The contract of the health service: liveness, the node that answered, and readiness. */

/** One readiness check: whether it passed and what it saw (or why it failed). */
export interface ReadinessCheck {
	ok: boolean;
	detail: string;
}

export interface Readiness {
	status: "ready" | "unready";
	checks: Record<"services" | "db" | "transporter" | "cluster", ReadinessCheck>;
}

export interface Liveness {
	status: "alive";
}

/** Which node answered: lets tests and operators see calls balance across nodes. */
export interface NodeView {
	nodeID: string;
}
