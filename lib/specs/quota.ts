/**
 * Whether a deploy fits the namespace's quota. The pod is replaced (Recreate), so only the
 * difference to the running one must fit; a claim counts with what it adds to its current size.
 * The quota's `used` lags behind pods still being created, so the other deployed services' own
 * bookings are a floor under it (lib/quota.ts).
 */
import type { QuotaReport } from "../api/namespaces";
import type { SpecObject } from "../api/services";
import { quotaExceeded } from "../errors";
import type { V1Deployment, V1PersistentVolumeClaim } from "../k8s";
import { claimSizes, podFootprint } from "../manifests/spec";
import { describeShortfalls, quotaShortfalls, withBookedFloor, type QuotaShortfall } from "../quota";
import { claimsOf } from "./checks";

/** Shortfalls as the KITeGG routes show them: whole cores as "2", and how far past `hard` each goes. */
export function specShortfalls(quota: QuotaReport, need: Record<string, number>): QuotaShortfall[] {
	return quotaShortfalls(quota, need, { wholeCores: true, exceededBy: true });
}

/** The reads a quota check may need, done only when it does (no quota: no reads past the first). */
export interface QuotaReads {
	/** The namespace's quota, undefined when it has none. */
	quota(): Promise<QuotaReport | undefined>;
	/** One pod's footprint as the last deploy booked it, if that pod's Deployment still exists; else undefined. */
	runningFootprint(): Promise<Record<string, number> | undefined>;
	/** What the namespace's other deployed services have booked, summed. */
	bookedByOthers(): Promise<Record<string, number>>;
}

/** What a deploy adds to the namespace: the new pod over the running one, and the claims' growth. */
export function deployNeed(perPod: Record<string, number>, running: Record<string, number>, manifests: SpecObject[], live: V1PersistentVolumeClaim[]): Record<string, number> {
	const need: Record<string, number> = {};
	for (const [resource, amount] of Object.entries(perPod)) need[resource] = amount - (running[resource] ?? 0);
	const liveSizes = claimSizes(live);
	for (const [claim, size] of Object.entries(claimSizes(claimsOf(manifests)))) {
		need["requests.storage"] = (need["requests.storage"] ?? 0) + Math.max(0, size - (liveSizes[claim] ?? 0));
		if (liveSizes[claim] === undefined) need.persistentvolumeclaims = (need.persistentvolumeclaims ?? 0) + 1;
	}
	return need;
}

/**
 * Refuses (422 QUOTA_EXCEEDED, each shortfall with what it exceeds by) a spec the namespace's
 * quota cannot hold. Returns one pod's footprint, stored for the next check.
 */
export async function checkDeployQuota(reads: QuotaReads, namespaceName: string, manifests: SpecObject[], live: V1PersistentVolumeClaim[]): Promise<Record<string, number>> {
	const perPod = podFootprint(manifests.find(m => m.kind === "Deployment") as V1Deployment);
	const quota = await reads.quota();
	if (!quota) return perPod;
	const need = deployNeed(perPod, (await reads.runningFootprint()) ?? {}, manifests, live);
	const shortfalls = specShortfalls(withBookedFloor(quota, await reads.bookedByOthers()), need);
	if (shortfalls.length) throw quotaExceeded(`The quota of namespace "${namespaceName}" cannot hold this service (${describeShortfalls(shortfalls)})`, { namespace: namespaceName, shortfalls });
	return perPod;
}
