import type { Context, ServiceSchema, ServiceSettingSchema } from "moleculer";
import { strictParams } from "../lib/api/rules";
import {
	createDataObjectParams,
	dataObjectIdParams,
	listDataObjectsParams,
	MAX_DATA_BYTES,
	resolveDataObjectsParams,
	updateDataObjectParams,
	type ConfigMapEntity,
	type CreateDataObjectParams,
	type DataObjectIdParams,
	type DataObjectKind,
	type ResolveDataObjectsParams,
	type SecretEntity,
	type UpdateDataObjectParams,
} from "../lib/api/data-objects";
import type { LookupParams, NamespaceEntity } from "../lib/api/namespaces";
import { answerCreated, withoutDbActions, type RestMeta } from "../lib/api/rest";
import { conflict, invalidField, NOT_RETRIED } from "../lib/errors";
import { getKubeClient, Kinds, type KubeClient, type KubernetesObject, type V1Volume } from "../lib/k8s";
import { dataObjectManifest, dataObjectSelector, holdsData } from "../lib/manifests/data-object";
import { ANNOTATION_ID } from "../lib/manifests/labels";
import { refuseWhileMounted, type MountedObject } from "../lib/mounted-by";
import { checkHolders, clusterLookup } from "../lib/ownership";
import { deleteIfOwned, isTombstoned } from "../lib/tombstones";
import { createControllerMixin, type ControllerLocals, type ControllerMethods } from "./controller.mixin";
import { createDbMixin, isDuplicateKey, type DbBackedService } from "./db.mixin";
import { createMembershipMixin, namespaceFilter, SYSTEM_META, type CallerMeta, type MembershipMethods } from "./membership.mixin";

/**
 * v1.k8s.configmaps and v1.k8s.secrets, which differ only in their kind and in secrecy: entities of
 * a namespace holding string data, each applied as the ConfigMap or Secret of its name (labelled as
 * Berth's, annotated with the entity's id). Deployments mount them by id or name
 * (lib/deployments/mounts.ts), and one that is mounted cannot be removed. A Secret's values are
 * sealed at rest (the db mixin's `sealed`) and never leave it: its views and events carry key names.
 */
export interface DataObjectOptions {
	kind: DataObjectKind;
}

/** Stored: the data as JSON in `values` (sealed for a Secret), its key names, the namespace's name and uid, a uniqueness key, the tombstone. */
interface StoredDataObject {
	id: string;
	namespace: string;
	namespaceName: string;
	namespaceUid?: string | null;
	key: string;
	name: string;
	values: string;
	keys: string[];
	owner: string;
	members: string[];
	createdAt: string;
	updatedAt: string;
	deleting?: boolean;
}

type DataObjectView = ConfigMapEntity | SecretEntity;
type Meta = CallerMeta & RestMeta;
type DataObjectMethods = ReturnType<typeof methodsFor>;
interface DataObjectThis extends DbBackedService<MembershipMethods & ControllerMethods & DataObjectMethods & ControllerLocals> {}

/** What a kind is called in names, paths, events and errors. */
function namesOf(kind: DataObjectKind) {
	const plural = kind === "ConfigMap" ? "configmaps" : "secrets";
	return { plural, events: `k8s.${plural}`, path: `/api/v1/k8s/${plural}`, mountType: kind === "ConfigMap" ? "configMap" : "secret" } as const;
}

/** The stored fields of `data`, after its size is checked (422 naming `data`). */
function storedData(data: Record<string, string>): Pick<StoredDataObject, "values" | "keys"> {
	const size = Object.entries(data).reduce((n, [k, v]) => n + Buffer.byteLength(k) + Buffer.byteLength(v), 0);
	if (size > MAX_DATA_BYTES) throw invalidField("data", `data may hold at most ${MAX_DATA_BYTES} bytes (keys and values), not ${size}`, size);
	return { values: JSON.stringify(data), keys: Object.keys(data).sort() };
}

function methodsFor(opts: DataObjectOptions) {
	const { kind } = opts;
	const names = namesOf(kind);
	const manifestOf = (doc: Pick<StoredDataObject, "id" | "name" | "namespaceName" | "values">): KubernetesObject =>
		dataObjectManifest(kind, { id: doc.id, name: doc.name, namespace: doc.namespaceName, data: JSON.parse(doc.values) as Record<string, string> });
	const objectRef = (doc: StoredDataObject) => ({ apiVersion: "v1", kind, name: doc.name, namespace: doc.namespaceName });
	return {
		/** What callers see: a ConfigMap's data, a Secret's key names only. */
		viewOf(this: DataObjectThis, doc: StoredDataObject): DataObjectView {
			const { id, namespace, name, owner, members, createdAt, updatedAt } = doc;
			const base = { id: String(id), namespace, name, owner, members: members ?? [], createdAt, updatedAt };
			return kind === "Secret" ? { ...base, keys: doc.keys ?? [] } : { ...base, data: JSON.parse(doc.values) as Record<string, string> };
		},

		/** Who mounts the object, as lib/mounted-by.ts asks. */
		mountedObject(this: DataObjectThis, doc: StoredDataObject): MountedObject {
			const isVolume = (v: V1Volume) => (kind === "ConfigMap" ? v.configMap?.name : v.secret?.secretName) === doc.name;
			const mountedByEntity = (dep: Record<string, unknown>) => ((dep.mounts ?? []) as { type?: string; name?: string }[]).some(m => m.type === names.mountType && m.name === doc.name);
			return { namespace: doc.namespace, namespaceName: doc.namespaceName, isVolume, mountedByEntity };
		},

		/** Stores the entity and applies its object; an object the cluster refuses leaves no entity behind. */
		async createObject(this: DataObjectThis, ctx: Context<CreateDataObjectParams, Meta>, ns: NamespaceEntity): Promise<DataObjectView> {
			const { name } = ctx.params;
			const fields = storedData(ctx.params.data);
			const key = `${ns.id}/${name}`;
			const clash = () => conflict(`${kind} ${name} already exists in namespace ${ns.name}`, { name, namespace: ns.id });
			if ((await this.findRaw({ key })).length) throw clash();
			const kube = getKubeClient();
			// A new entity holds nothing yet: any object of that name is someone else's (409 naming it and its holder).
			await checkHolders(clusterLookup(kube), [manifestOf({ id: "new", name, namespaceName: ns.name, values: "{}" })]);
			let saved: Record<string, unknown>;
			try {
				saved = await this.insertEntity(ctx, { namespace: ns.id, namespaceName: ns.name, namespaceUid: ns.uid ?? null, key, name, ...fields, owner: ctx.meta.userID as string, members: [] });
			} catch (err) {
				if (isDuplicateKey(err)) throw clash();
				throw err;
			}
			const doc = (await this.loadDoc<StoredDataObject>(String(saved.id))) as StoredDataObject;
			try {
				await kube.apply(manifestOf(doc));
			} catch (err) {
				await this.removeEntity(ctx, doc.id).catch(cleanupErr => this.logger.warn(`Could not remove ${kind} entity ${doc.id} after a failed create:`, (cleanupErr as Error).message));
				throw err;
			}
			// Removed while its object was applied: the object goes too (lib/tombstones.ts).
			if (isTombstoned(await this.loadDoc<StoredDataObject>(doc.id))) await deleteIfOwned(kube, objectRef(doc), doc.id);
			return this.viewOf(doc);
		},

		/** Replaces the data: stored first, so the leader's reconcile never puts the old data back; a refused apply restores it. */
		async replaceData(this: DataObjectThis, ctx: Context<UpdateDataObjectParams, Meta>, doc: StoredDataObject): Promise<DataObjectView> {
			const fields = storedData(ctx.params.data);
			await this.patchEntity(ctx, doc.id, fields);
			try {
				await getKubeClient().apply(manifestOf({ ...doc, ...fields }));
			} catch (err) {
				await this.patchEntity(ctx, doc.id, { values: doc.values, keys: doc.keys });
				throw err;
			}
			return this.viewOf({ ...doc, ...fields, updatedAt: new Date().toISOString() });
		},

		/** Level-based: the object as stored, applied when the watch's view of it differs (another's object of that name is left alone). */
		async reconcileObject(this: DataObjectThis, id: string): Promise<void> {
			const informer = this.syncedCaches()?.get(kind);
			if (!informer) throw new Error(`${kind} watch not synced yet`);
			const doc = await this.loadDoc<StoredDataObject>(id);
			if (!doc) return;
			if (doc.deleting) return void (await this.finishRemoval(this.systemContext(), doc, this.leaderKube()));
			const live = informer.get(doc.name, doc.namespaceName) as KubernetesObject & { data?: Record<string, string> };
			if (live && live.metadata?.annotations?.[ANNOTATION_ID] !== doc.id) return;
			if (live && holdsData(kind, live, JSON.parse(doc.values) as Record<string, string>)) return;
			await this.leaderKube().apply(manifestOf(doc));
		},

		/** The rest of a remove, after its mark: the object Berth made (only that one), then the entity. */
		async finishRemoval(this: DataObjectThis, ctx: Context, doc: StoredDataObject, kube: KubeClient = getKubeClient()): Promise<DataObjectView> {
			await deleteIfOwned(kube, objectRef(doc), doc.id);
			const removedNow = await this.removeEntity(ctx, doc.id);
			this.reconciler?.forget(doc.id);
			const removed = this.viewOf(doc);
			// Said once, by whichever finished it (the action, or the leader after the action's node died).
			if (removedNow) ctx.emit(`${names.events}.removed`, removed);
			return removed;
		},
	};
}

function actionsFor(opts: DataObjectOptions): ServiceSchema<ServiceSettingSchema, DataObjectMethods, ControllerLocals, DataObjectThis>["actions"] {
	const { kind } = opts;
	const names = namesOf(kind);
	return {
		create: {
			retryPolicy: NOT_RETRIED,
			rest: "POST /",
			summary: `Create a ${kind} in a namespace`,
			params: strictParams(createDataObjectParams),
			async handler(this: DataObjectThis, ctx: Context<CreateDataObjectParams, Meta>): Promise<DataObjectView> {
				const ns = await ctx.call<NamespaceEntity, LookupParams>("v1.k8s.namespaces.lookup", { ref: ctx.params.namespace, need: "edit" });
				const view = await this.createObject(ctx, ns);
				this.reconciler?.enqueue(view.id);
				ctx.emit(`${names.events}.created`, view);
				return answerCreated(ctx, `${names.path}/${view.id}`, view);
			},
		},
		/** The caller's objects, optionally of one namespace (id or name), oldest first. */
		list: {
			rest: "GET /",
			params: listDataObjectsParams,
			async handler(this: DataObjectThis, ctx: Context<{ query?: Record<string, unknown> }, Meta>): Promise<DataObjectView[]> {
				// The membership and namespace hooks have narrowed `query` to what the caller asked for and may see.
				return (await this.findRaw<StoredDataObject>(ctx.params.query ?? {})).map(doc => this.viewOf(doc));
			},
		},
		get: {
			rest: "GET /:id",
			params: dataObjectIdParams,
			async handler(this: DataObjectThis, ctx: Context<DataObjectIdParams, Meta>): Promise<DataObjectView> {
				return this.viewOf(await this.findVisible<StoredDataObject>(ctx, ctx.params.id));
			},
		},
		update: {
			rest: ["PATCH /:id", "PUT /:id"],
			summary: `Replace a ${kind}'s data`,
			params: strictParams(updateDataObjectParams),
			async handler(this: DataObjectThis, ctx: Context<UpdateDataObjectParams, Meta>): Promise<DataObjectView> {
				const doc = await this.findVisible<StoredDataObject>(ctx, ctx.params.id, "edit");
				const view = await this.replaceData(ctx, doc);
				ctx.emit(`${names.events}.updated`, view);
				return view;
			},
		},
		remove: {
			rest: "DELETE /:id",
			summary: `Delete a ${kind}; refused while a deployment mounts it`,
			params: dataObjectIdParams,
			async handler(this: DataObjectThis, ctx: Context<DataObjectIdParams, Meta>): Promise<DataObjectView> {
				const doc = await this.findVisible<StoredDataObject>(ctx, ctx.params.id, "edit");
				await refuseWhileMounted(ctx, `${kind} ${doc.name}`, doc.id, this.mountedObject(doc));
				// Marked first (lib/tombstones.ts): if this node dies now, the leader finishes the remove.
				await this.patchEntity(ctx, doc.id, { deleting: true });
				return this.finishRemoval(ctx, doc);
			},
		},
		/** Mesh only (deployments' mounts): each ref (entity id or name) of the namespace that names one, to its object's name. */
		resolve: {
			visibility: "public",
			params: resolveDataObjectsParams,
			async handler(this: DataObjectThis, ctx: Context<ResolveDataObjectsParams, Meta>): Promise<Record<string, string>> {
				const ns = await ctx.call<NamespaceEntity, LookupParams>("v1.k8s.namespaces.lookup", { ref: ctx.params.namespace, need: "view" });
				const docs = await this.findRaw<StoredDataObject>({ namespace: ns.id, deleting: { $ne: true } });
				const out: Record<string, string> = {};
				for (const ref of ctx.params.refs) {
					const doc = docs.find(d => d.id === ref) ?? docs.find(d => d.name === ref);
					if (doc) out[ref] = doc.name;
				}
				return out;
			},
		},
	};
}

export function createDataObjectMixin(opts: DataObjectOptions): Partial<ServiceSchema> {
	const { kind } = opts;
	const names = namesOf(kind);
	return {
		mixins: [
			createControllerMixin<DataObjectThis>({
				name: names.plural,
				watch: [{ kind: Kinds[kind], selector: dataObjectSelector(kind), keyOf: obj => obj.metadata?.annotations?.[ANNOTATION_ID] }],
				reconcile: (self, id) => self.reconcileObject(id),
				listKeys: async self => (await self.findRaw<StoredDataObject>({})).map(d => d.id),
				// The watch's cache, which only the leader keeps, says what differs; actions apply directly.
				everyNode: false,
			}),
			// moleculer-db's generic actions would bypass validation and the cluster, so this API has its own.
			withoutDbActions,
			createDbMixin({ collection: names.plural, fields: ["namespace", "name", "keys", "owner", "members"], unique: [["key"]], ...(kind === "Secret" ? { sealed: ["values"] } : {}) }),
			createMembershipMixin({ entityName: kind, hidden: doc => Boolean(doc.deleting), queryFields: ["name", "namespace", "owner"] }),
		] as Partial<ServiceSchema>[],
		// Every object belongs to a namespace: create and list resolve it there.
		dependencies: ["v1.k8s.namespaces"],
		// A short poll for that dependency: the registry check is local and cheap.
		settings: { rest: `/v1/k8s/${names.plural}`, $dependencyInterval: 100 },
		hooks: { before: { list: [namespaceFilter] } },
		actions: actionsFor(opts),
		events: {
			/** The namespace is gone (its deletion takes the objects with it): forget its entities. */
			"k8s.namespaces.removed": {
				async handler(this: DataObjectThis, ctx: Context<NamespaceEntity>) {
					for (const doc of await this.findRaw<StoredDataObject>({ namespace: ctx.params.id })) {
						await this.removeEntity(this.systemContext(), doc.id);
						this.reconciler?.forget(doc.id);
						ctx.emit(`${names.events}.removed`, this.viewOf(doc), { meta: { ...SYSTEM_META } });
					}
				},
			},
		},
		methods: methodsFor(opts),
	} as Partial<ServiceSchema>;
}
