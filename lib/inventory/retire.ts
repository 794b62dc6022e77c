/** Retiring what an adoption left behind. */
import type { ControllerRecord } from "./records";
import type { InventoryStore } from "./store";


export interface RetireDecision {
	namespace: string;
	name: string;
	reason: "replaced" | "timeout";
}

/**
 * The orphaned ReplicaSets of adoptions that can go now: the Berth Deployment that replaced them
 * (same name, now managed) has all its pods available, or waiting took longer than `timeoutMs`
 * (a full quota, say, would keep the new pods from starting while the old ones hold it). Until a
 * Berth Deployment of that name exists nothing goes: a failed adoption leaves the pods running.
 * A ReplicaSet some controller took back (the restored Deployment) is not touched.
 */
export function retireDecisions(store: InventoryStore, superseded: Iterable<ControllerRecord>, now: number, opts: { timeoutMs: number }): RetireDecision[] {
	const out: RetireDecision[] = [];
	for (const rs of superseded) {
		if (!rs.supersededBy || rs.owner || !rs.namespace) continue;
		const replacement = store.get("deployments", rs.namespace, rs.supersededBy) as ControllerRecord | undefined;
		if (replacement?.provenance !== "berth") continue;
		const r = replacement.replicas;
		const since = rs.supersededAt ? Date.parse(rs.supersededAt) : Number.NaN;
		const age = Number.isNaN(since) ? Number.POSITIVE_INFINITY : now - since;
		if (r.available >= r.desired && r.updated >= r.desired) out.push({ namespace: rs.namespace, name: rs.name, reason: "replaced" });
		else if (age > opts.timeoutMs) out.push({ namespace: rs.namespace, name: rs.name, reason: "timeout" });
	}
	return out;
}
