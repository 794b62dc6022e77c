import type { Context, ServiceSchema, ServiceSettingSchema } from "moleculer";
import { createVolumeParams, listVolumesParams, volumeIdParams, type CreateVolumeParams, type VolumeEntity, type VolumeIdParams, type VolumeStatus } from "../lib/api/volumes";
import { answerCreated, getVisibleAction, type RestMeta } from "../lib/api/rest";
import { conflict, NOT_RETRIED, quotaExceeded } from "../lib/errors";
import { checkHolders, clusterLookup } from "../lib/ownership";
import { getKubeClient, Kinds, type KubeClient, type V1PersistentVolumeClaim } from "../lib/k8s";
import { refuseWhileMounted } from "../lib/mounted-by";
import { ANNOTATION_ID } from "../lib/manifests/labels";
import { DEFAULT_VOLUME_SIZE, VOLUME_SELECTOR, pvcManifest } from "../lib/manifests/volume";
import { bytes } from "../lib/quantity";
import { deleteIfOwned, isTombstoned } from "../lib/tombstones";
import { createDbMixin, isDuplicateKey, type DbBackedService } from "../mixins/db.mixin";
import { createControllerMixin, type ControllerLocals, type ControllerMethods } from "../mixins/controller.mixin";
import { createMembershipMixin, namespaceFilter, SYSTEM_META, type CallerMeta, type MembershipMethods } from "../mixins/membership.mixin";
import type { LookupParams, NamespaceEntity, QuotaReport } from "../lib/api/namespaces";
import { meshAdmission, withAdmission } from "../lib/namespaces/admission";
import { strictParams } from "../lib/api/rules";

/** Stored besides the public fields: the Kubernetes namespace's name and uid, a uniqueness key, and the tombstone. */
interface StoredVolume extends VolumeEntity {
	namespaceName: string;
	namespaceUid?: string | null;
	key: string;
	/** Set first by a remove (lib/tombstones.ts); the leader finishes a remove that a dead node began. */
	deleting?: boolean;
}

/** What `remove` needs to know of a deployment entity (see docs/CONTRACTS.md). */
interface MountingDeployment {
	volumes?: { persistentVolumeClaim?: { claimName?: string } }[];
}

type Meta = CallerMeta & RestMeta;

type VolumesVars = ControllerLocals;

/** The service's own methods: `this.reconcileVolume(…)` jumps here (their type is this object's). */
type VolumesMethods = typeof methods;
interface VolumesThis extends DbBackedService<MembershipMethods & ControllerMethods & VolumesMethods & VolumesVars> {}

const FIELDS = ["namespace", "name", "type", "mountPath", "size", "accessModes", "storageClass", "status", "owner", "members"];

/** The apiserver's admission refusal when a claim does not fit the ResourceQuota. */
function isQuotaRefusal(err: unknown): boolean {
	const e = err as { type?: unknown; message?: unknown };
	return e?.type === "K8S_FORBIDDEN" && /exceeded quota/i.test(String(e.message ?? ""));
}

/**
 * Refuses a claim the namespace's storage quota (read under its admission) cannot hold, with the
 * numbers. The apiserver would refuse it too, but only with a 403 about admission; this says what to change.
 */
function checkStorageQuota(quota: QuotaReport | undefined, ns: NamespaceEntity, size: string): void {
	const hard = quota?.hard?.["requests.storage"];
	if (!hard) return;
	const used = quota?.used?.["requests.storage"] ?? "0";
	if (bytes(used) + bytes(size) > bytes(hard))
		throw quotaExceeded(`Volume of ${size} does not fit the storage quota of namespace ${ns.name}: ${used} of ${hard} used`, { namespace: ns.id, resource: "requests.storage", requested: size, used, hard });
}

/**
 * v1.k8s.volumes: persistent volumes (PersistentVolumeClaims) in a tenant's namespace, for
 * deployments to mount. A watch on Berth's claims keeps `status` current; a volume that a
 * deployment mounts cannot be removed.
 */
const methods = {
	/**
	 * Stores the volume and applies its claim, the namespace's admission held (the quota read under
	 * it): racing creates cannot both take its last storage, since the apiserver counts a claim into
	 * the quota's `used` as it admits it. A claim the cluster refuses leaves no entity behind.
	 */
	async admitVolume(this: VolumesThis, ctx: Context<CreateVolumeParams, Meta>, ns: NamespaceEntity, doc: Omit<StoredVolume, "id" | "status" | "owner" | "members" | "createdAt" | "updatedAt">): Promise<VolumeEntity> {
		return withAdmission(meshAdmission(ctx, message => this.logger.warn(message)), ns.id, async quota => {
			checkStorageQuota(quota, ns, doc.size);
			const owner = ctx.meta.userID as string;
			const now = new Date().toISOString();
			let stored: Record<string, unknown>;
			try {
				stored = (await this.adapter.insert({ ...doc, status: { phase: "Pending", capacity: null }, owner, members: [], createdAt: now, updatedAt: now })) as Record<string, unknown>;
			} catch (err) {
				if (isDuplicateKey(err)) throw conflict(`Volume ${doc.name} already exists in namespace ${ns.name}`, { name: doc.name, namespace: ns.id });
				throw err;
			}
			const entity = (await this.transformDocuments(ctx, {}, stored)) as VolumeEntity;
			const { name, size, accessModes, storageClass } = doc;
			try {
				await getKubeClient().apply(pvcManifest({ id: entity.id, name, namespace: ns.name, size, accessModes, storageClass }));
			} catch (err) {
				await this.adapter.removeById(stored._id ?? entity.id).catch(cleanupErr => this.logger.warn(`Could not remove volume entity ${entity.id} after a failed create:`, cleanupErr));
				if (isQuotaRefusal(err)) throw quotaExceeded(`Volume ${name} (${size}) does not fit the storage quota of namespace ${ns.name}`, { namespace: ns.id, size, reason: (err as Error).message });
				throw err;
			}
			return entity;
		});
	},

	/** Level-based: the stored status against the informer's view of the claim. */
	async reconcileVolume(this: VolumesThis, id: string): Promise<void> {
		const informer = this.syncedCaches()?.get("PersistentVolumeClaim");
		if (!informer) throw new Error("volume watch not synced yet");
		const volume = await this.loadDoc<StoredVolume>(id);
		if (!volume) return;
		if (volume.deleting) return void (await this.finishRemoval(this.systemContext(), volume, this.leaderKube()));
		const live = informer.get(volume.name, volume.namespaceName) as V1PersistentVolumeClaim | undefined;
		const mine = live?.metadata?.annotations?.[ANNOTATION_ID] === volume.id ? live : undefined;
		const status: VolumeStatus = mine
			? { phase: mine.status?.phase ?? "Pending", capacity: mine.status?.capacity?.storage ?? null }
			: { phase: "Missing", capacity: null };
		if (status.phase === volume.status?.phase && status.capacity === (volume.status?.capacity ?? null)) return;
		const saved = await this.patchEntity(this.systemContext(), volume.id, { status });
		this.broker.emit("k8s.volumes.updated", saved, { meta: { ...SYSTEM_META } });
	},

	/** The rest of a remove, after its mark: the claim Berth made for the volume (only that one), then the entity. */
	async finishRemoval(this: VolumesThis, ctx: Context, volume: StoredVolume, kube: KubeClient = getKubeClient()): Promise<VolumeEntity> {
		await deleteIfOwned(kube, { apiVersion: "v1", kind: "PersistentVolumeClaim", name: volume.name, namespace: volume.namespaceName }, volume.id);
		const removedNow = await this.removeEntity(ctx, volume.id);
		this.reconciler?.forget(volume.id);
		const removed = this.publicView<VolumeEntity>(volume);
		// Said once, by whichever finished it (the action, or the leader after the action's node died).
		if (removedNow) ctx.emit("k8s.volumes.removed", removed);
		return removed;
	},
};

const VolumesService: ServiceSchema<ServiceSettingSchema & { rest: string; $dependencyInterval: number }, VolumesMethods, VolumesVars, VolumesThis> = {
	name: "k8s.volumes",
	version: 1,
	mixins: [
		createControllerMixin<VolumesThis>({
			name: "volumes",
			watch: [{ kind: Kinds.PersistentVolumeClaim, selector: VOLUME_SELECTOR, keyOf: pvc => pvc.metadata?.annotations?.[ANNOTATION_ID] }],
			reconcile: (self, id) => self.reconcileVolume(id),
			listKeys: async self => ((await self.findEntities(null, {})) as unknown as VolumeEntity[]).map(v => v.id),
			// Status comes from the watch's cache, which only the leader keeps; actions apply directly.
			everyNode: false,
		}),
		createDbMixin({ collection: "volumes", fields: FIELDS, unique: [["key"]] }),
		createMembershipMixin({ entityName: "Volume", hidden: doc => Boolean(doc.deleting), queryFields: ["name", "namespace", "size", "storageClass", "status", "owner"] }),
	],
	// Every volume belongs to a namespace: create and list resolve it there.
	dependencies: ["v1.k8s.namespaces"],
	// A short poll for that dependency: the registry check is local and cheap.
	settings: { rest: "/v1/k8s/volumes", $dependencyInterval: 100 },
	hooks: {
		before: {
			list: [namespaceFilter],
			find: [namespaceFilter],
			count: [namespaceFilter],
		},
	},
	actions: {
		insert: false,
		update: false,

		create: {
			retryPolicy: NOT_RETRIED,
			rest: "POST /",
			summary: "Create a persistent volume in a namespace",
			params: strictParams(createVolumeParams),
			async handler(this: VolumesThis, ctx: Context<CreateVolumeParams, Meta>): Promise<VolumeEntity> {
				const { name, mountPath, storageClass } = ctx.params;
				const size = ctx.params.size ?? DEFAULT_VOLUME_SIZE;
				const accessModes = ctx.params.accessModes ?? ["ReadWriteOnce"];
				const ns = await ctx.call<NamespaceEntity, LookupParams>("v1.k8s.namespaces.lookup", { ref: ctx.params.namespace, need: "edit" });
				const key = `${ns.id}/${name}`;
				if ((await this.findEntities(null, { key }, { limit: 1 })).length) throw conflict(`Volume ${name} already exists in namespace ${ns.name}`, { name, namespace: ns.id });
				const kube = getKubeClient();
				// A new volume holds nothing yet: any claim of that name is someone else's (409 naming it and its holder's kind).
				await checkHolders(clusterLookup(kube), [pvcManifest({ id: "new", name, namespace: ns.name, size, accessModes, storageClass })]);
				const entity = await this.admitVolume(ctx, ns, { namespace: ns.id, namespaceName: ns.name, namespaceUid: ns.uid ?? null, key, name, type: "persistentVolumeClaim", mountPath, size, accessModes, ...(storageClass ? { storageClass } : {}) });
				// Removed while its claim was applied: the claim goes too (lib/tombstones.ts).
				if (isTombstoned(await this.loadDoc<StoredVolume>(entity.id))) await deleteIfOwned(kube, { apiVersion: "v1", kind: "PersistentVolumeClaim", name, namespace: ns.name }, entity.id);
				this.reconciler?.enqueue(entity.id);
				ctx.emit("k8s.volumes.created", entity);
				return answerCreated(ctx, `/api/v1/k8s/volumes/${entity.id}`, entity);
			},
		},

		/** The caller's volumes, optionally of one namespace (id or name), oldest first. */
		list: {
			rest: "GET /",
			params: listVolumesParams,
			async handler(this: VolumesThis, ctx: Context<{ query?: Record<string, unknown> }, Meta>): Promise<VolumeEntity[]> {
				// The membership and filter hooks have narrowed `query` to what the caller asked for and may see.
				return (await this.findEntities(ctx, ctx.params.query ?? {}, { sort: ["createdAt"] })) as unknown as VolumeEntity[];
			},
		},

		get: getVisibleAction<VolumeEntity>(volumeIdParams),

		remove: {
			rest: "DELETE /:id",
			summary: "Delete a volume and its data; refused while a deployment mounts it",
			params: volumeIdParams,
			async handler(this: VolumesThis, ctx: Context<VolumeIdParams, Meta>): Promise<VolumeEntity> {
				const volume = await this.findVisible<StoredVolume>(ctx, ctx.params.id, "edit");
				const isClaim = (v: { persistentVolumeClaim?: { claimName?: string } }) => v.persistentVolumeClaim?.claimName === volume.name;
				await refuseWhileMounted(ctx, `Volume ${volume.name}`, volume.id, { namespace: volume.namespace, namespaceName: volume.namespaceName, mountedByEntity: dep => Boolean((dep as MountingDeployment).volumes?.some(isClaim)), isVolume: isClaim });
				// Marked first (lib/tombstones.ts): if this node dies now, the leader finishes the remove.
				await this.patchEntity(ctx, volume.id, { deleting: true });
				return this.finishRemoval(ctx, volume);
			},
		},
	},

	events: {
		/** The namespace is gone (its deletion takes the claims with it): forget its volumes. */
		"k8s.namespaces.removed": {
			async handler(this: VolumesThis, ctx: Context<NamespaceEntity>) {
				const volumes = (await this.findEntities(null, { namespace: ctx.params.id })) as unknown as VolumeEntity[];
				for (const volume of volumes) {
					await this.removeEntity(this.systemContext(), volume.id);
					this.reconciler?.forget(volume.id);
					ctx.emit("k8s.volumes.removed", volume);
				}
			},
		},
	},

	methods,
};

export default VolumesService;
