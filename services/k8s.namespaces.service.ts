import type { Context, ServiceSchema, ServiceSettingSchema } from "moleculer";
import {
	admissionParams,
	availableParams,
	createNamespaceParams,
	accessParams,
	idParams,
	lookupParams,
	resolveNameParams,
	updateNamespaceParams,
	type AccessParams,
	type AdmissionHold,
	type AdmissionParams,
	type Availability,
	type CreateNamespaceParams,
	type LookupParams,
	type NamespaceAccess,
	type NamespaceRole,
	type NameParams,
	type NamespaceEntity,
	type NamespaceStatus,
	type ResourceQuotaReport,
	type UpdateNamespaceParams,
} from "../lib/api/namespaces";
import { strictParams, type IdParams } from "../lib/api/rules";
import { answerCreated, type RestMeta } from "../lib/api/rest";
import { conflict, forbidden, found, invalid, NOT_RETRIED, notFound } from "../lib/errors";
import { getKubeClient, Kinds, type V1Namespace, type V1ResourceQuota } from "../lib/k8s";
import { MANAGED_SELECTOR } from "../lib/manifests/labels";
import { NAMESPACE_KIND, QUOTA_NAME } from "../lib/manifests/namespace";
import { admissionDeskFor, holdWithQuota, type AdmissionDesk, type MongoAdapter } from "../lib/namespaces/admission";
import { resolveQuota } from "../lib/namespaces/checks";
import { nameRefusal, reservationOf } from "../lib/namespaces/reserved";
import { grantsOf } from "../lib/namespaces/roles";
import { loadConfig } from "../lib/config";
import { deleteNamespace, isEntitysNamespace, namespaceStatus, refreshPolicy, writeNamespace } from "../lib/namespaces/identity";
import { HELD_DEFAULT, heldDefaultDoc, heldDefaultRefused, isHeldDefault } from "../lib/namespaces/held";
import { isTombstoned, type Tombstoned } from "../lib/tombstones";
import { createDbMixin, isDuplicateKey, type DbBackedService } from "../mixins/db.mixin";
import { createControllerMixin, type ControllerLocals, type ControllerMethods } from "../mixins/controller.mixin";
import { createDomainsMixin } from "../mixins/domains.mixin";
import { createNamespaceAdoptionMixin } from "../mixins/namespace-adoption.mixin";
import { createMembershipMixin, isAdmin, isUnscoped, mayAccess, selfRole, SYSTEM_META, type CallerMeta, type MembershipMethods } from "../mixins/membership.mixin";

type Meta = CallerMeta & RestMeta;

/** The service's own methods: `this.<method>` jumps to the code (their type is this object's). */
type NamespacesMethods = typeof methods;

type NamespacesVars = ControllerLocals & { admissionDesk?: AdmissionDesk };

interface NamespacesThis extends DbBackedService<MembershipMethods & ControllerMethods & NamespacesMethods & NamespacesVars> {}

const FIELDS = ["name", "owner", "members", "memberRoles", "quota", "domains", "phase", "uid", "adoptedAt"];
/** What a list may filter on (`query`). */
const LIST_FIELDS = ["name", "owner", "members", "phase"];

/**
 * v1.k8s.namespaces: tenants' namespaces with a ResourceQuota and a LimitRange. The database holds
 * the desired state; a watch on Berth's Namespaces keeps `phase` and `uid` current. Removing one
 * deletes it from the cluster and emits `k8s.namespaces.removed`, on which every namespaced
 * service removes its own entities.
 */
const methods = {
	async findByName(this: NamespacesThis, name: string): Promise<NamespaceEntity | undefined> {
		const [entity] = await this.findEntities(null, { name }, { limit: 1 });
		return entity as unknown as NamespaceEntity | undefined;
	},

	/** The stored namespace (read-only) a ref names, by id, else name, else the held `default`; cached until a write to namespaces (any node). */
	async namespaceByRef(this: NamespacesThis, ref: string): Promise<Record<string, unknown> | undefined> {
		const doc = await this.cachedQuery(`ref:${ref}`, async () => (await this.loadDoc(ref)) ?? (await this.findRaw({ name: ref }, { limit: 1 }))[0]);
		const held = !doc && ref === HELD_DEFAULT ? await this.holdDefault() : undefined;
		return doc ?? (held && this.loadDoc(held.id));
	},

	/** Stores the entity of the cluster's `default` namespace, held by the system identity (lib/namespaces/held.ts); undefined if the cluster has none. */
	async holdDefault(this: NamespacesThis): Promise<NamespaceEntity | undefined> {
		const live = await getKubeClient().get<V1Namespace>({ apiVersion: "v1", kind: "Namespace", name: HELD_DEFAULT });
		if (!live) return undefined;
		try {
			await this.insertEntity(this.systemContext(), heldDefaultDoc(live, SYSTEM_META.userID as string));
		} catch (err) {
			// Another node held it first.
			if (!isDuplicateKey(err)) throw err;
		}
		return this.findByName(HELD_DEFAULT);
	},

	/**
	 * The entity if this caller's role allows `need` (membership, admin, key confinement), else 404
	 * (403 for a member whose role is too small). A change to the held `default` is refused.
	 */
	async visibleNamespace(this: NamespacesThis, ctx: Context<unknown, Meta>, id: string, need: NamespaceRole = "view", loaded?: Record<string, unknown>): Promise<NamespaceEntity> {
		const entity = this.publicView<NamespaceEntity>(await (loaded ? this.visibleDoc(ctx, loaded, id, need) : this.findVisible(ctx, id, need)));
		if ((need === "admin" || need === "owner") && isHeldDefault(entity, SYSTEM_META.userID as string)) throw heldDefaultRefused();
		return entity;
	},


	/** Whether the caller may create a namespace of that name (Berth's own only by its system identity). */
	async availability(this: NamespacesThis, name: string, user?: string): Promise<Availability> {
		const refusal = nameRefusal(name, user, SYSTEM_META.userID as string, loadConfig());
		if (refusal) return { name, available: false, reason: refusal };
		if (await this.findByName(name)) return { name, available: false, reason: `Namespace ${name} already exists` };
		const live = await getKubeClient().get<V1Namespace>({ apiVersion: "v1", kind: "Namespace", name });
		if (live) return { name, available: false, reason: `A namespace named ${name} already exists in the cluster` };
		return { name, available: true };
	},

	/**
	 * Writes the Namespace, its ResourceQuota and its LimitRange, only into the Namespace the entity
	 * describes (lib/namespaces/identity.ts); then reads the entity again: removed meanwhile, a
	 * Namespace this call created goes again (lib/tombstones.ts) and the answer is 404.
	 */
	async applyNamespace(this: NamespacesThis, entity: NamespaceEntity): Promise<V1Namespace> {
		const { live, created } = await writeNamespace(getKubeClient(), entity, loadConfig().tenantPolicy);
		const fresh = await this.findStored(entity.id);
		if (isTombstoned(fresh as Tombstoned | undefined)) {
			if (created) await deleteNamespace(getKubeClient(), { ...entity, uid: live.metadata?.uid });
			throw notFound("Namespace", entity.id);
		}
		return live;
	},

	/**
	 * Marked first, then the cluster (a failed delete leaves the rest as it was; only the Namespace
	 * Berth made is deleted), then the entity, then the event that makes the other services remove
	 * what they kept for this namespace.
	 */
	async removeNamespace(this: NamespacesThis, ctx: Context<unknown, Meta>, entity: NamespaceEntity): Promise<NamespaceEntity> {
		await this.patchEntity(ctx, entity.id, { deleting: true });
		await deleteNamespace(getKubeClient(), entity);
		await this.removeEntity(ctx, entity.id);
		const removed = { ...entity, phase: "Terminating" };
		ctx.emit("k8s.namespaces.removed", removed);
		await ctx.broadcast("access.changed", { id: entity.id });
		return removed;
	},

	/** This node's admission holds (lib/namespaces/admission.ts), made on first use: the store is connected by then. */
	admissions(this: NamespacesThis): AdmissionDesk {
		return (this.admissionDesk ??= admissionDeskFor(this.dbBackend.mongoUri ? (this.adapter as unknown as MongoAdapter) : undefined, loadConfig().quotaLockSeconds));
	},

	/** Level-based: compares the stored phase/uid with the informer's view of the Namespace. */
	async reconcileNamespace(this: NamespacesThis, name: string): Promise<void> {
		const informer = this.syncedCaches()?.get("Namespace");
		if (!informer) throw new Error("namespace watch not synced yet");
		const entity = await this.findByName(name);
		// The held `default` is the cluster's, not Berth's: outside the watch, nothing to reconcile.
		if (!entity || isHeldDefault(entity, SYSTEM_META.userID as string) || (entity as Tombstoned).deleting) return;
		const live = informer.get(name) as V1Namespace | undefined;
		const mine = isEntitysNamespace(live, entity) ? live : undefined;
		await refreshPolicy(getKubeClient(), mine, entity, loadConfig().tenantPolicy);
		const phase = mine ? (mine.metadata?.deletionTimestamp ? "Terminating" : (mine.status?.phase ?? "Active")) : "Missing";
		// The uid of Berth's Namespace stays recorded when it is gone: a namesake made since is not it.
		const uid = mine?.metadata?.uid ?? entity.uid;
		if (phase === entity.phase && uid === entity.uid) return;
		const ctx = this.systemContext<Meta>();
		// The entity may have been removed meanwhile; then there is nothing to record.
		if (!(await this.findStored(entity.id))) return;
		const saved = await this.patchEntity(ctx, entity.id, { phase, uid });
		this.broker.emit("k8s.namespaces.updated", saved, { meta: { ...SYSTEM_META } });
	},
};

const NamespacesService: ServiceSchema<ServiceSettingSchema, NamespacesMethods, NamespacesVars, NamespacesThis> = {
	name: "k8s.namespaces",
	version: 1,
	mixins: [
		createControllerMixin<NamespacesThis>({
			name: "namespaces",
			watch: [{ kind: Kinds.Namespace, selector: `${MANAGED_SELECTOR},app.kubernetes.io/component=${NAMESPACE_KIND}`, keyOf: ns => ns.metadata?.name }],
			reconcile: (self, name) => self.reconcileNamespace(name),
			listKeys: async self => ((await self.findEntities(null, {})) as unknown as NamespaceEntity[]).map(e => e.name),
			// Reconciling compares the stored phase and uid with the watch's cache: only the leader has one.
			everyNode: false,
		}),
		createDbMixin({ collection: "namespaces", fields: FIELDS, unique: [["name"]] }),
		createMembershipMixin({ entityName: "Namespace", accessFrom: "self", namespaceField: "name", queryFields: LIST_FIELDS }),
		createDomainsMixin(),
		createNamespaceAdoptionMixin(),
	],
	settings: { rest: "/v1/k8s/namespaces" },
	hooks: {
		before: {
			addMember: [refuseHeldDefault],
			removeMember: [refuseHeldDefault],
			transfer: [refuseHeldDefault],
		},
	},
	actions: {
		insert: false,

		create: {
			retryPolicy: NOT_RETRIED,
			rest: "POST /",
			summary: "Create a namespace with a quota",
			params: strictParams(createNamespaceParams),
			async handler(this: NamespacesThis, ctx: Context<CreateNamespaceParams, Meta>): Promise<NamespaceEntity> {
				const { name } = ctx.params;
				const { quota, errors } = resolveQuota(ctx.params.quota);
				if (errors.length) throw invalid("Invalid quota", errors);
				if (ctx.meta.namespaces && !ctx.meta.namespaces.includes(name)) throw forbidden(`This API key is confined to ${ctx.meta.namespaces.join(", ")}`);
				const availability = await this.availability(name, ctx.meta.userID);
				if (!availability.available) {
					if (reservationOf(name, loadConfig())) throw invalid(availability.reason ?? "Reserved name", [{ field: "name", message: availability.reason ?? "reserved", type: "reserved", actual: name }]);
					throw conflict(availability.reason ?? `Namespace ${name} already exists`, { name });
				}
				let stored: Record<string, unknown>;
				try {
					stored = (await this.adapter.insert({ name, owner: ctx.meta.userID, members: [], quota, domains: [], phase: "Pending", uid: null, createdAt: new Date().toISOString(), updatedAt: new Date().toISOString() })) as Record<string, unknown>;
				} catch (err) {
					if (isDuplicateKey(err)) throw conflict(`Namespace ${name} already exists`, { name });
					throw err;
				}
				const entity = (await this.transformDocuments(ctx, {}, stored)) as NamespaceEntity;
				let live: V1Namespace;
				try {
					live = await this.applyNamespace(entity);
				} catch (err) {
					// Nothing half-made: neither the entity nor the namespace this create made (never a namesake it did not).
					await deleteNamespace(getKubeClient(), entity).catch(cleanupErr => this.logger.warn(`Could not delete namespace ${name} after a failed create:`, cleanupErr));
					await this.adapter.removeById(stored._id ?? entity.id).catch(cleanupErr => this.logger.warn(`Could not remove namespace entity ${entity.id} after a failed create:`, cleanupErr));
					await this.clearCache();
					throw err;
				}
				const saved = (await this.patchEntity(ctx, entity.id, { phase: live.status?.phase ?? "Active", uid: live.metadata?.uid ?? null })) as unknown as NamespaceEntity;
				ctx.emit("k8s.namespaces.created", saved);
				return answerCreated(ctx, `/api/v1/k8s/namespaces/${saved.id}`, saved);
			},
		},

		/** Every namespace the caller owns or is a member of (an admin: all), oldest first. */
		list: {
			rest: "GET /",
			params: {},
			async handler(this: NamespacesThis, ctx: Context<{ query?: Record<string, unknown> }, Meta>): Promise<NamespaceEntity[]> {
				// The membership and confinement hooks have narrowed `query` to what the caller may see.
				return (await this.findEntities(ctx, ctx.params.query ?? {}, { sort: ["createdAt"] })) as unknown as NamespaceEntity[];
			},
		},

		get: {
			rest: "GET /:id",
			params: idParams,
			async handler(this: NamespacesThis, ctx: Context<IdParams, Meta>): Promise<NamespaceEntity> {
				return this.visibleNamespace(ctx, ctx.params.id);
			},
		},

		update: {
			rest: "PUT /:id",
			summary: "Change a namespace's quota (owner only)",
			params: strictParams(updateNamespaceParams),
			async handler(this: NamespacesThis, ctx: Context<UpdateNamespaceParams, Meta>): Promise<NamespaceEntity> {
				const entity = await this.visibleNamespace(ctx, ctx.params.id, "admin");
				const { quota, errors } = resolveQuota(ctx.params.quota, entity.quota ?? undefined);
				if (errors.length) throw invalid("Invalid quota", errors);
				// The cluster first: if it refuses, the entity still describes what is there.
				const live = await this.applyNamespace({ ...entity, quota });
				let saved: NamespaceEntity;
				try {
					saved = (await this.patchEntity(ctx, entity.id, { quota, phase: live.status?.phase ?? entity.phase, uid: live.metadata?.uid ?? entity.uid })) as unknown as NamespaceEntity;
				} catch (err) {
					// The store refused: put the cluster back to what the entity still says.
					await this.applyNamespace(entity).catch(revertErr => this.logger.warn(`Could not restore the quota of namespace ${entity.name}:`, revertErr));
					throw err;
				}
				ctx.emit("k8s.namespaces.updated", saved);
				return saved;
			},
		},

		remove: {
			rest: "DELETE /:id",
			summary: "Delete a namespace and everything Berth made in it (owner only)",
			params: idParams,
			async handler(this: NamespacesThis, ctx: Context<IdParams, Meta>): Promise<NamespaceEntity> {
				const entity = await this.visibleNamespace(ctx, ctx.params.id, "owner");
				return this.removeNamespace(ctx, entity);
			},
		},

		/** The caller's namespace by id or name; what other services resolve their `namespace` param with. */
		lookup: {
			visibility: "public",
			params: lookupParams,
			async handler(this: NamespacesThis, ctx: Context<LookupParams, Meta>): Promise<NamespaceEntity> {
				const doc = found(await this.namespaceByRef(ctx.params.ref), "Namespace", ctx.params.ref);
				return this.visibleNamespace(ctx, String(doc.id), ctx.params.need, doc);
			},
		},

		/** The caller's role in namespaces (mesh only): what every namespaced service decides access by. */
		access: {
			visibility: "public",
			params: accessParams,
			async handler(this: NamespacesThis, ctx: Context<AccessParams, Meta>): Promise<NamespaceAccess[]> {
				const docs = ctx.params.ids
					? ((await Promise.all(ctx.params.ids.map(id => this.loadDoc(id)))).filter(Boolean) as Record<string, unknown>[])
					: await this.findRaw(await this.scopedQuery(ctx, {}));
				return grantsOf(docs, doc => selfRole(ctx, doc, doc.name as string));
			},
		},

		/**
		 * Unscoped, as the seed uses it: `meta.userID` of later calls is taken from the answer's owner.
		 * Mesh-only (no REST route). `default` answers the cluster's default namespace, held by the system
		 * identity (lib/namespaces/held.ts says who may use it), so that the seed's example runs as written.
		 */
		resolveName: {
			visibility: "public",
			public: true,
			params: resolveNameParams,
			async handler(this: NamespacesThis, ctx: Context<NameParams, Meta>): Promise<NamespaceEntity> {
				return found((await this.findByName(ctx.params.name)) ?? (ctx.params.name === HELD_DEFAULT ? await this.holdDefault() : undefined), "Namespace", ctx.params.name);
			},
		},

		available: {
			rest: "GET /available/:name",
			summary: "Whether a namespace name can be created",
			params: availableParams,
			async handler(this: NamespacesThis, ctx: Context<NameParams, Meta>): Promise<Availability> {
				return this.availability(ctx.params.name, ctx.meta.userID);
			},
		},

		status: {
			rest: "GET /:id/status",
			summary: "The namespace as the cluster sees it",
			params: idParams,
			async handler(this: NamespacesThis, ctx: Context<IdParams, Meta>): Promise<NamespaceStatus> {
				const entity = await this.visibleNamespace(ctx, ctx.params.id);
				const live = await getKubeClient().get<V1Namespace>({ apiVersion: "v1", kind: "Namespace", name: entity.name });
				const mine = isEntitysNamespace(live, entity) || isHeldDefault(entity, SYSTEM_META.userID as string) ? live : undefined;
				this.reconciler?.enqueue(entity.name);
				return namespaceStatus(entity, mine);
			},
		},

		resourcequota: {
			rest: "GET /:id/resourcequota",
			summary: "The quota's hard limits and current usage, from the cluster",
			params: idParams,
			async handler(this: NamespacesThis, ctx: Context<IdParams, Meta>): Promise<ResourceQuotaReport> {
				const entity = await this.visibleNamespace(ctx, ctx.params.id);
				const rq = found(await getKubeClient().get<V1ResourceQuota>({ apiVersion: "v1", kind: "ResourceQuota", name: QUOTA_NAME, namespace: entity.name }), "ResourceQuota of namespace", entity.id);
				return { hard: { ...(rq.status?.hard ?? rq.spec?.hard ?? {}) }, used: { ...(rq.status?.used ?? {}) } };
			},
		},

		/** Mesh-only: a namespace's admission, held while a caller checks its quota and stores (lib/namespaces/admission.ts). */
		holdAdmission: {
			visibility: "public",
			params: admissionParams,
			async handler(this: NamespacesThis, ctx: Context<AdmissionParams, Meta>): Promise<AdmissionHold> {
				const entity = found(await this.findStored(ctx.params.id), "Namespace", ctx.params.id);
				return holdWithQuota(this.admissions(), getKubeClient(), { ...ctx.params, name: String(entity.name) });
			},
		},
		releaseAdmission: {
			visibility: "public",
			params: admissionParams,
			async handler(this: NamespacesThis, ctx: Context<AdmissionParams, Meta>): Promise<void> {
				await this.admissions().release(ctx.params.id, ctx.params.holder);
			},
		},

		/** Removes every namespace the caller owns (an admin: every Berth namespace), each as remove does. */
		clean: {
			rest: "POST /clean",
			summary: "Remove all your namespaces",
			params: strictParams({}),
			async handler(this: NamespacesThis, ctx: Context<Record<string, never>, Meta>): Promise<{ removed: string[] }> {
				const query = isAdmin(ctx.meta) || isUnscoped(ctx) ? {} : { owner: ctx.meta.userID };
				const confined = ctx.meta.namespaces ? { name: { $in: ctx.meta.namespaces } } : {};
				// The held `default` is never removed through Berth.
				const entities = ((await this.findEntities(ctx, { ...query, ...confined })) as unknown as NamespaceEntity[]).filter(e => !isHeldDefault(e, SYSTEM_META.userID as string));
				const removed: string[] = [];
				for (const entity of entities) removed.push((await this.removeNamespace(ctx, entity)).id);
				return { removed };
			},
		},
	},
	methods,
};

/** The held `default` gets no members and no other owner; for a caller who may not see it, it does not exist. */
async function refuseHeldDefault(this: NamespacesThis, ctx: Context<Record<string, unknown>, Meta>): Promise<void> {
	const stored = await this.findStored(String(ctx.params.id));
	const entity = stored && this.publicView<NamespaceEntity>(stored);
	if (!entity || !isHeldDefault(entity, SYSTEM_META.userID as string)) return;
	if (!mayAccess(ctx, entity, entity.name)) throw notFound("Namespace", entity.id);
	throw heldDefaultRefused();
}

export default NamespacesService;
