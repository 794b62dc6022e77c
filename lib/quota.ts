/**
 * The one quota check: what a change needs against a namespace's ResourceQuota, with Berth's own
 * bookings as a floor under the quota's `used` (which lags behind pods still being created).
 * Amounts are base units keyed like a ResourceQuota's `hard`: cpu in millicores, memory and
 * storage in bytes, counts as numbers.
 */
import type { QuotaReport } from "./api/namespaces";
import { bytes, cpuMillis, formatBytes, parseQuantity } from "./quantity";

export interface QuotaShortfall {
	/** The quota's key, e.g. `requests.nvidia.com/gpu`, `limits.cpu`, `requests.storage`. */
	resource: string;
	/** What this change adds. */
	requested: string;
	used: string;
	hard: string;
	/** How far past `hard` the namespace would be (with `exceededBy: true`). */
	exceededBy?: string;
}

export interface ShortfallStyle {
	/** Whole cores as "2" instead of "2000m". */
	wholeCores?: boolean;
	/** Add `exceededBy` to each shortfall. */
	exceededBy?: boolean;
}

type Unit = "cpu" | "bytes" | "count";

function unitOf(resource: string): Unit {
	if (resource === "cpu" || resource.endsWith(".cpu")) return "cpu";
	if (/memory|storage/.test(resource)) return "bytes";
	return "count";
}

/** A quota quantity in base units (counts are quantities too: a pods quota of 10000 reads "10k"). */
export function quotaAmount(resource: string, q: string | number): number {
	const unit = unitOf(resource);
	return unit === "cpu" ? cpuMillis(q) : unit === "bytes" ? bytes(q) : parseQuantity(q);
}

export function showAmount(resource: string, n: number, style: ShortfallStyle = {}): string {
	const unit = unitOf(resource);
	if (unit === "cpu") return style.wholeCores && n % 1000 === 0 ? String(n / 1000) : `${n}m`;
	if (unit === "bytes") return formatBytes(n);
	return String(n);
}

/** What `replicas` pods of `perPod` add over what `current` already holds. */
export function scaledNeed(wanted: { replicas: number; perPod: Record<string, number> }, current?: { replicas: number; perPod: Record<string, number> }): Record<string, number> {
	const need: Record<string, number> = {};
	for (const [resource, per] of Object.entries(wanted.perPod)) need[resource] = wanted.replicas * per - (current ? current.replicas * (current.perPod[resource] ?? 0) : 0);
	return need;
}

/** The sum of several bookings. */
export function sumBookings(bookings: Record<string, number>[]): Record<string, number> {
	const total: Record<string, number> = {};
	for (const b of bookings) for (const [resource, n] of Object.entries(b)) total[resource] = (total[resource] ?? 0) + n;
	return total;
}

/** The quota with `used` raised to what Berth has booked where the quota's report is behind. */
export function withBookedFloor(quota: QuotaReport, booked: Record<string, number>): QuotaReport {
	const used: Record<string, string> = { ...(quota.used ?? {}) };
	for (const resource of Object.keys(quota.hard ?? {})) {
		const floor = booked[resource] ?? 0;
		const reported = quota.used?.[resource] === undefined ? 0 : quotaAmount(resource, quota.used[resource]);
		if (floor > reported) used[resource] = unitOf(resource) === "cpu" ? `${floor}m` : String(floor);
	}
	return { hard: quota.hard, used };
}

/** What does not fit: `need` (what a change adds) against each `hard` limit that names it, given `used`. */
export function quotaShortfalls(quota: QuotaReport, need: Record<string, number>, style: ShortfallStyle = {}): QuotaShortfall[] {
	const out: QuotaShortfall[] = [];
	for (const [resource, hardQ] of Object.entries(quota.hard ?? {})) {
		const more = need[resource];
		if (more === undefined || more <= 0) continue;
		const hard = quotaAmount(resource, hardQ);
		const used = quotaAmount(resource, quota.used?.[resource] ?? "0");
		if (used + more <= hard) continue;
		const shortfall: QuotaShortfall = { resource, requested: showAmount(resource, more, style), used: showAmount(resource, used, style), hard: showAmount(resource, hard, style) };
		if (style.exceededBy) shortfall.exceededBy = showAmount(resource, used + more - hard, style);
		out.push(shortfall);
	}
	return out;
}

/** What does not fit when a workload goes from `current` pods to `wanted` pods (`used` counts the current ones). */
export function scaledShortfalls(quota: QuotaReport, wanted: { replicas: number; perPod: Record<string, number> }, current?: { replicas: number; perPod: Record<string, number> }): QuotaShortfall[] {
	return quotaShortfalls(quota, scaledNeed(wanted, current));
}

/** The shortfalls in one sentence, for the error's message. */
export function describeShortfalls(shortfalls: QuotaShortfall[]): string {
	return shortfalls.map(s => `${s.resource}: needs ${s.requested} more, ${s.used} of ${s.hard} ${s.exceededBy ? `used, exceeds it by ${s.exceededBy}` : "already used"}`).join("; ");
}
