import { EventEmitter } from "node:events";
import type { Context, Service, ServiceSchema, ServiceSettingSchema } from "moleculer";
import { getStatusParams, namespaceStatusParams, type GetParams, type NamespaceParams, type NamespaceView, type StatusChange, type StatusSettings } from "../lib/api/status";
import { appHealth, entityIdOf, healthChanged, namespaceHealth, type AppHealth } from "../lib/health";
import {
	getKubeClient,
	Kinds,
	type KubernetesObject,
	type ResilientInformer,
	type ResourceKind,
	type V1Deployment,
	type V1Ingress,
	type V1PersistentVolumeClaim,
	type V1Pod,
	type V1Secret,
	type V1Service,
} from "../lib/k8s";
import { MANAGED_SELECTOR } from "../lib/manifests/labels";
import { groupByApp, type NamespaceObjects } from "../lib/status/apps";
import type { CallerMeta } from "../mixins/membership.mixin";

// The gateway (services/api.service.ts) serves the streams from here.

interface StatusLocals {
	informers: Map<string, ResilientInformer<KubernetesObject>>;
	/** Ids whose status is due, and the namespace each lives in. */
	pending: Map<string, string>;
	flushTimer?: NodeJS.Timeout;
	/** The last status pushed per id: only changes are pushed. */
	last: Map<string, AppHealth>;
	hub: EventEmitter;
}

/** The service's own methods: `this.<method>` jumps to the code (their type is this object's). */
type StatusMethods = typeof methods;

interface StatusThis extends Service<StatusSettings & ServiceSettingSchema>, StatusMethods, StatusLocals {}

// ---------------------------------------------------------------------------------------------

/** The kinds an app's status is made of; all carry Berth's managed-by label. */
const WATCHED: ResourceKind[] = [Kinds.Deployment, Kinds.Pod, Kinds.Service, Kinds.Ingress, Kinds.PersistentVolumeClaim, Kinds.Secret];

function positive(value: string | undefined, fallback: number): number {
	const n = Number(value);
	return Number.isFinite(n) && n > 0 ? n : fallback;
}

/**
 * v1.k8s.status: every app's aggregated health (lib/health.ts), recomputed when an informer reports
 * a change to one of its objects and pushed to the gateway's Server-Sent-Event streams. The
 * informers are read-only caches, not controllers, so every node that serves streams runs them,
 * not only the leader.
 */
const methods = {
	kindCache<T extends KubernetesObject>(this: StatusThis, kind: ResourceKind, namespace: string): readonly T[] {
		return (this.informers.get(kind.kind)?.list(namespace) ?? []) as readonly T[];
	},

	/** Informer events only say "look at this app"; the flush recomputes it (level-based). */
	enqueue(this: StatusThis, kind: string, obj: KubernetesObject): void {
		const namespace = obj.metadata?.namespace;
		if (!namespace) return;
		if (kind === "PersistentVolumeClaim") {
			// A claim belongs to a volume entity, not to the apps that mount it: look at the namespace's apps.
			for (const id of this.appIds(namespace)) this.pending.set(id, namespace);
		} else {
			const id = entityIdOf(obj);
			if (id) this.pending.set(id, namespace);
		}
		this.flushTimer ??= setTimeout(() => this.flush(), this.settings.debounceMs);
	},

	flush(this: StatusThis): void {
		this.flushTimer = undefined;
		const due = [...this.pending];
		this.pending.clear();
		// One grouping of the caches per namespace, not one scan of them per app (a burst of changes).
		const snapshots = new Map<string, NamespaceObjects>();
		for (const [id, namespace] of due) {
			let objects = snapshots.get(namespace);
			if (!objects) snapshots.set(namespace, (objects = this.snapshot(namespace)));
			const before = this.last.get(id);
			const after = this.compute(id, namespace, before?.name, objects);
			if (!after) {
				// Nothing of it is left (or it never was an app: a job's pod, a volume's claim).
				if (before) {
					this.last.delete(id);
					this.hub.emit("change", { type: "removed", id, namespace } satisfies StatusChange);
				}
				continue;
			}
			if (!healthChanged(before, after)) continue;
			this.last.set(id, after);
			this.hub.emit("change", { type: "status", status: after } satisfies StatusChange);
		}
	},

	snapshot(this: StatusThis, namespace: string): NamespaceObjects {
		return {
			deployments: groupByApp(this.kindCache<V1Deployment>(Kinds.Deployment, namespace)),
			pods: groupByApp(this.kindCache<V1Pod>(Kinds.Pod, namespace)),
			services: groupByApp(this.kindCache<V1Service>(Kinds.Service, namespace)),
			ingresses: groupByApp(this.kindCache<V1Ingress>(Kinds.Ingress, namespace)),
			secrets: groupByApp(this.kindCache<V1Secret>(Kinds.Secret, namespace)),
			claims: [...this.kindCache<V1PersistentVolumeClaim>(Kinds.PersistentVolumeClaim, namespace)],
		};
	},

	/** An app's status; undefined when the cluster holds no Deployment and nothing else of it was an app before. */
	compute(this: StatusThis, id: string, namespace: string, name?: string, objects: NamespaceObjects = this.snapshot(namespace)): AppHealth | undefined {
		const deployment = objects.deployments.get(id)?.[0];
		const pods = objects.pods.get(id) ?? [];
		const services = objects.services.get(id) ?? [];
		const ingresses = objects.ingresses.get(id) ?? [];
		const secrets = objects.secrets.get(id) ?? [];
		// An app was seen with a Deployment; what is left after it goes (pods terminating) is reported as Missing.
		if (!deployment && (!this.last.has(id) || !(pods.length || services.length || ingresses.length || secrets.length))) return undefined;
		return appHealth({ id, namespace, name, deployment, pods, services, ingresses, secrets, claims: objects.claims });
	},

	appIds(this: StatusThis, namespace: string, objects: NamespaceObjects = this.snapshot(namespace)): string[] {
		const ids = new Set<string>(objects.deployments.keys());
		for (const [id, s] of this.last) if (s.namespace === namespace) ids.add(id);
		return [...ids].sort();
	},

	async whenSynced(this: StatusThis): Promise<boolean> {
		const deadline = Date.now() + this.settings.syncTimeoutMs;
		while (this.informers.size && ![...this.informers.values()].every(i => i.hasSynced)) {
			if (Date.now() > deadline) return false;
			await new Promise(r => setTimeout(r, 50));
		}
		return this.informers.size > 0;
	},

	/** The status as the caches have it now; `Missing` when the cluster has nothing of it. */
	current(this: StatusThis, id: string, namespace: string, name?: string): AppHealth {
		return this.compute(id, namespace, name) ?? appHealth({ id, namespace, name });
	},

	inNamespace(this: StatusThis, namespace: string): AppHealth[] {
		const objects = this.snapshot(namespace);
		return this.appIds(namespace, objects)
			.map(id => this.compute(id, namespace, this.last.get(id)?.name, objects))
			.filter((s): s is AppHealth => s !== undefined)
			.sort((a, b) => a.name.localeCompare(b.name));
	},

	subscribe(this: StatusThis, listener: (change: StatusChange) => void): () => void {
		this.hub.on("change", listener);
		return () => this.hub.off("change", listener);
	},

	onStop(this: StatusThis, listener: () => void): () => void {
		this.hub.once("stop", listener);
		return () => this.hub.off("stop", listener);
	},
};

const StatusService: ServiceSchema<StatusSettings & ServiceSettingSchema, StatusMethods, StatusLocals, StatusThis> = {
	name: "k8s.status",
	version: 1,
	settings: {
		heartbeatSeconds: 15,
		debounceMs: 100,
		syncTimeoutMs: 10_000,
	},
	actions: {
		/** One app's status from the caches (mesh only: the gateway's stream checks membership first). */
		get: {
			visibility: "public",
			params: getStatusParams,
			async handler(this: StatusThis, ctx: Context<GetParams, CallerMeta>): Promise<AppHealth | null> {
				await this.whenSynced();
				const dep = this.informers.get(Kinds.Deployment.kind)?.list().find(d => entityIdOf(d) === ctx.params.id);
				if (dep) return this.current(ctx.params.id, dep.metadata?.namespace as string, ctx.params.name);
				const last = this.last.get(ctx.params.id);
				return last ? this.current(ctx.params.id, last.namespace, ctx.params.name) : null;
			},
		},
		/** Every app of one Kubernetes namespace, with the namespace's worst phase (mesh only). */
		namespace: {
			visibility: "public",
			params: namespaceStatusParams,
			async handler(this: StatusThis, ctx: Context<NamespaceParams, CallerMeta>): Promise<NamespaceView> {
				await this.whenSynced();
				const apps = this.inNamespace(ctx.params.name);
				return { namespace: ctx.params.name, ...namespaceHealth(apps), apps };
			},
		},
	},
	methods,
	created(this: StatusThis) {
		this.settings.heartbeatSeconds = positive(process.env.STATUS_HEARTBEAT_SECONDS, this.settings.heartbeatSeconds);
		this.settings.debounceMs = positive(process.env.STATUS_DEBOUNCE_MS, this.settings.debounceMs);
		this.informers = new Map();
		this.pending = new Map();
		this.last = new Map();
		this.hub = new EventEmitter();
		// One listener per open stream: many dashboards are not a leak.
		this.hub.setMaxListeners(0);
	},
	async started(this: StatusThis) {
		const kube = getKubeClient();
		for (const kind of WATCHED) {
			const informer = kube.informer<KubernetesObject>(kind, (_event, obj) => this.enqueue(kind.kind, obj), {
				labelSelector: MANAGED_SELECTOR,
				onError: (err, retryInMs) => this.logger.warn(`${kind.kind} informer failed, restarting in ${retryInMs} ms:`, (err as Error)?.message ?? err),
			});
			this.informers.set(kind.kind, informer);
		}
		await Promise.all([...this.informers.values()].map(i => i.start()));
	},
	async stopped(this: StatusThis) {
		if (this.flushTimer) clearTimeout(this.flushTimer);
		this.hub.emit("stop");
		this.hub.removeAllListeners();
		await Promise.all([...this.informers.values()].map(i => i.stop()));
		this.informers.clear();
	},
};

export default StatusService;

