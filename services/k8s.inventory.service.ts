import { Errors, type Context, type Service, type ServiceSchema, type ServiceSettingSchema } from "moleculer";
import {
	adoptParams,
	DEFAULT_LIMIT,
	getParams,
	listParams,
	namespaceParams,
	treeParams,
	type AdoptionPlan,
	type AdoptParams,
	type GetParams,
	type InventorySettings,
	type ListParams,
	type NamespaceParams,
	type SummaryView,
	type TreeParams,
} from "../lib/api/inventory";
import type { AccessParams, NamespaceAccess } from "../lib/api/namespaces";
import { imageCandidates } from "../lib/adopt";
import { conflict, found, invalidField, NOT_RETRIED, notFound, unauthorized } from "../lib/errors";
import {
	INVENTORY_KINDS,
	InventoryStore,
	KIND_NAMES,
	expandKind,
	parseLabelSelector,
	retireDecisions,
	toRecord,
	xosTree,
	type ControllerRecord,
	type InventoryKind,
	type InventoryPage,
	type InventoryView,
	type LabelPredicate,
	type NamespaceSummary,
	type XosTree,
} from "../lib/inventory";
import { envWithValues, planAdoption, replaceWithBerth } from "../lib/inventory/adoption";
import { getKubeClient, Kinds, type KubeClient, type KubernetesObject, type ResilientInformer, type V1Deployment } from "../lib/k8s";
import type { CatalogImage, DeploymentEntity } from "../lib/manifests/deployment";
import { isManaged, LABEL_ID } from "../lib/manifests/labels";
import { createControllerMixin, type ControllerMethods } from "../mixins/controller.mixin";
import { isAdmin, isUnscoped, type CallerMeta } from "../mixins/membership.mixin";
import { createRefsMixin, type RefsMethods } from "../mixins/refs.mixin";
import { strictParams } from "../lib/api/rules";

/** The service's own methods: `this.<method>` jumps to the code (their type is this object's). */
type InventoryMethods = typeof methods;

interface InventoryLocals {
	store: InventoryStore;
	informers: ResilientInformer<KubernetesObject>[];
	/** ReplicaSets an adoption left behind, by namespace/name. */
	superseded: Map<string, ControllerRecord>;
	retiring: Set<string>;
	/** Whether this node retires old ReplicaSets (the leader does; every node keeps records). */
	leading: boolean;
	retireTimer?: NodeJS.Timeout;
	sweepTimer?: NodeJS.Timeout;
	kube?: KubeClient;
}

interface InventoryThis extends InventoryMethods, RefsMethods, ControllerMethods, InventoryLocals, Service<InventorySettings & ServiceSettingSchema> {}

/** Metadata the informer's cache needs to tell a relist from a change; the rest lives in the record. */
const CACHE_METADATA = new Set(["name", "namespace", "resourceVersion", "uid"]);

/**
 * Shrinks an object the informer caches to what its cache compares (name, namespace,
 * resourceVersion). The inventory keeps its own compact record, so the cache holding every pod
 * and every Secret's data a second time would only cost memory (client-go's informers offer the
 * same through a transform function).
 */
function slim(obj: KubernetesObject): void {
	for (const key of Object.keys(obj)) if (key !== "metadata" && key !== "kind" && key !== "apiVersion") delete (obj as Record<string, unknown>)[key];
	const meta = obj.metadata as Record<string, unknown> | undefined;
	if (meta) for (const key of Object.keys(meta)) if (!CACHE_METADATA.has(key)) delete meta[key];
}

function key(namespace: string | undefined, name: string): string {
	return `${namespace ?? ""}/${name}`;
}

/**
 * v1.k8s.inventory: everything in the cluster, made by Berth or not, as compact records kept in
 * memory from cluster-wide informers (a restart relists; nothing is stored). Queries are scoped
 * per caller: administrators see every namespace, others the namespaces they own or are members
 * of. `adopt` turns an external Deployment into a Berth deployment entity.
 */
const methods = {
	/** Names of the namespaces the caller may see; undefined: all of them. */
	async visibleNamespaces(this: InventoryThis, ctx: Context<unknown, CallerMeta>): Promise<ReadonlySet<string> | undefined> {
		if (isUnscoped(ctx)) return undefined;
		const confined = ctx.meta?.namespaces;
		if (isAdmin(ctx.meta)) return confined ? new Set(confined) : undefined;
		if (!this.hasService("v1.k8s.namespaces")) return new Set();
		// The namespaces service decides roles and the key's confinement: the one source of access.
		const mine = await ctx.call<NamespaceAccess[], AccessParams>("v1.k8s.namespaces.access", {});
		return new Set(mine.map(ns => ns.name));
	},

	/** The caller's visibility, after checking it covers `namespace` (404 otherwise, as for a missing one). */
	async requireNamespace(this: InventoryThis, ctx: Context<unknown, CallerMeta>, namespace: string): Promise<ReadonlySet<string> | undefined> {
		const visible = await this.visibleNamespaces(ctx);
		const exists = visible ? visible.has(namespace) : Boolean(this.store.get("namespaces", undefined, namespace));
		if (!exists) throw notFound("Namespace", namespace);
		return visible;
	},

	onEvent(this: InventoryThis, kind: InventoryKind, event: "add" | "update" | "delete", obj: KubernetesObject): void {
		const namespace = obj.metadata?.namespace;
		const name = obj.metadata?.name ?? "";
		if (event === "delete") {
			this.store.remove(kind, namespace, name);
			if (kind === "replicasets") this.superseded.delete(key(namespace, name));
			return;
		}
		const rec = toRecord(obj, kind);
		slim(obj);
		if (!rec) return;
		this.store.upsert(kind, rec);
		if (kind === "replicasets") {
			const rs = rec as ControllerRecord;
			if (rs.supersededBy) {
				this.superseded.set(key(namespace, name), rs);
				this.scheduleRetire();
			} else this.superseded.delete(key(namespace, name));
		} else if (kind === "deployments" && this.superseded.size && rec.provenance === "berth") this.scheduleRetire();
	},

	/** Coalesces the bursts of Deployment status updates a rollout makes into one look. */
	scheduleRetire(this: InventoryThis): void {
		if (!this.leading || this.retireTimer) return;
		this.retireTimer = setTimeout(() => {
			this.retireTimer = undefined;
			this.retire().catch(err => this.logger.warn("Retiring adopted ReplicaSets failed; the sweep retries:", (err as Error).message));
		}, 200);
	},

	/** Deletes the old ReplicaSets of adopted Deployments whose Berth pods are up (or that waited too long). */
	async retire(this: InventoryThis): Promise<void> {
		if (!this.kube || !this.superseded.size) return;
		this.fence();
		const decisions = retireDecisions(this.store, this.superseded.values(), Date.now(), { timeoutMs: this.settings.retireTimeoutSeconds * 1000 });
		for (const d of decisions) {
			const k = key(d.namespace, d.name);
			if (this.retiring.has(k)) continue;
			this.retiring.add(k);
			try {
				await this.kube.delete({ apiVersion: "apps/v1", kind: "ReplicaSet", name: d.name, namespace: d.namespace });
				this.logger.info(`Adopted deployment's old ReplicaSet ${k} removed (${d.reason})`);
			} finally {
				this.retiring.delete(k);
			}
		}
	},

	/** A catalog image by id, name or reference; the live image is also tried without Docker Hub's implicit parts. */
	async catalogImage(this: InventoryThis, ctx: Context<unknown, CallerMeta>, ref: string, explicit: boolean): Promise<CatalogImage> {
		for (const candidate of explicit ? [ref] : imageCandidates(ref)) {
			try {
				return await ctx.call<CatalogImage, { name: string }>("v1.k8s.images.getImage", { name: candidate });
			} catch (err) {
				const code = (err as { code?: number }).code;
				if (code !== 404 && code !== 422) throw err;
			}
		}
		throw explicit
			? invalidField("image", `Image "${ref}" is not in the catalog`, ref)
			: invalidField("image", `The Deployment runs "${ref}", which is not in the catalog: name a catalog image in \`image\` to adopt it with that`, ref);
	},

	/** The params an action declares (wherever it runs): adoption passes only what the deployments service accepts. */
	acceptedParams(this: InventoryThis, action: string): Set<string> {
		const list = this.broker.registry.getActionList({ onlyAvailable: true, skipInternal: true, withEndpoints: false }) as unknown as Array<{ name: string; action?: { params?: Record<string, unknown> } }>;
		return new Set(Object.keys(list.find(a => a.name === action)?.action?.params ?? {}));
	},

	/** The live Deployment the caller may adopt: visible, in a Berth namespace the caller owns, not Berth's already. */
	async adoptable(this: InventoryThis, ctx: Context<AdoptParams, CallerMeta>): Promise<V1Deployment> {
		const { namespace, name } = ctx.params;
		const visible = await this.visibleNamespaces(ctx);
		if (visible && !visible.has(namespace)) throw notFound("Deployment", `${namespace}/${name}`);
		if (!this.hasService("v1.k8s.deployments") || !this.hasService("v1.k8s.namespaces") || !this.hasService("v1.k8s.images"))
			throw new Errors.MoleculerRetryableError("Adoption needs the namespaces, images and deployments services", 503, "SERVICE_UNAVAILABLE");
		try {
			// field null: a missing namespace is answered below, as the caller may see it. Adopting
			// needs the admin role there (a smaller role: the lookup's 403).
			await this.lookupNamespace(ctx, namespace, null, "admin");
		} catch (err) {
			if ((err as { code?: number }).code !== 404) throw err;
			if (visible) throw notFound("Deployment", `${namespace}/${name}`);
			throw invalidField("namespace", `"${namespace}" is not a Berth namespace; Berth deployments live in Berth namespaces`, namespace);
		}
		const live = found(await (this.kube ?? getKubeClient()).get<V1Deployment>({ apiVersion: "apps/v1", kind: "Deployment", name, namespace }), "Deployment", `${namespace}/${name}`);
		if (isManaged(live.metadata?.labels)) throw conflict(`Deployment ${namespace}/${name} is already managed by Berth`, { id: live.metadata?.labels?.[LABEL_ID] });
		return live;
	},

	hasService(this: InventoryThis, name: string): boolean {
		return this.broker.registry.hasService(name, undefined as unknown as string);
	},
};

const InventoryService: ServiceSchema<InventorySettings, InventoryMethods, InventoryLocals, InventoryThis> = {
	name: "k8s.inventory",
	version: 1,
	mixins: [createControllerMixin(), createRefsMixin()],
	settings: { rest: "/v1/k8s/inventory", retireTimeoutSeconds: 300, sweepSeconds: 15, orphanWaitSeconds: 30 },
	hooks: {
		before: {
			"*": [
				function requireCaller(ctx: Context<unknown, CallerMeta>) {
					if (!isUnscoped(ctx) && !ctx.meta?.userID) throw unauthorized("This action needs a caller (ctx.meta.userID)");
				},
			],
		},
	},
	actions: {
		/** Counts per kind over what the caller may see, and whether the informers have listed. */
		summary: {
			rest: "GET /",
			summary: "Inventory counts per kind",
			params: {},
			async handler(this: InventoryThis, ctx: Context<Record<string, never>, CallerMeta>): Promise<SummaryView> {
				const visible = await this.visibleNamespaces(ctx);
				const counts: Partial<Record<InventoryKind, number>> = {};
				for (const ns of this.store.namespaces(visible)) {
					counts.namespaces = (counts.namespaces ?? 0) + 1;
					for (const [kind, n] of Object.entries(ns.counts) as [InventoryKind, number][]) counts[kind] = (counts[kind] ?? 0) + n;
				}
				return { synced: this.informers.length === KIND_NAMES.length && this.informers.every(i => i.hasSynced), counts };
			},
		},

		list: {
			rest: "GET /:kind",
			summary: "Browse the inventory by kind, with filters and pages",
			params: listParams,
			async handler(this: InventoryThis, ctx: Context<ListParams, CallerMeta>): Promise<InventoryPage> {
				const p = ctx.params;
				let label: LabelPredicate | undefined;
				if (p.label) {
					try {
						label = parseLabelSelector(p.label);
					} catch (err) {
						throw invalidField("label", (err as Error).message, p.label);
					}
				}
				const visible = p.namespace ? await this.requireNamespace(ctx, p.namespace) : await this.visibleNamespaces(ctx);
				const page = this.store.query(expandKind(p.kind), { visible, namespace: p.namespace, provenance: p.provenance, name: p.name, label, limit: p.limit ?? DEFAULT_LIMIT, offset: p.offset ?? 0 });
				if (p.kind === "namespaces") page.items = page.items.map(r => ({ ...(r as NamespaceSummary), counts: this.store.counts(r.name) }));
				return page;
			},
		},

		getNamespace: {
			rest: "GET /namespaces/:name",
			summary: "One namespace with the number of objects of each kind",
			params: namespaceParams,
			async handler(this: InventoryThis, ctx: Context<NamespaceParams, CallerMeta>): Promise<NamespaceSummary> {
				await this.requireNamespace(ctx, ctx.params.name);
				return found(this.store.namespaces(new Set([ctx.params.name]))[0], "Namespace", ctx.params.name);
			},
		},

		/** One namespace as XOS models it (lib/inventory/tree.ts): whoever may see the namespace, external ones for admins. */
		tree: {
			rest: "GET /tree",
			summary: "A namespace's XOS tree: TrustDomain, Principals, Slices, Instances, ConfigMaps, Secrets (key names), ServicePorts",
			params: treeParams,
			async handler(this: InventoryThis, ctx: Context<TreeParams, CallerMeta>): Promise<XosTree> {
				await this.requireNamespace(ctx, ctx.params.namespace);
				return found(xosTree(this.store, ctx.params.namespace), "Namespace", ctx.params.namespace);
			},
		},

		get: {
			rest: "GET /:kind/:namespace/:name",
			summary: "One object of the inventory",
			params: getParams,
			async handler(this: InventoryThis, ctx: Context<GetParams, CallerMeta>): Promise<InventoryView> {
				const { kind, namespace, name } = ctx.params;
				const what = INVENTORY_KINDS[kind];
				const visible = await this.visibleNamespaces(ctx);
				// Another tenant's namespace looks exactly like a missing object.
				const rec = !visible || visible.has(namespace) ? this.store.get(kind, namespace, name) : undefined;
				return this.store.view(found(rec, what, `${namespace}/${name}`));
			},
		},

		adopt: {
			retryPolicy: NOT_RETRIED,
			rest: "POST /adopt",
			summary: "Adopt an external Deployment into a Berth deployment (dry run unless confirm)",
			params: strictParams(adoptParams),
			/** The plan (lib/inventory/adoption.ts); confirmed, the swap of the live Deployment for Berth's. */
			async handler(this: InventoryThis, ctx: Context<AdoptParams, CallerMeta>): Promise<AdoptionPlan> {
				const live = await this.adoptable(ctx);
				const kube = this.kube ?? getKubeClient();
				const { plan, spec, params } = await planAdoption(live, ctx.params, {
					store: this.store,
					catalogImage: (ref, explicit) => this.catalogImage(ctx, ref, explicit),
					acceptedParams: () => this.acceptedParams("v1.k8s.deployments.create"),
					generate: async p => (await ctx.call<{ manifests: KubernetesObject[] }, Record<string, unknown>>("v1.k8s.deployments.generate", p)).manifests,
				});
				if (!ctx.params.confirm) return plan;
				const env = await envWithValues(kube, spec);
				if (env.length) params.env = env;
				const deployment = await replaceWithBerth(kube, live, {
					orphanWaitMs: this.settings.orphanWaitSeconds * 1000,
					// Marked as an adoption: the create may take over the external objects the plan lists, never another entity's.
					create: () => ctx.call<DeploymentEntity, Record<string, unknown>>("v1.k8s.deployments.create", params, { meta: { adopting: true } }),
					warn: (message, detail) => this.logger.warn(message, detail),
				});
				// A deployment entity was created: 201, and where it lives now.
				Object.assign(ctx.meta, { $statusCode: 201, $location: `/api/v1/k8s/deployments/${deployment.id}` });
				return { ...plan, confirmed: true, deployment };
			},
		},
	},
	methods,
	created(this: InventoryThis) {
		this.store = new InventoryStore();
		this.informers = [];
		this.superseded = new Map();
		this.retiring = new Set();
		this.leading = false;
	},
	async started(this: InventoryThis) {
		// A fresh index: the lists below bring back everything, including what changed while stopped.
		this.store = new InventoryStore();
		this.superseded.clear();
		try {
			this.kube = getKubeClient();
		} catch (err) {
			this.logger.error("No Kubernetes cluster configured; the inventory stays empty:", (err as Error).message);
			return;
		}
		for (const kind of KIND_NAMES) {
			const informer = this.kube.informer<KubernetesObject>(Kinds[INVENTORY_KINDS[kind]], (event, obj) => this.onEvent(kind, event, obj), {
				onError: (err, retryInMs) => this.logger.warn(`${INVENTORY_KINDS[kind]} inventory watch failed, restarting in ${retryInMs} ms:`, (err as Error)?.message ?? err),
			});
			this.informers.push(informer);
		}
		// Each start lists, then watches: the records are all there once this resolves.
		await Promise.all(this.informers.map(i => i.start()));
		this.logger.info(`Inventory listed ${this.store.size()} objects`);
		// Every node keeps the records it serves; one node removes what adoptions left behind.
		await this.runWhileLeading({
			name: "inventory-retire",
			start: () => {
				this.leading = true;
				this.sweepTimer = setInterval(() => this.scheduleRetire(), this.settings.sweepSeconds * 1000);
				this.sweepTimer.unref?.();
				this.scheduleRetire();
			},
			stop: () => {
				this.leading = false;
				if (this.sweepTimer) clearInterval(this.sweepTimer);
			},
		});
	},
	async stopped(this: InventoryThis) {
		if (this.sweepTimer) clearInterval(this.sweepTimer);
		if (this.retireTimer) clearTimeout(this.retireTimer);
		await Promise.all(this.informers.map(i => i.stop()));
		this.informers = [];
	},
};

export default InventoryService;
