import { performance } from "node:perf_hooks";
import type { Service, ServiceSchema } from "moleculer";
import type { NamespaceEntity } from "../lib/api/namespaces";
import { loadConfig } from "../lib/config";
import { checkedWrites, getKubeClient, type KubeClient, type KubernetesObject, type ResilientInformer, type ResourceKind } from "../lib/k8s";
import { getLeaderElector } from "../lib/leader";
import { observeInformerLag, observeReconcile, observeResync, onScrape, setQueueDepth } from "../lib/metrics";
import { OrphanSweeper, type SweepTarget } from "../lib/orphans";
import { Reconciler, type ReconcileResult } from "../lib/reconciler";

/** Something that runs only on the leader: informers, reconcilers, cullers, sweeps. */
export interface Controller {
	name: string;
	start(): Promise<void> | void;
	stop(): Promise<void> | void;
}

/** One kind the controller watches: every event on a matching object enqueues `keyOf(obj)`. */
export interface WatchSpec {
	kind: ResourceKind;
	selector?: string;
	/** Only this namespace (default: all). */
	namespace?: string;
	keyOf(obj: KubernetesObject): string | undefined;
}

export interface ControllerOptions<S> {
	/** For log lines and the reconciler's name. */
	name: string;
	/** What to watch; a function when it depends on settings read in created(). */
	watch?: WatchSpec[] | ((self: S) => WatchSpec[]);
	reconcile(self: S, key: string): Promise<ReconcileResult | void>;
	/** Every key that exists, for the resync that heals missed events. */
	listKeys(self: S): Promise<string[]>;
	/** Default RESYNC_SECONDS. */
	resyncMs?(self: S): number;
	/**
	 * true: the reconciler runs on every node, so an action waits for its own node's apply (no hop to
	 * the leader); the watches and the resync still run on the leader only. false: the reconciler,
	 * its watches and its resync all run on the leader only, and `reconciler` is undefined elsewhere.
	 */
	everyNode: boolean;
	/** More leader-only work (cullers, sweeps), started after the watches and stopped before them. */
	whileLeading?: { start(self: S): Promise<void> | void; stop(self: S): Promise<void> | void };
	/** The objects the service applies, swept by the leader when their entity is gone (lib/orphans.ts). */
	orphans?(self: S): SweepTarget;
}

export interface ControllerMethods {
	/**
	 * Runs `controller` whenever this node holds the controller Lease, and stops it when it loses it.
	 * Resolves once it has started, when this node already leads.
	 */
	runWhileLeading(controller: Controller): Promise<void>;
	/** The watch caches by kind once every one has listed; undefined off the leader or before. */
	syncedCaches(): Map<string, ResilientInformer<KubernetesObject>> | undefined;
	/**
	 * The fence of leader-only writes: throws a retryable NotLeaderError unless this node holds the
	 * Lease and renewed it within the renew deadline (no apiserver call). A no-op without election.
	 * Leader-only reconcilers call it before every run; call it before other leader-only writes.
	 */
	fence(): void;
	/** The Kubernetes client for leader-only work: every write it sends passes the fence first. */
	leaderKube(): KubeClient;
}

export interface ControllerLocals {
	/** Running on every node (everyNode), or only while this node leads. */
	reconciler?: Reconciler;
	/** The leader's watches over the managed kinds, by kind (empty on other nodes). */
	watches: Map<string, ResilientInformer<KubernetesObject>>;
}

type Self = Service & ControllerMethods & ControllerLocals & { $controllers: Controller[]; $controllersRunning: boolean; $onLead?: () => void; $onLose?: () => void; $resyncTimer?: NodeJS.Timeout; $sweepTimer?: NodeJS.Timeout; $metricsOff?: () => void };

/** Leader election is on unless LEADER_ELECTION=false (then every node runs its controllers). */
function electionEnabled(): boolean {
	return process.env.LEADER_ELECTION !== "false";
}

function newReconciler<S>(self: Self, opts: ControllerOptions<S>): Reconciler {
	return new Reconciler({
		name: opts.name,
		concurrency: loadConfig().reconcileConcurrency,
		// A leader-only run starts only while the lease is held and fresh; a refused run is retried.
		reconcile: async key => {
			if (!opts.everyNode) self.fence();
			return opts.reconcile(self as unknown as S, key);
		},
		listKeys: () => opts.listKeys(self as unknown as S),
		logger: self.logger,
		onRun: (seconds, ok) => observeReconcile(self.broker, opts.name, seconds, ok),
		onResync: (keys, seconds) => {
			observeResync(self.broker, opts.name, keys, seconds);
			self.logger.debug(`Resync of ${opts.name}: ${keys} keys reconciled in ${seconds.toFixed(1)} s`);
		},
	});
}

/** Whether the fence lets this node act as the leader now (it stops leading there if it may not). */
function isFenced(self: Self): boolean {
	try {
		self.fence();
		return true;
	} catch {
		return false;
	}
}

/** The leader's orphan sweep of the service's objects, every ORPHAN_SWEEP_SECONDS (none with 0); the first after one period. */
function startSweep<S>(self: Self, opts: ControllerOptions<S>): NodeJS.Timeout | undefined {
	const { orphanSweepSeconds, orphanGraceSeconds } = loadConfig();
	if (!opts.orphans || !orphanSweepSeconds) return undefined;
	const target = opts.orphans(self as unknown as S);
	const sweeper = new OrphanSweeper();
	const deps = {
		get kube(): KubeClient {
			return getKubeClient();
		},
		namespaces: () => self.broker.call<NamespaceEntity[], object>("v1.k8s.namespaces.find", { query: {}, scope: false }),
		fence: () => self.fence(),
		graceMs: orphanGraceSeconds * 1000,
		now: () => performance.now(),
	};
	let sweeping = false;
	const timer = setInterval(async () => {
		if (sweeping) return;
		sweeping = true;
		try {
			for (const what of (await sweeper.sweep(target, deps)).deleted) self.logger.warn(`Orphan sweep: deleted ${what}, whose entity no longer exists`);
		} catch (err) {
			self.logger.warn(`Orphan sweep of ${opts.name} failed; the next one tries again:`, (err as Error).message);
		} finally {
			sweeping = false;
		}
	}, orphanSweepSeconds * 1000);
	timer.unref?.();
	return timer;
}

/** The leader's half: watches, the periodic resync and the extra loops; on every node's reconciler or its own. */
function leaderController<S>(self: Self, opts: ControllerOptions<S>): Controller {
	return {
		name: opts.name,
		start: async () => {
			if (!opts.everyNode) {
				self.reconciler = newReconciler(self, opts);
				self.reconciler.start();
			}
			const kube = getKubeClient();
			const specs = typeof opts.watch === "function" ? opts.watch(self as unknown as S) : (opts.watch ?? []);
			// What the watches and the resync trigger is leader work, on every-node reconcilers too: a node
			// woken past its renew deadline (its watch delivering what it buffered) enqueues nothing.
			const leads = () => isFenced(self);
			for (const spec of specs) {
				const informer: ResilientInformer<KubernetesObject> = kube.informer<KubernetesObject>(
					spec.kind,
					(_event, obj, writtenAt) => {
						// The initial list's objects were written long ago: only live events say how late they come.
						if (informer.hasSynced) observeInformerLag(self.broker, spec.kind.kind, writtenAt);
						const key = spec.keyOf(obj);
						if (key && leads()) self.reconciler?.enqueue(key);
					},
					{ namespace: spec.namespace, labelSelector: spec.selector, onError: (err, retryInMs) => self.logger.warn(`${spec.kind.kind} watch failed, restarting in ${retryInMs} ms:`, (err as Error)?.message ?? err) },
				);
				self.watches.set(spec.kind.kind, informer);
			}
			await Promise.all([...self.watches.values()].map(i => i.start()));
			const resyncMs = opts.resyncMs?.(self as unknown as S) ?? loadConfig().resyncSeconds * 1000;
			self.$resyncTimer = setInterval(() => void (leads() && self.reconciler?.resync()), resyncMs);
			self.$resyncTimer.unref?.();
			// Whatever changed while no node was watching is healed now, not at the next resync.
			await self.reconciler?.resync();
			await opts.whileLeading?.start(self as unknown as S);
			self.$sweepTimer = startSweep(self, opts);
		},
		stop: async () => {
			if (self.$sweepTimer) clearInterval(self.$sweepTimer);
			self.$sweepTimer = undefined;
			await opts.whileLeading?.stop(self as unknown as S);
			if (self.$resyncTimer) clearInterval(self.$resyncTimer);
			self.$resyncTimer = undefined;
			const watches = [...self.watches.values()];
			self.watches = new Map();
			await Promise.all(watches.map(i => i.stop()));
			if (!opts.everyNode) {
				const reconciler = self.reconciler;
				self.reconciler = undefined;
				await reconciler?.stop();
			}
		},
	};
}

/**
 * A service's controller, declared in one call: its reconciler, the informers over the kinds it
 * manages, the periodic resync and the Lease that decides which node watches. Without options the
 * mixin only offers runWhileLeading (for services whose leader-only work is not a reconciler).
 * List it first among a service's mixins: Moleculer runs the mixins' started() handlers last-listed
 * first, and the controller's needs the DB mixin's to have run.
 */
export function createControllerMixin<S = Service>(opts?: ControllerOptions<S>): Partial<ServiceSchema> {
	const schema: Partial<ServiceSchema<Record<string, never>, ControllerMethods, Record<string, unknown>, Self>> = {
		methods: {
			async runWhileLeading(this: Self, controller: Controller) {
				this.$controllers.push(controller);
				if (this.$controllersRunning) await Promise.resolve(controller.start()).catch(err => this.logger.error(`Controller ${controller.name} failed to start`, err));
			},
			syncedCaches(this: Self) {
				const watches = [...this.watches.values()];
				return watches.length && watches.every(i => i.hasSynced) ? this.watches : undefined;
			},
			fence(this: Self) {
				if (electionEnabled()) getLeaderElector().fence();
			},
			leaderKube(this: Self) {
				return checkedWrites(getKubeClient(), () => this.fence());
			},
		},
		created(this: Self) {
			this.$controllers = [];
			this.$controllersRunning = false;
			this.watches = new Map();
		},
		async started(this: Self) {
			if (opts) this.$metricsOff = onScrape(this.broker, () => setQueueDepth(this.broker, opts.name, this.reconciler?.pending ?? 0));
			if (opts?.everyNode) {
				this.reconciler = newReconciler(this, opts);
				this.reconciler.start();
			}
			// Registered here, not in created(): a controller may start at once, and it needs the DB.
			if (opts) this.$controllers.push(leaderController(this, opts));
			const startAll = async () => {
				if (this.$controllersRunning) return;
				this.$controllersRunning = true;
				for (const c of this.$controllers) await Promise.resolve(c.start()).catch(err => this.logger.error(`Controller ${c.name} failed to start`, err));
			};
			const stopAll = async () => {
				if (!this.$controllersRunning) return;
				this.$controllersRunning = false;
				for (const c of this.$controllers) await Promise.resolve(c.stop()).catch(err => this.logger.warn(`Controller ${c.name} failed to stop`, err));
			};
			if (!electionEnabled()) return startAll();
			const elector = getLeaderElector({ log: msg => this.logger.info(msg) });
			this.$onLead = () => void startAll();
			this.$onLose = () => void stopAll();
			elector.on("started-leading", this.$onLead);
			elector.on("stopped-leading", this.$onLose);
			await elector.start();
			if (elector.isLeader) await startAll();
		},
		async stopped(this: Self) {
			this.$metricsOff?.();
			this.$controllersRunning = false;
			const elector = electionEnabled() ? getLeaderElector() : undefined;
			if (elector && this.$onLead) elector.off("started-leading", this.$onLead);
			if (elector && this.$onLose) elector.off("stopped-leading", this.$onLose);
			for (const c of this.$controllers) await Promise.resolve(c.stop()).catch(() => undefined);
			await this.reconciler?.stop();
			// The last service to stop hands the lease over, so a successor need not wait it out.
			if (elector && elector.listenerCount("started-leading") === 0) await elector.stop();
		},
	};
	return schema as Partial<ServiceSchema>;
}
