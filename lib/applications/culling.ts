/**
 * When an ephemeral application goes away. Pure: the instance's times and the policy in, a decision
 * out; the caller supplies `now`. The applications service records the decision in the DB before
 * it deletes anything, so a restart resumes a cull instead of losing or repeating it.
 */

export interface CullPolicy {
	/** An instance with no activity for this long is culled. */
	idleMs: number;
	/** An instance older than this is culled whatever its activity; 0: no limit. */
	maxAgeMs: number;
	/** An instance not Ready this long after launch has failed; 0: no limit. */
	startTimeoutMs: number;
}

export interface CullSubject {
	status: "deploying" | "running";
	/** ISO timestamps. */
	createdAt: string;
	lastActivityAt: string;
}

export type CullReason = "idle" | "max-age";

export type CullDecision =
	| { action: "keep"; /** Look again after this long: the nearest deadline. */ recheckInMs: number }
	| { action: "cull"; reason: CullReason }
	| { action: "fail"; reason: "start-timeout" };

export const DEFAULT_POLICY: CullPolicy = Object.freeze({ idleMs: 3600_000, maxAgeMs: 24 * 3600_000, startTimeoutMs: 600_000 });

function seconds(value: string | undefined, fallbackMs: number, allowZero: boolean): number {
	if (value === undefined || value.trim() === "") return fallbackMs;
	const n = Number(value);
	if (!Number.isFinite(n) || n < 0 || (n === 0 && !allowZero)) return fallbackMs;
	return Math.round(n * 1000);
}

/**
 * The instance's own policy: its idle limit when its launch asked for one (binder's
 * `cull-timeout`), the operator's otherwise.
 */
export function instancePolicy(policy: CullPolicy, instance: { idleMs?: number }): CullPolicy {
	return instance.idleMs && instance.idleMs > 0 ? { ...policy, idleMs: instance.idleMs } : policy;
}

/** The idle limits (seconds) a launch may ask for: APPS_CULL_TIMEOUT_BOUNDS, `min-max`. */
export type IdleBounds = [number, number];

export const DEFAULT_IDLE_BOUNDS: IdleBounds = [60, 86400];

/** "60-86400" → [60, 86400] (whole seconds, 1 ≤ min ≤ max); anything else → the default. */
export function idleBoundsFromEnv(env: NodeJS.ProcessEnv = process.env): IdleBounds {
	const m = /^\s*(\d+)\s*-\s*(\d+)\s*$/.exec(env.APPS_CULL_TIMEOUT_BOUNDS ?? "");
	const [lo, hi] = m ? [Number(m[1]), Number(m[2])] : [NaN, NaN];
	return lo >= 1 && lo <= hi ? [lo, hi] : [...DEFAULT_IDLE_BOUNDS];
}

/** A requested idle limit (seconds), brought within the operator's bounds, in ms; none asked: undefined. */
export function requestedIdleMs(seconds: number | null | undefined, bounds: IdleBounds): number | undefined {
	if (seconds === undefined || seconds === null || !Number.isFinite(seconds)) return undefined;
	return Math.round(Math.min(bounds[1], Math.max(bounds[0], seconds)) * 1000);
}

/** APPS_IDLE_SECONDS (3600), APPS_MAX_AGE_SECONDS (86400, 0: none), APPS_START_TIMEOUT_SECONDS (600, 0: none). */
export function cullPolicyFromEnv(env: NodeJS.ProcessEnv = process.env): CullPolicy {
	return {
		idleMs: seconds(env.APPS_IDLE_SECONDS, DEFAULT_POLICY.idleMs, false),
		maxAgeMs: seconds(env.APPS_MAX_AGE_SECONDS, DEFAULT_POLICY.maxAgeMs, true),
		startTimeoutMs: seconds(env.APPS_START_TIMEOUT_SECONDS, DEFAULT_POLICY.startTimeoutMs, true),
	};
}

function time(iso: string): number {
	const t = Date.parse(iso);
	return Number.isFinite(t) ? t : 0;
}

/** The moments the policy acts on this instance (ms since the epoch); undefined when it never does. */
export function deadlines(subject: CullSubject, policy: CullPolicy): { idle: number; maxAge?: number; start?: number } {
	const created = time(subject.createdAt);
	// Activity cannot predate the launch (a clock skewed between nodes would otherwise cull at once).
	const active = Math.max(time(subject.lastActivityAt), created);
	return {
		idle: active + policy.idleMs,
		maxAge: policy.maxAgeMs > 0 ? created + policy.maxAgeMs : undefined,
		start: subject.status === "deploying" && policy.startTimeoutMs > 0 ? created + policy.startTimeoutMs : undefined,
	};
}

/** The earliest moment this instance will be culled if nothing happens (ISO), for clients. */
export function cullAt(subject: CullSubject, policy: CullPolicy): string {
	const d = deadlines(subject, policy);
	return new Date(Math.min(d.idle, d.maxAge ?? Infinity)).toISOString();
}

/** Max age wins over a start timeout, which wins over idleness: the most definite reason is recorded. */
export function cullDecision(subject: CullSubject, policy: CullPolicy, now: number): CullDecision {
	const d = deadlines(subject, policy);
	if (d.maxAge !== undefined && now >= d.maxAge) return { action: "cull", reason: "max-age" };
	if (d.start !== undefined && now >= d.start) return { action: "fail", reason: "start-timeout" };
	if (now >= d.idle) return { action: "cull", reason: "idle" };
	const next = Math.min(d.idle, d.maxAge ?? Infinity, d.start ?? Infinity);
	return { action: "keep", recheckInMs: Math.max(0, next - now) };
}

/**
 * How stale a recorded activity may get before a poll writes a new one: polls come often, and
 * a write each time would cost more than the precision is worth. A tenth of the idle timeout,
 * between 250 ms and a minute.
 */
export function activityResolutionMs(policy: CullPolicy): number {
	return Math.min(60_000, Math.max(250, Math.floor(policy.idleMs / 10)));
}

/** Whether an activity at `now` needs recording, given the one on record. */
export function activityDue(lastActivityAt: string, policy: CullPolicy, now: number): boolean {
	return now - time(lastActivityAt) >= activityResolutionMs(policy);
}
