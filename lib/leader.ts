import { EventEmitter } from "node:events";
import * as os from "node:os";
import { randomBytes } from "node:crypto";
import { performance } from "node:perf_hooks";
import { Errors } from "moleculer";
import { loadConfig } from "./config";
import { ErrorTypes } from "./errors";
import { getKubeClient, type KubeClient, type V1Lease } from "./k8s";

/**
 * The elector's sense of time. Every deadline and every expiry is measured on `now`, a monotonic
 * clock local to this process; `wall` is only written into the Lease for people and tools to read,
 * and never compared with another node's.
 */
export interface ElectorClock {
	/** Monotonic milliseconds (performance.now). */
	now(): number;
	/** Wall-clock milliseconds since the epoch (Date.now). */
	wall(): number;
}

export const systemClock: ElectorClock = { now: () => performance.now(), wall: () => Date.now() };

/** A clock `skewMs` ahead of `base` (behind when negative): how the fault suite gives one node a wrong clock. */
export function skewedClock(base: ElectorClock, skewMs: number): ElectorClock {
	return skewMs ? { now: () => base.now() + skewMs, wall: () => base.wall() + skewMs } : base;
}

/** One stretch of leadership, in this process's wall-clock ms (for reports; never compared across nodes by the elector). */
export interface LeadershipTerm {
	from: number;
	to?: number;
}

/** The three apiserver calls the elector makes. */
export type LeaseClient = Pick<KubeClient, "get" | "create" | "replace">;

export interface LeaderOptions {
	/** Lease name: one per cluster of Berth nodes. */
	name?: string;
	namespace?: string;
	identity?: string;
	leaseDurationSeconds?: number;
	/**
	 * A leader that has not renewed within this many seconds stops leading (and a renew request
	 * is abandoned once it would pass it). Shorter than the lease; default two thirds of it.
	 */
	renewDeadlineSeconds?: number;
	/** How often the leader renews and candidates retry, in ms; shorter than the renew deadline. */
	retryPeriodMs?: number;
	client?: () => LeaseClient;
	clock?: ElectorClock;
	log?: (msg: string) => void;
}

/** The timings of one elector, in ms, checked against each other. */
export interface LeaderTimings {
	leaseMs: number;
	renewDeadlineMs: number;
	retryPeriodMs: number;
}

/** Reads the timings from the options, else LEADER_LEASE_SECONDS / LEADER_RENEW_DEADLINE_SECONDS; throws if they cannot work. */
export function leaderTimings(opts: Pick<LeaderOptions, "leaseDurationSeconds" | "renewDeadlineSeconds" | "retryPeriodMs">, env: NodeJS.ProcessEnv = process.env): LeaderTimings {
	const leaseS = opts.leaseDurationSeconds ?? Number(env.LEADER_LEASE_SECONDS || 15);
	const deadlineS = opts.renewDeadlineSeconds ?? (env.LEADER_RENEW_DEADLINE_SECONDS ? Number(env.LEADER_RENEW_DEADLINE_SECONDS) : (leaseS * 2) / 3);
	const leaseMs = leaseS * 1000;
	const renewDeadlineMs = Math.floor(deadlineS * 1000);
	if (!(leaseMs > 0)) throw new Error(`LEADER_LEASE_SECONDS must be a positive number, not ${leaseS}`);
	if (!(renewDeadlineMs > 0 && renewDeadlineMs < leaseMs)) throw new Error(`LEADER_RENEW_DEADLINE_SECONDS (${deadlineS}) must be positive and shorter than the lease (${leaseS} s)`);
	const retryPeriodMs = opts.retryPeriodMs ?? Math.floor(Math.min(leaseMs / 3, renewDeadlineMs / 2));
	if (!(retryPeriodMs > 0 && retryPeriodMs < renewDeadlineMs)) throw new Error(`the leader's retry period (${retryPeriodMs} ms) must be positive and shorter than the renew deadline (${renewDeadlineMs} ms)`);
	return { leaseMs, renewDeadlineMs, retryPeriodMs };
}

/** Refused by the fence: this node does not hold the controller Lease, or cannot prove it still does. */
export class NotLeaderError extends Errors.MoleculerRetryableError {
	constructor(reason: string) {
		super(`not the leader: ${reason}`, 503, ErrorTypes.NotLeader, { reason });
	}
}

/**
 * A MicroTime as the apiserver parses it (six fraction digits). client-node would serialize a Date
 * with three, which the apiserver rejects; strings pass through its serializer unchanged.
 */
export function microTime(date: Date): string {
	return date.toISOString().replace(/\.(\d{3})Z$/, ".$1000Z");
}

/** What a candidate last saw of the Lease, and when by its own monotonic clock. */
export interface LeaseObservation {
	/** resourceVersion (or the spec when there is none): any write changes it. */
	version: string;
	holder?: string;
	leaseMs: number;
	/** When this candidate first saw this version (monotonic ms). */
	at: number;
}

/** The observation after seeing `lease` at `now`: unchanged (same `at`) while the Lease is (pure). */
export function observeLease(previous: LeaseObservation | undefined, lease: V1Lease, now: number): LeaseObservation {
	const version = lease.metadata?.resourceVersion ?? JSON.stringify(lease.spec ?? {});
	if (previous?.version === version) return previous;
	const spec = lease.spec ?? {};
	return { version, holder: spec.holderIdentity || undefined, leaseMs: (spec.leaseDurationSeconds ?? 15) * 1000, at: now };
}

/**
 * Whether a Lease held by another may be taken at `now` (pure): when it is free, or when it has
 * not changed for its whole duration as this candidate observed it. The holder's renewTime is
 * never compared with the local clock, so clock skew between nodes does not matter.
 */
export function leaseExpired(observed: LeaseObservation, now: number): boolean {
	return !observed.holder || observed.at + observed.leaseMs <= now;
}

const ABANDONED = Symbol("abandoned");

/** The Lease as written, or undefined when another candidate changed it first (409: a lost race, not an error). */
async function won(write: () => Promise<V1Lease>): Promise<V1Lease | undefined> {
	try {
		return await write();
	} catch (err) {
		if ((err as { code?: number }).code === 409) return undefined;
		throw err;
	}
}

/** `promise`, or a rejection once `ms` have passed (the request itself may still land: see tick). */
function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
	let timer: NodeJS.Timeout | undefined;
	const timeout = new Promise<never>((_, reject) => {
		timer = setTimeout(() => reject(new Error(`${what} took longer than ${Math.round(ms)} ms`)), Math.max(0, ms));
	});
	return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/**
 * Leader election over a coordination.k8s.io Lease, after client-go's leaderelection: exactly one
 * Berth node per cluster runs the controllers (informers, reconcilers, cullers).
 * - A candidate takes a held Lease only once it has seen no change to it for the lease duration,
 *   measured on its own monotonic clock from when it observed the last change.
 * - The leader renews every retry period; one that has not renewed within the renew deadline
 *   (shorter than the lease) stops leading, so it has stopped before anyone may take over. A
 *   renew that hangs is abandoned at the deadline.
 * - `fence()` throws unless the last successful renew is within the renew deadline: leader-only
 *   writes call it first (no apiserver call).
 */
export class LeaderElector extends EventEmitter {
	readonly identity: string;
	readonly timings: LeaderTimings;
	private readonly name: string;
	private readonly namespace: string;
	private readonly clock: ElectorClock;
	private timer?: NodeJS.Timeout;
	private watchdog?: NodeJS.Timeout;
	private leading = false;
	private running = false;
	private firstTick?: Promise<void>;
	/** When the last successful acquire or renew was sent (monotonic ms). */
	private renewedAt = Number.NEGATIVE_INFINITY;
	private observed?: LeaseObservation;
	/** The Lease as this node last wrote it: a leader renews it without reading it first. */
	private written?: V1Lease;
	/** Bumped by every attempt and by stop(): an older attempt that resolves late changes nothing. */
	private attempt = 0;
	private readonly history: LeadershipTerm[] = [];

	constructor(private readonly opts: LeaderOptions = {}) {
		super();
		// Every controller of the node listens for its term; a node runs more than the default 10.
		this.setMaxListeners(0);
		this.name = opts.name ?? process.env.LEADER_LEASE_NAME ?? "berth-controller";
		this.namespace = opts.namespace ?? process.env.LEADER_LEASE_NAMESPACE ?? "default";
		this.identity = opts.identity ?? `${os.hostname()}-${process.pid}-${randomBytes(3).toString("hex")}`;
		this.timings = leaderTimings(opts);
		this.clock = opts.clock ?? skewedClock(systemClock, loadConfig().testClockSkewMs);
	}

	/** When this node led, most recent last (the last 20 terms); what GET /health/metrics reports. */
	get terms(): LeadershipTerm[] {
		return this.history.map(t => ({ ...t }));
	}

	/** Whether this node leads; see fence() for whether it may still act as the leader. */
	get isLeader(): boolean {
		return this.leading;
	}

	/** The holder of the Lease as this node last saw it (undefined: free or not read yet). */
	get observedHolder(): string | undefined {
		return this.observed?.holder;
	}

	/**
	 * The fence of leader-only writes: returns when this node leads and renewed within the renew
	 * deadline, else stops leading (if it still did) and throws a retryable NotLeaderError. Cheap:
	 * it reads two fields and the clock.
	 */
	fence(): void {
		if (!this.leading) throw new NotLeaderError(`${this.identity} does not hold the lease`);
		const since = this.clock.now() - this.renewedAt;
		if (since < this.timings.renewDeadlineMs) return;
		this.setLeading(false, `not renewed for ${Math.round(since)} ms (renew deadline ${this.timings.renewDeadlineMs} ms)`);
		throw new NotLeaderError(`${this.identity} has not renewed its lease within the renew deadline`);
	}

	/** Starts campaigning; resolves after the first attempt, so a free lease is held on return. */
	start(): Promise<void> {
		if (this.running) return this.firstTick ?? Promise.resolve();
		this.running = true;
		this.firstTick = this.tick();
		return this.firstTick;
	}

	/**
	 * Stops campaigning. A leader releases the lease so a successor need not wait it out;
	 * `{release: false}` stops as a crash would (tests of failover use it).
	 */
	async stop(opts: { release?: boolean } = {}): Promise<void> {
		this.running = false;
		this.attempt++;
		if (this.timer) clearTimeout(this.timer);
		this.disarm();
		if (this.leading) {
			this.setLeading(false, "stopped");
			if (opts.release !== false) await within(this.release(), this.timings.renewDeadlineMs, "releasing the lease").catch(() => undefined);
		}
	}

	private client(): LeaseClient {
		return (this.opts.client ?? getKubeClient)();
	}

	/** One attempt to acquire or renew, bounded by what is left of the renew deadline; schedules the next. */
	private async tick(): Promise<void> {
		const attempt = ++this.attempt;
		const sentAt = this.clock.now();
		// Woken past its deadline (a paused process: this timer and the watchdog both overdue): it has
		// stopped leading, and it sends nothing as the leader; it campaigns afresh, reading first.
		if (this.leading) this.checkDeadline();
		// A leader has until its renew deadline; a candidate's attempt is bounded the same way.
		const budget = this.leading ? this.renewedAt + this.timings.renewDeadlineMs - sentAt : this.timings.renewDeadlineMs;
		let held: boolean | undefined;
		try {
			held = await within(this.tryAcquireOrRenew(attempt, sentAt), budget, "renewing the lease");
		} catch (err) {
			if (err === ABANDONED) return;
			this.opts.log?.(`leader election: ${(err as Error).message}`);
		}
		if (attempt !== this.attempt || !this.running) return;
		// A request still in flight is abandoned: whatever it answers later changes nothing here.
		if (held === undefined) this.attempt++;
		if (held) {
			this.renewedAt = sentAt;
			this.arm();
			this.setLeading(true);
		} else if (held === false && this.leading) {
			// Someone else holds the lease (or won the race to it): stop at once, not at the deadline.
			this.setLeading(false, `the lease is held by ${this.observed?.holder ?? "another candidate"}`);
		} else if (this.leading) {
			this.checkDeadline();
		}
		this.schedule(held === undefined && this.leading ? Math.min(this.timings.retryPeriodMs, this.timings.renewDeadlineMs / 4) : this.timings.retryPeriodMs);
	}

	private schedule(delayMs: number): void {
		if (!this.running) return;
		this.timer = setTimeout(() => void this.tick(), delayMs);
	}

	/** true: this node holds the lease now; false: another does. Throws when the apiserver cannot say. */
	private async tryAcquireOrRenew(attempt: number, sentAt: number): Promise<boolean> {
		const client = this.client();
		const ref = { apiVersion: "coordination.k8s.io/v1", kind: "Lease", name: this.name, namespace: this.namespace };
		// A leader renews what it wrote last, one request; a 409 means someone else wrote since: read it.
		if (this.leading && this.written) {
			const renewed = await won(() => client.replace<V1Lease>({ ...(this.written as V1Lease), apiVersion: ref.apiVersion, kind: ref.kind, spec: this.spec(false, this.written) }));
			if (attempt !== this.attempt) throw ABANDONED;
			if (renewed) return this.wrote(renewed, sentAt);
			this.written = undefined;
		}
		const lease = await client.get<V1Lease>(ref);
		if (attempt !== this.attempt) throw ABANDONED;
		if (!lease) {
			const created = await won(() => client.create<V1Lease>({ apiVersion: ref.apiVersion, kind: ref.kind, metadata: { name: this.name, namespace: this.namespace }, spec: this.spec(true) }));
			if (created && attempt === this.attempt) this.wrote(created, sentAt);
			return created !== undefined;
		}
		this.observed = observeLease(this.observed, lease, this.clock.now());
		const mine = this.observed.holder === this.identity;
		if (!mine && !leaseExpired(this.observed, this.clock.now())) return false;
		const written = await won(() => client.replace<V1Lease>({ ...lease, apiVersion: ref.apiVersion, kind: ref.kind, spec: this.spec(!mine, lease) }));
		if (written && attempt === this.attempt) this.wrote(written, sentAt);
		return written !== undefined;
	}

	private wrote(lease: V1Lease, sentAt: number): true {
		this.written = lease;
		this.observed = observeLease(this.observed, lease, sentAt);
		return true;
	}

	private spec(acquiredNow: boolean, current?: V1Lease): V1Lease["spec"] {
		const now = microTime(new Date(this.clock.wall()));
		const acquired = current?.spec?.acquireTime;
		return {
			holderIdentity: this.identity,
			leaseDurationSeconds: this.timings.leaseMs / 1000,
			acquireTime: (acquiredNow || !acquired ? now : microTime(new Date(acquired as unknown as string))) as never,
			renewTime: now as never,
			leaseTransitions: (current?.spec?.leaseTransitions ?? 0) + (acquiredNow && current ? 1 : 0),
		};
	}

	private async release(): Promise<void> {
		const client = this.client();
		const lease = await client.get<V1Lease>({ apiVersion: "coordination.k8s.io/v1", kind: "Lease", name: this.name, namespace: this.namespace });
		if (lease?.spec?.holderIdentity !== this.identity) return;
		await client.replace<V1Lease>({ ...lease, apiVersion: "coordination.k8s.io/v1", kind: "Lease", spec: { leaseDurationSeconds: lease.spec?.leaseDurationSeconds, leaseTransitions: lease.spec?.leaseTransitions } });
	}

	/** Wakes at the renew deadline: without a renew by then, leadership ends. */
	private arm(): void {
		this.disarm();
		const left = this.renewedAt + this.timings.renewDeadlineMs - this.clock.now();
		this.watchdog = setTimeout(() => this.checkDeadline(), Math.max(0, left));
	}

	private disarm(): void {
		if (this.watchdog) clearTimeout(this.watchdog);
		this.watchdog = undefined;
	}

	private checkDeadline(): void {
		if (!this.leading) return;
		const since = this.clock.now() - this.renewedAt;
		if (since >= this.timings.renewDeadlineMs) this.setLeading(false, `not renewed for ${Math.round(since)} ms (renew deadline ${this.timings.renewDeadlineMs} ms)`);
		else this.arm();
	}

	private setLeading(leading: boolean, why?: string): void {
		if (leading === this.leading) return;
		this.leading = leading;
		if (leading) this.history.push({ from: Date.now() });
		else this.history[this.history.length - 1].to = Date.now();
		if (this.history.length > 20) this.history.shift();
		if (!leading) this.disarm();
		this.opts.log?.(leading ? `leader election: ${this.identity} leads` : `leader election: ${this.identity} stopped leading${why ? ` (${why})` : ""}`);
		this.emit(leading ? "started-leading" : "stopped-leading");
	}
}

let shared: LeaderElector | undefined;

/** The process-wide elector (one lease per Berth installation). */
export function getLeaderElector(opts?: LeaderOptions): LeaderElector {
	shared ??= new LeaderElector(opts);
	return shared;
}

/** The process-wide elector if one was made (none on a node without controllers), without making one. */
export function currentLeaderElector(): LeaderElector | undefined {
	return shared;
}

/** Replaces the process-wide elector (tests run several "nodes" in one process). */
export function setLeaderElector(elector: LeaderElector | undefined): void {
	shared = elector;
}
