import { EventEmitter } from "node:events";
import * as os from "node:os";
import { randomBytes } from "node:crypto";
import { getKubeClient, type KubeClient, type V1Lease } from "./k8s";

export interface LeaderOptions {
	/** Lease name: one per cluster of Berth nodes. */
	name?: string;
	namespace?: string;
	identity?: string;
	leaseDurationSeconds?: number;
	/** How often the leader renews and candidates retry, in ms. */
	retryPeriodMs?: number;
	client?: () => KubeClient;
	log?: (msg: string) => void;
}

/**
 * A MicroTime as the apiserver parses it (six fraction digits). client-node would serialize a Date
 * with three, which the apiserver rejects; strings pass through its serializer unchanged.
 */
export function microTime(date: Date): string {
	return date.toISOString().replace(/\.(\d{3})Z$/, ".$1000Z");
}

/** Whether a lease held by someone else has run out at `now` (pure, for tests). */
export function leaseExpired(lease: V1Lease, now: number): boolean {
	const spec = lease.spec ?? {};
	if (!spec.holderIdentity) return true;
	const renewed = spec.renewTime ? new Date(spec.renewTime as unknown as string).getTime() : 0;
	return renewed + (spec.leaseDurationSeconds ?? 15) * 1000 < now;
}

/**
 * Leader election over a coordination.k8s.io Lease, with optimistic concurrency (resourceVersion):
 * exactly one Berth node per cluster runs the controllers (informers, reconcilers, cullers).
 * Another node takes over within the lease duration when the leader dies.
 */
export class LeaderElector extends EventEmitter {
	readonly identity: string;
	private readonly name: string;
	private readonly namespace: string;
	private readonly durationS: number;
	private readonly periodMs: number;
	private timer?: NodeJS.Timeout;
	private leading = false;
	private running = false;
	private firstTick?: Promise<void>;

	constructor(private readonly opts: LeaderOptions = {}) {
		super();
		this.name = opts.name ?? process.env.LEADER_LEASE_NAME ?? "berth-controller";
		this.namespace = opts.namespace ?? process.env.LEADER_LEASE_NAMESPACE ?? "default";
		this.identity = opts.identity ?? `${os.hostname()}-${process.pid}-${randomBytes(3).toString("hex")}`;
		this.durationS = opts.leaseDurationSeconds ?? Number(process.env.LEADER_LEASE_SECONDS || 15);
		this.periodMs = opts.retryPeriodMs ?? Math.max(500, Math.floor((this.durationS * 1000) / 3));
	}

	get isLeader(): boolean {
		return this.leading;
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
		if (this.timer) clearTimeout(this.timer);
		if (this.leading) {
			if (opts.release !== false) await this.release().catch(() => undefined);
			this.setLeading(false);
		}
	}

	private client(): KubeClient {
		return (this.opts.client ?? getKubeClient)();
	}

	private async tick(): Promise<void> {
		try {
			this.setLeading(await this.tryAcquireOrRenew());
		} catch (err) {
			this.opts.log?.(`leader election: ${(err as Error).message}`);
			// Unable to renew: a leader that cannot prove its lease must stop acting as one.
			if (this.leading) this.setLeading(false);
		}
		if (this.running) this.timer = setTimeout(() => void this.tick(), this.periodMs);
	}

	private spec(acquiredNow: boolean, current?: V1Lease): V1Lease["spec"] {
		const now = microTime(new Date());
		return {
			holderIdentity: this.identity,
			leaseDurationSeconds: this.durationS,
			acquireTime: (acquiredNow || !current?.spec?.acquireTime ? now : microTime(new Date(current.spec.acquireTime as unknown as string))) as never,
			renewTime: now as never,
			leaseTransitions: (current?.spec?.leaseTransitions ?? 0) + (acquiredNow && current ? 1 : 0),
		};
	}

	private async tryAcquireOrRenew(): Promise<boolean> {
		const client = this.client();
		const lease = await client.get<V1Lease>({ apiVersion: "coordination.k8s.io/v1", kind: "Lease", name: this.name, namespace: this.namespace });
		if (!lease) {
			await client.create<V1Lease>({ apiVersion: "coordination.k8s.io/v1", kind: "Lease", metadata: { name: this.name, namespace: this.namespace }, spec: this.spec(true) });
			return true;
		}
		const mine = lease.spec?.holderIdentity === this.identity;
		if (!mine && !leaseExpired(lease, Date.now())) return false;
		try {
			await client.replace<V1Lease>({ ...lease, apiVersion: "coordination.k8s.io/v1", kind: "Lease", spec: this.spec(!mine, lease) });
			return true;
		} catch (err) {
			if ((err as { code?: number }).code === 409) return false; // another candidate won the race
			throw err;
		}
	}

	private async release(): Promise<void> {
		const client = this.client();
		const lease = await client.get<V1Lease>({ apiVersion: "coordination.k8s.io/v1", kind: "Lease", name: this.name, namespace: this.namespace });
		if (lease?.spec?.holderIdentity !== this.identity) return;
		await client.replace<V1Lease>({ ...lease, apiVersion: "coordination.k8s.io/v1", kind: "Lease", spec: { leaseDurationSeconds: lease.spec?.leaseDurationSeconds, leaseTransitions: lease.spec?.leaseTransitions } });
	}

	private setLeading(leading: boolean): void {
		if (leading === this.leading) return;
		this.leading = leading;
		this.opts.log?.(leading ? `leader election: ${this.identity} leads` : `leader election: ${this.identity} stopped leading`);
		this.emit(leading ? "started-leading" : "stopped-leading");
	}
}

let shared: LeaderElector | undefined;

/** The process-wide elector (one lease per Berth installation). */
export function getLeaderElector(opts?: LeaderOptions): LeaderElector {
	shared ??= new LeaderElector(opts);
	return shared;
}

/** Replaces the process-wide elector (tests run several "nodes" in one process). */
export function setLeaderElector(elector: LeaderElector | undefined): void {
	shared = elector;
}
