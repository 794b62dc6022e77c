/**
 * Whether a launch fits: the per-owner limit (APPS_MAX_PER_OWNER), counting only instances launched
 * before this one, and the applications namespace's quota, with Berth's own bookkeeping of every
 * other live instance as a floor under what the cluster reports (its `used` lags behind pods being
 * created).
 */
import { quotaExceeded } from "../errors";
import type { KubeClient, V1ResourceQuota } from "../k8s";
import { QUOTA_NAME } from "../manifests/namespace";
import { describeShortfalls, quotaShortfalls, sumBookings, withBookedFloor } from "../quota";
import { isActive, type ApplicationStore, type StoredApplication } from "./store";

/** A launch is admitted within this long; a `pending` instance older than that lost its launching node. */
export const PENDING_GRACE_MS = 30_000;

function launchedBefore(a: StoredApplication, doc: StoredApplication): boolean {
	return a.createdAt < doc.createdAt || (a.createdAt === doc.createdAt && a.appId < doc.appId);
}

/** The owner's live instances launched before `doc`: launches racing on several nodes see each other, the earliest win. */
export function checkOwnerLimit(live: StoredApplication[], doc: StoredApplication, max: number): void {
	const ahead = live.filter(a => a.appId !== doc.appId && a.owner === doc.owner && a.anonymous === doc.anonymous && isActive(a) && launchedBefore(a, doc));
	if (ahead.length < max) return;
	const who = doc.anonymous ? "Anonymous launches" : `${doc.owner}`;
	throw quotaExceeded(`${who} already ${doc.anonymous ? "have" : "has"} ${ahead.length} instance${ahead.length === 1 ? "" : "s"} deploying or running, the most allowed at once (APPS_MAX_PER_OWNER=${max}); delete one or wait for it to be culled`, {
		limit: "APPS_MAX_PER_OWNER",
		max,
		active: ahead.length,
	});
}

function bookingOf(doc: StoredApplication): Record<string, number> {
	return Object.fromEntries(doc.footprint.map(f => [f.resource, f.amount]));
}

/** Whether one more pod of `doc` fits the namespace's quota, others' bookings included. */
export function checkQuota(quota: { hard?: Record<string, string>; used?: Record<string, string> }, live: StoredApplication[], doc: StoredApplication): void {
	if (!quota.hard || !Object.keys(quota.hard).length) return;
	const booked = sumBookings(live.filter(a => a.appId !== doc.appId).map(bookingOf));
	const shortfalls = quotaShortfalls(withBookedFloor(quota, booked), bookingOf(doc));
	if (shortfalls.length)
		throw quotaExceeded(`The applications namespace's quota cannot hold another "${doc.template}" instance (${describeShortfalls(shortfalls)})`, { namespace: doc.namespaceName, shortfalls });
}

export async function checkLimits(store: ApplicationStore, kube: KubeClient, doc: StoredApplication, maxPerOwner: number): Promise<void> {
	const freshPending = new Date(Date.now() - PENDING_GRACE_MS).toISOString();
	// Only this namespace's: instances elsewhere (APPS_NAMESPACE was another) hold no share of its quota.
	const live = await store.find({
		namespaceName: doc.namespaceName,
		$or: [{ status: { $in: ["deploying", "running"] } }, { status: "pending", createdAt: { $gt: freshPending } }, { cleanup: "pending" }],
	});
	checkOwnerLimit(live, doc, maxPerOwner);
	const rq = await kube.get<V1ResourceQuota>({ apiVersion: "v1", kind: "ResourceQuota", name: QUOTA_NAME, namespace: doc.namespaceName });
	checkQuota({ hard: rq?.status?.hard ?? rq?.spec?.hard, used: rq?.status?.used }, live, doc);
}
