import type { Readable } from "node:stream";
import type { Context, ServiceSchema, ServiceSettingSchema } from "moleculer";
import { createParams, idParams, listParams, logsParams, lookupParams, scaleParams, updateParams } from "../lib/api/deployments";
import type { ApplyView, CreateDeploymentParams, EnvParam, FindParams, GenerateView, IdParams, ListParams, LogsParams, LookupParams, PodLogs, ScaleParams, StateView, UpdateDeploymentParams } from "../lib/api/deployments";
import type { CreateFromImageParams, EnvTarget } from "../lib/api/envs";
import type { LookupParams as NamespaceLookup, NamespaceRef } from "../lib/api/namespaces";
import { readVisibleAction, withoutDbActions, type RestMeta } from "../lib/api/rest";
import { loadConfig } from "../lib/config";
import { keyStillUsable, pokeAccessWatches } from "../lib/access-watch";
import { checkScalable } from "../lib/deployments/autoscale";
import { checkJoint, checkShape, draftOf, footprintOf, parseSince } from "../lib/deployments/checks";
import { createDeployment } from "../lib/deployments/create";
import { deploymentEvents, deploymentTop, followLogs, liveStatus, logPods, podsOf, readLogs } from "../lib/deployments/live";
import { streamOwner } from "../lib/reads";
import { deleteGenerated, desiredManifests, draftManifests, dryRun, entityIdOf, liveCacheOf, ImageCache, orphanedStatus, reconcileDeployment, SWEPT_KINDS, WATCH_SELECTOR, WATCHED_KINDS, type PassDeps } from "../lib/deployments/reconcile";
import { checkQuota, checkReferences, type ReferenceDeps } from "../lib/deployments/references";
import { resolveMountsHook } from "../lib/deployments/mounts";
import { changesOf, decodeDeployment, encodeChange, PUBLIC_FIELDS, withChanges, type StoredDeployment } from "../lib/deployments/store";
import { found, invalidField, NOT_RETRIED, notFound } from "../lib/errors";
import { getKubeClient, type KubernetesObject } from "../lib/k8s";
import { isAdopting } from "../lib/ownership";
import { recordRevision } from "../lib/revisions/record";
import { admitIntoNamespace } from "../lib/namespaces/identity";
import { podState, statusChanged, type CatalogImage, type DeploymentEntity, type DeploymentStatus, type PodState } from "../lib/manifests/deployment";
import { createControllerMixin, type ControllerLocals, type ControllerMethods } from "../mixins/controller.mixin";
import { COLLECTION_CHANGED, createDbMixin, type DbBackedService } from "../mixins/db.mixin";
import { createMembershipMixin, type CallerMeta, type MembershipMethods } from "../mixins/membership.mixin";
import { createRefsMixin, type RefsMethods } from "../mixins/refs.mixin";
import { strictParams } from "../lib/api/rules";

export interface DeploymentsSettings extends ServiceSettingSchema {
	rest: string;
	baseDomain: string;
	resyncSeconds: number;
	nodePortRange: [number, number];
}

/** The service's own methods: `this.<method>` jumps to the code (their type is this object's). */
type DeploymentsMethods = typeof methods;

interface DeploymentsLocals extends ControllerLocals {
	/** Serializes creates of one namespace/name in this node (the DB has no compound unique index on NeDB). */
	creating: Set<string>;
	/** Entities whose next pass applies even if the caches say nothing differs (the apply action). */
	forceApply: Set<string>;
	/** The catalog images the passes build from (an action's fresh one included). */
	images: ImageCache;
}

/** The db mixin's publicView, typed: the public fields of a deployment. */
type DeploymentView = { publicView(doc: StoredDeployment): DeploymentEntity };
interface DeploymentsThis extends DbBackedService<DeploymentView & DeploymentsMethods & RefsMethods & MembershipMethods & ControllerMethods & DeploymentsLocals & { settings: DeploymentsSettings }> {}

/** A read of the live cluster about a deployment the caller may see (404 otherwise). */
const liveRead = <R>(rest: string, read: (self: DeploymentsThis, doc: StoredDeployment) => Promise<R>) => readVisibleAction<DeploymentsThis, StoredDeployment, R>(rest, idParams, read);

/** create, and createDeployment (the seed's name for it): one handler, the same params (lib/deployments/create.ts). */
const createAction = {
	retryPolicy: NOT_RETRIED, params: strictParams(createParams),
	handler(this: DeploymentsThis, ctx: Context<CreateDeploymentParams, CallerMeta & RestMeta>): Promise<DeploymentEntity> {
		return createDeployment(this, ctx);
	},
};

/**
 * Deployments of catalog images: a Deployment, its Service, an Ingress and a ConfigMap of files per
 * entity, applied by server-side apply. Actions write the entity and ask the reconciler; the
 * reconciler (entity changes, env changes, watch events, periodic resync) makes the cluster match.
 */
const methods = {
	references(this: DeploymentsThis): ReferenceDeps {
		const grants = async (namespace: string) => (await this.broker.call<NamespaceRef, NamespaceLookup & { scope: false }>("v1.k8s.namespaces.lookup", { ref: namespace, scope: false })).domains ?? [];
		return { kube: getKubeClient(), findRaw: query => this.findRaw<StoredDeployment>(query), baseDomain: this.settings.baseDomain, nodePortRange: this.settings.nodePortRange, grants };
	},

	passDeps(this: DeploymentsThis): PassDeps {
		const caches = this.syncedCaches();
		const kube = getKubeClient();
		return {
			kube,
			baseDomain: this.settings.baseDomain,
			cache: () => (caches ? liveCacheOf(caches) : undefined),
			load: id => this.loadDoc<StoredDeployment>(id),
			image: doc => this.images.resolve(doc.image, () => this.resolveImage(this.systemContext(), doc.image)),
			forced: id => this.forceApply.delete(id),
			writeStatus: this.writeStatus.bind(this),
			teardown: this.teardown.bind(this),
			requeue: id => this.reconciler?.enqueue(id),
			admit: doc => admitIntoNamespace({ kube, orphan: (d, why) => this.writeStatus(d, orphanedStatus(d, why, new Date().toISOString())), bind: async (d, namespaceUid) => void (await this.patchEntity(this.systemContext(), d.id, { namespaceUid })) }, doc),
			withdraw: doc => deleteGenerated(kube, doc),
		};
	},

	/**
	 * Checks a change (references, the apiserver's dry run, the quota), stores it and applies it. A
	 * change of replicas or restartedAt only (a scale, a restart) touches no reference and no
	 * manifest's validity: only the quota is checked, with the footprint already booked. The quota
	 * check and the store are one step for the namespace, against the deployment as it is stored
	 * then (a racing scale may have changed it).
	 */
	async applyChange(this: DeploymentsThis, ctx: Context<unknown, CallerMeta>, doc: StoredDeployment, changes: Partial<StoredDeployment>, image?: CatalogImage): Promise<DeploymentEntity> {
		let footprint = doc.footprint;
		if (!footprint || !Object.keys(changes).every(k => k === "replicas" || k === "restartedAt")) {
			image ??= await this.resolveImage(ctx, doc.image);
			({ footprint } = await this.checkDraft(ctx, withChanges(doc, changes), image, doc));
		}
		if (image) this.images.remember(image);
		await this.withAdmission(ctx, doc.namespace, async quota => {
			const current = (await this.loadDoc<StoredDeployment>(doc.id)) ?? doc;
			await checkQuota(this.references(), quota, withChanges(current, changes), footprint, current);
			await this.patchEntity(ctx, doc.id, encodeChange({ ...changes, footprint }));
		});
		await this.reconciler?.sync(doc.id).catch(err => this.logger.warn(`Applying deployment ${doc.id} failed; the reconciler retries:`, (err as Error).message));
		const entity = this.publicView(found(await this.loadDoc<StoredDeployment>(doc.id), "Deployment", doc.id));
		ctx.emit("k8s.deployments.updated", entity);
		return entity;
	},

	/**
	 * What a draft must pass before its quota check (so, outside the admission): references and
	 * names, and the apiserver's dry run with the ownership of the names. Returns the footprint to
	 * book and what an adoption takes over.
	 */
	async checkDraft(this: DeploymentsThis, ctx: Context<unknown, CallerMeta>, draft: StoredDeployment, image: CatalogImage, current?: StoredDeployment): Promise<{ footprint: Record<string, number>; taken: KubernetesObject[] }> {
		await checkReferences(this.references(), draft, image, current);
		const taken = await dryRun(getKubeClient(), this.settings.baseDomain, draft, image, { current, adopt: isAdopting(ctx.meta) });
		return { footprint: footprintOf(image, draft.resources), taken };
	},

	/**
	 * The image's env declarations and the caller's `env`, through v1.k8s.envs, which is handed the
	 * deployment and the image instead of looking them up (the deployment is not visible to a
	 * lookup yet, and deployments is waiting on envs).
	 */
	async writeEnvs(this: DeploymentsThis, ctx: Context<unknown, CallerMeta>, dep: EnvTarget, image: CatalogImage, env: EnvParam[]): Promise<void> {
		if (!this.hasService("v1.k8s.envs")) {
			if (env.length) throw invalidField("env", "Env vars need the v1.k8s.envs service, which is not running");
			return;
		}
		const { id, name, namespace, namespaceName, namespaceUid, owner, members } = dep;
		const target = { id, name, namespace, namespaceName, namespaceUid, owner, members: members ?? [] };
		await ctx.call<unknown, CreateFromImageParams>("v1.k8s.envs.createEnv", { namespace: dep.namespace, deployment: dep.id, image: image.id, env, target, declared: image.env ?? [], scope: false });
	},

	/** Deletes every object generated for the entity (env objects too), then the entity. */
	async teardown(this: DeploymentsThis, doc: StoredDeployment): Promise<void> {
		const ctx = this.systemContext();
		if (this.hasService("v1.k8s.envs")) await ctx.call("v1.k8s.envs.clean", { deployment: doc.id, scope: false });
		await deleteGenerated(getKubeClient(), doc);
		await this.dropEntity(doc);
	},

	/** Removes the entity (the cluster's objects are gone or going) and says so. */
	async dropEntity(this: DeploymentsThis, doc: StoredDeployment): Promise<void> {
		const removed = await this.removeEntity(this.systemContext(), doc.id);
		this.reconciler?.forget(doc.id);
		if (removed) this.broker.emit("k8s.deployments.removed", this.publicView(doc));
	},

	async writeStatus(this: DeploymentsThis, doc: StoredDeployment, status: DeploymentStatus, appliedFingerprint?: string): Promise<void> {
		const newFingerprint = appliedFingerprint !== undefined && appliedFingerprint !== doc.appliedFingerprint;
		if (!statusChanged(doc.status, status) && !newFingerprint) return;
		await this.patchEntity(this.systemContext(), doc.id, newFingerprint ? { status, appliedFingerprint } : { status });
		if (status.phase !== doc.status?.phase) this.broker.emit("k8s.deployments.reconciled", { id: doc.id, name: doc.name, namespace: doc.namespace, status });
	},

	hasService(this: DeploymentsThis, name: string): boolean {
		return this.broker.registry.hasService(name, undefined as unknown as string);
	},
};

const DeploymentsService: ServiceSchema<DeploymentsSettings, DeploymentsMethods, DeploymentsLocals, DeploymentsThis> = {
	name: "k8s.deployments",
	version: 1,
	mixins: [
		createControllerMixin<DeploymentsThis>({
			name: "k8s.deployments",
			watch: WATCHED_KINDS.map(kind => ({ kind, selector: WATCH_SELECTOR, keyOf: entityIdOf })),
			reconcile: (self, id) => reconcileDeployment(self.passDeps(), id),
			listKeys: async self => (await self.findRaw<StoredDeployment>({})).map(d => d.id),
			resyncMs: self => self.settings.resyncSeconds * 1000,
			orphans: self => ({ kinds: SWEPT_KINDS, selector: WATCH_SELECTOR, exists: async id => Boolean(await self.loadDoc(id)) }),
			// Each node applies what its own actions change and answers once it is applied (applies are
			// idempotent and one key runs once per node at a time); watches and resync: the leader only.
			everyNode: true,
		}),
		// moleculer-db's generic actions would bypass validation and the cluster, so this API has its own.
		withoutDbActions,
		createDbMixin({ collection: "deployments", fields: PUBLIC_FIELDS, decode: decodeDeployment }),
		createMembershipMixin({ entityName: "Deployment", hidden: doc => Boolean(doc.deleting), queryFields: ["name", "namespace", "namespaceName", "image", "imageName", "replicas", "owner"] }),
		createRefsMixin(),
	],
	settings: { rest: "/v1/k8s/deployments" } as DeploymentsSettings,
	// Mounts of ConfigMap and Secret entities become mounts of their objects before any check.
	hooks: { before: { "create|createDeployment|generate|update": resolveMountsHook } },
	actions: {
		create: { ...createAction, rest: "POST /" },
		createDeployment: { ...createAction, rest: "POST /createDeployment" },
		update: {
			rest: ["PATCH /:id", "PUT /:id"],
			params: strictParams(updateParams),
			async handler(this: DeploymentsThis, ctx: Context<UpdateDeploymentParams, CallerMeta>): Promise<DeploymentEntity> {
				const current = await this.findVisible<StoredDeployment>(ctx, ctx.params.id, "edit");
				const { id, ...p } = ctx.params;
				checkShape({ ...p, name: current.name });
				const changes = changesOf(p);
				const image = p.image === undefined ? undefined : await this.resolveImage(ctx, p.image);
				if (image) Object.assign(changes, { image: image.id, imageName: image.name });
				const entity = await this.applyChange(ctx, current, changes, image);
				if (image && p.image !== current.image) await this.writeEnvs(ctx, entity, image, []);
				await recordRevision(ctx, entity.id);
				return entity;
			},
		},
		/** A rollback's spec (v1.k8s.revisions), through the checks of any change; mesh callers only. */
		restore: {
			retryPolicy: NOT_RETRIED,
			params: { id: idParams.id, changes: { type: "object" } },
			async handler(this: DeploymentsThis, ctx: Context<IdParams & { changes: Partial<StoredDeployment> }, CallerMeta>): Promise<DeploymentEntity> {
				const current = await this.findVisible<StoredDeployment>(ctx, ctx.params.id, "edit");
				const image = await this.resolveImage(ctx, String(ctx.params.changes.image));
				return this.applyChange(ctx, current, { ...ctx.params.changes, image: image.id, imageName: image.name }, image);
			},
		},
		list: {
			rest: "GET /",
			params: listParams,
			async handler(this: DeploymentsThis, ctx: Context<ListParams, CallerMeta & { $responseHeaders?: Record<string, string> }>): Promise<DeploymentEntity[]> {
				const filters: Record<string, unknown>[] = [{ deleting: { $ne: true } }];
				if (ctx.params.namespace) filters.push({ namespace: (await this.lookupNamespace(ctx, ctx.params.namespace, "namespace", "view")).id });
				if (ctx.meta.namespaces) filters.push({ namespaceName: { $in: ctx.meta.namespaces } });
				const query = await this.scopedQuery(ctx, { $and: filters });
				const answer = await this.cachedViews(query, ctx.params, (d: StoredDeployment) => this.publicView(d));
				if (answer.total !== undefined) ctx.meta.$responseHeaders = { ...ctx.meta.$responseHeaders, "X-Total-Count": String(answer.total) };
				return answer.items;
			},
		},
		/** moleculer-db's find, as other services use it: `find({query: {namespace}, scope: false})`. */
		find: {
			params: { query: { type: "object", optional: true } },
			async handler(this: DeploymentsThis, ctx: Context<FindParams, CallerMeta>): Promise<DeploymentEntity[]> {
				// The membership mixin's `find` hook has already added the caller's visibility to `query`.
				return (await this.findRaw<StoredDeployment>(ctx.params.query ?? {})).map(d => this.publicView(d));
			},
		},
		get: {
			rest: "GET /:id",
			params: idParams,
			async handler(this: DeploymentsThis, ctx: Context<IdParams, CallerMeta>): Promise<DeploymentEntity> {
				return this.publicView(await this.findVisible<StoredDeployment>(ctx, ctx.params.id));
			},
		},
		/** The caller's deployment by id, or by name in a namespace; 404 otherwise. */
		lookup: {
			params: lookupParams,
			async handler(this: DeploymentsThis, ctx: Context<LookupParams, CallerMeta>): Promise<DeploymentEntity> {
				const { ref, namespace } = ctx.params;
				const byId = await this.loadDoc<StoredDeployment>(ref);
				const inNamespace = byId && (!namespace || byId.namespace === namespace || byId.namespaceName === namespace);
				const doc = inNamespace ? byId : namespace ? (await this.findRaw<StoredDeployment>({ name: ref, $or: [{ namespace }, { namespaceName: namespace }] }))[0] : undefined;
				if (!doc) throw notFound("Deployment", ref);
				return this.publicView(await this.findVisible<StoredDeployment>(ctx, doc.id));
			},
		},
		remove: {
			rest: "DELETE /:id",
			params: idParams,
			async handler(this: DeploymentsThis, ctx: Context<IdParams, CallerMeta>): Promise<DeploymentEntity> {
				const doc = await this.findVisible<StoredDeployment>(ctx, ctx.params.id, "edit");
				// The reconciler deletes what was generated and then the entity: it never races an apply.
				await this.patchEntity(ctx, doc.id, { deleting: true });
				if (this.reconciler) await this.reconciler.sync(doc.id);
				else await this.teardown({ ...doc, deleting: true });
				return this.publicView(doc);
			},
		},

		// The seed's actions.
		generate: {
			rest: "POST /generate",
			params: strictParams(createParams),
			async handler(this: DeploymentsThis, ctx: Context<CreateDeploymentParams, CallerMeta>): Promise<GenerateView> {
				const p = ctx.params;
				checkShape(p);
				const ns = await this.lookupNamespace(ctx, p.namespace);
				const image = await this.resolveImage(ctx, p.image);
				const draft = draftOf(p, { id: "generated", namespace: ns, image, owner: ctx.meta.userID as string, members: [] });
				checkJoint(draft, image, this.settings.nodePortRange);
				return { manifests: draftManifests(this.settings.baseDomain, draft, image) };
			},
		},
		manifests: {
			rest: "GET /:id/manifests",
			params: idParams,
			async handler(this: DeploymentsThis, ctx: Context<IdParams, CallerMeta>): Promise<GenerateView> {
				const doc = await this.findVisible<StoredDeployment>(ctx, ctx.params.id);
				return { manifests: await desiredManifests(getKubeClient(), this.settings.baseDomain, doc, await this.resolveImage(ctx, doc.image)) };
			},
		},
		apply: {
			retryPolicy: NOT_RETRIED,
			rest: "POST /:id/apply",
			params: strictParams(idParams),
			async handler(this: DeploymentsThis, ctx: Context<IdParams, CallerMeta>): Promise<ApplyView> {
				const doc = await this.findVisible<StoredDeployment>(ctx, ctx.params.id, "edit");
				if (!this.reconciler) throw new Error("The reconciler is not running");
				// Asked for: applied even where the caches say nothing differs.
				const image = await this.resolveImage(ctx, doc.image);
				this.forceApply.add(doc.id);
				this.images.remember(image);
				await this.reconciler.sync(doc.id);
				const fresh = (await this.loadDoc<StoredDeployment>(doc.id)) as StoredDeployment;
				const manifests = await desiredManifests(getKubeClient(), this.settings.baseDomain, fresh, fresh.image === image.id ? image : await this.resolveImage(ctx, fresh.image));
				return { applied: manifests.map(m => ({ kind: m.kind as string, name: m.metadata?.name as string })), status: fresh.status as DeploymentStatus };
			},
		},
		status: liveRead("GET /:id/status", (self, doc) => liveStatus(getKubeClient(), self.settings.baseDomain, doc)),
		state: liveRead("GET /:id/state", async (self, doc): Promise<StateView> => {
			const [deployment, pods] = await Promise.all([liveStatus(getKubeClient(), self.settings.baseDomain, doc), podsOf(getKubeClient(), doc)]);
			return { deployment, pods: pods.map(podState) };
		}),
		pods: liveRead("GET /:id/pods", async (_, doc): Promise<PodState[]> => (await podsOf(getKubeClient(), doc)).map(podState)),
		logs: {
			rest: "GET /:id/logs",
			params: logsParams,
			async handler(this: DeploymentsThis, ctx: Context<LogsParams, CallerMeta & { $responseType?: string }>): Promise<PodLogs[] | Readable> {
				const doc = await this.findVisible<StoredDeployment>(ctx, ctx.params.id);
				const since = parseSince(ctx.params.since);
				const kube = getKubeClient();
				const { pods, container } = await logPods(kube, doc, ctx.params);
				if (!ctx.params.follow) return readLogs(kube, doc, pods, { container, tail: ctx.params.tail, since });
				ctx.meta.$responseType = "text/plain; charset=utf-8";
				const recheck = async () => (await keyStillUsable(ctx)) && Boolean(await this.findVisible(ctx, doc.id));
				return followLogs(kube, doc, pods, { ...ctx.params, since, container }, { recheck, recheckMs: loadConfig().streamRecheckSeconds * 1000, owner: streamOwner(ctx.meta) });
			},
		},
		events: liveRead("GET /:id/events", (_, doc) => deploymentEvents(getKubeClient(), doc)),
		scale: {
			rest: "POST /:id/scale",
			params: strictParams(scaleParams),
			async handler(this: DeploymentsThis, ctx: Context<ScaleParams, CallerMeta>): Promise<DeploymentEntity> {
				const doc = await this.findVisible<StoredDeployment>(ctx, ctx.params.id, "edit");
				checkScalable(doc);
				return this.applyChange(ctx, doc, { replicas: ctx.params.replicas });
			},
		},
		restart: {
			rest: "POST /:id/restart",
			params: strictParams(idParams),
			async handler(this: DeploymentsThis, ctx: Context<IdParams, CallerMeta>): Promise<DeploymentEntity> {
				const doc = await this.findVisible<StoredDeployment>(ctx, ctx.params.id, "edit");
				// Level-based like everything else: the annotation lives on the entity, so a resync keeps it.
				return this.applyChange(ctx, doc, { restartedAt: new Date().toISOString() });
			},
		},
		top: liveRead("GET /:id/top", (_, doc) => deploymentTop(getKubeClient(), doc)),
	},
	events: {
		/** Membership or keys changed somewhere: followed logs on this node re-check their caller's access now. */
		"access.changed": () => pokeAccessWatches(),
		"keys.revoked": () => pokeAccessWatches(),
		/** The catalog changed: the passes read it afresh. */
		[COLLECTION_CHANGED](this: DeploymentsThis, ctx: Context<{ collection?: string }>) {
			if (ctx.params?.collection === "images") this.images.clear();
		},
		/** A removed namespace takes its objects with it; the entities go too. */
		"k8s.namespaces.removed": {
			async handler(this: DeploymentsThis, ctx: Context<{ id?: string }>) {
				if (ctx.params?.id) for (const doc of await this.findRaw<StoredDeployment>({ namespace: ctx.params.id })) await this.dropEntity(doc);
			},
		},
	},
	methods,
	created(this: DeploymentsThis) {
		const { baseDomain, resyncSeconds, nodePortRange } = loadConfig();
		Object.assign(this.settings, { baseDomain, resyncSeconds, nodePortRange });
		this.creating = new Set();
		this.forceApply = new Set();
		this.images = new ImageCache();
	},
};

export default DeploymentsService;
