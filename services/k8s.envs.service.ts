import type { Context, ServiceSchema, ServiceSettingSchema } from "moleculer";
import {
	createEnvParams,
	createFromImageParams,
	envIdParams,
	exactEnvParams,
	listEnvParams,
	MASK,
	packParams,
	resolveEnvParams,
	snapshotEnvParams,
	targetParams,
	updateEnvParams,
	type CreateEnvParams,
	type CreateFromImageParams,
	type EnvEntity,
	type EnvTarget,
	type EnvType,
	type ExactEnvParams,
	type ListEnvParams,
	type PackParams,
	type PatchResult,
	type ResolveEnvParams,
	type SnapshotEnvParams,
	type TargetParams,
	type UpdateEnvParams,
} from "../lib/api/envs";
import { answerCreated, withoutGenericActions, type RestMeta } from "../lib/api/rest";
import { checkSize, deleteEnvObjects, envObjectsConverged, envWrites, ownSecretValues, patchResult, writeEnvObjects, type StoredEnv } from "../lib/envs/envs";
import { conflict, forbidden, invalidField, NOT_RETRIED, notFound } from "../lib/errors";
import { getKubeClient, Kinds } from "../lib/k8s";
import { ENV_KIND, type DeploymentEntity, type ImageEnvDeclaration } from "../lib/manifests/deployment";
import { ANNOTATION_ID, LABEL_ID, MANAGED_SELECTOR } from "../lib/manifests/labels";
import { cachedOrRead } from "../lib/ownership";
import { createControllerMixin, type ControllerLocals, type ControllerMethods } from "../mixins/controller.mixin";
import { createDbMixin, type DbBackedService } from "../mixins/db.mixin";
import { createMembershipMixin, isUnscoped, SYSTEM_META, type CallerMeta, type MembershipMethods } from "../mixins/membership.mixin";
import { createRefsMixin, type RefsMethods } from "../mixins/refs.mixin";
import { allows, type NamespaceRole } from "../lib/namespaces/roles";
import { strictParams } from "../lib/api/rules";
import { recordRevision } from "../lib/revisions/record";
import type { EnvSnapshotEntry } from "../lib/revisions/spec";

export { MASK } from "../lib/api/envs";
export { randomSecret } from "../lib/envs/envs";

const ENV_SELECTOR = `${MANAGED_SELECTOR},app.kubernetes.io/component=${ENV_KIND}`;
const PUBLIC_FIELDS = ["namespace", "namespaceName", "deployment", "deploymentName", "key", "type", "value", "owner", "members"];

/** The service's own methods: `this.<method>` jumps to the code (their type is this object's). */
type EnvsMethods = typeof methods;

interface EnvsThis extends DbBackedService<EnvsMethods & RefsMethods & MembershipMethods & ControllerMethods & ControllerLocals> {}

/**
 * `patch` and `repatch`: the deployment's env ConfigMap and Secret written now by its reconciler;
 * `afresh` deletes them first, so keys other writers added are dropped.
 */
async function writeEnvObjectsNow(svc: EnvsThis, ctx: Context<TargetParams, CallerMeta>, { afresh }: { afresh: boolean }): Promise<PatchResult> {
	const dep = await svc.resolveTarget(ctx, ctx.params.namespace, ctx.params.deployment);
	if (!svc.reconciler) throw new Error("The reconciler is not running");
	// Only the deployment's own env objects: one of that name someone else holds is not its to delete.
	if (afresh) await deleteEnvObjects(getKubeClient(), dep);
	await svc.reconciler.sync(dep.id);
	return patchResult(dep.id, await svc.envsOf(dep.id));
}

/**
 * Env vars of deployments. Plain values go into a ConfigMap and secret ones into a Secret, both
 * named `<deployment>-env` and read by the container through envFrom; the deployment's reconciler
 * hashes them into a pod-template annotation, so a change rolls the pods. The DB keeps a copy of
 * each secret value (to rebuild the Secret), sealed, that no action ever returns.
 */
const methods = {
	/**
	 * The caller's deployment (by id or name) in the caller's namespace (by id or name), where their
	 * role allows `need`; a wrong one is a 422 on its field.
	 */
	async resolveTarget(this: EnvsThis, ctx: Context<unknown, CallerMeta>, namespace: string, deployment: string, need: NamespaceRole = "edit"): Promise<DeploymentEntity> {
		const ns = await this.lookupNamespace(ctx, namespace, "namespace", need);
		return ctx.call<DeploymentEntity, { ref: string; namespace: string }>("v1.k8s.deployments.lookup", { ref: deployment, namespace: ns.id }).catch(err => {
			throw (err as { code?: number }).code === 404 ? invalidField("deployment", `Deployment "${deployment}" not found in namespace "${namespace}"`, deployment) : err;
		});
	},

	/** The envs of the deployment or the namespace the params name (`action` for the message); undefined for neither. */
	async targetQuery(this: EnvsThis, ctx: Context<ListEnvParams, CallerMeta>, action: string, need: NamespaceRole): Promise<Record<string, unknown> | undefined> {
		const { namespace, deployment } = ctx.params;
		if (deployment) {
			if (!namespace) throw invalidField("namespace", `${action} a deployment's envs needs its namespace`);
			return { deployment: (await this.resolveTarget(ctx, namespace, deployment, need)).id };
		}
		if (namespace) return { namespace: (await this.lookupNamespace(ctx, namespace, "namespace", need)).id };
		return undefined;
	},

	publicView(this: EnvsThis, doc: StoredEnv): EnvEntity {
		const out: Record<string, unknown> = {};
		for (const f of ["id", ...PUBLIC_FIELDS, "createdAt", "updatedAt"]) if ((doc as unknown as Record<string, unknown>)[f] !== undefined) out[f] = (doc as unknown as Record<string, unknown>)[f];
		out.id = String(out.id);
		if (doc.type === "secret") out.value = MASK;
		return out as unknown as EnvEntity;
	},

	envsOf(this: EnvsThis, deployment: string): Promise<StoredEnv[]> {
		return this.findRaw<StoredEnv>({ deployment });
	},

	async storeEnv(this: EnvsThis, ctx: Context<unknown, CallerMeta>, dep: EnvTarget, key: string, type: EnvType, value: string): Promise<StoredEnv> {
		const owner = ctx.meta.userID && ctx.meta.userID !== SYSTEM_META.userID ? ctx.meta.userID : dep.owner;
		const saved = await this.insertEntity(ctx, {
			namespace: dep.namespace,
			namespaceName: dep.namespaceName,
			deployment: dep.id,
			deploymentName: dep.name,
			...(dep.namespaceUid ? { namespaceUid: dep.namespaceUid } : {}),
			key,
			type,
			...(type === "secret" ? { secretValue: value, value: "" } : { value }),
			owner,
			members: [],
		});
		return (await this.loadDoc<StoredEnv>(String(saved.id))) as StoredEnv;
	},

	async changeEnv(this: EnvsThis, ctx: Context<unknown, CallerMeta>, doc: StoredEnv, type: EnvType, value: string): Promise<StoredEnv> {
		await this.patchEntity(ctx, doc.id, type === "secret" ? { type, value: "", secretValue: value } : { type, value, secretValue: null });
		return (await this.loadDoc<StoredEnv>(doc.id)) as StoredEnv;
	},

	async removeEnvs(this: EnvsThis, ctx: Context<unknown, CallerMeta>, docs: StoredEnv[]): Promise<number> {
		let n = 0;
		for (const doc of docs) if (await this.removeEntity(ctx, doc.id)) n++;
		return n;
	},

	/** Applies a deployment's envs now; if the cluster is unreachable the reconciler keeps trying. */
	async settle(this: EnvsThis, deployment: string): Promise<void> {
		await this.reconciler?.sync(deployment).catch(err => this.logger.warn(`Writing the envs of deployment ${deployment} failed; the reconciler retries:`, (err as Error).message));
	},

	/**
	 * Level-based: the env ConfigMap and Secret of a deployment hold exactly its stored envs. With
	 * none left they are deleted, but only for a deployment this mesh knows: env objects of a
	 * deployment it has never heard of are not its to touch.
	 */
	async reconcile(this: EnvsThis, deployment: string): Promise<void> {
		const docs = await this.envsOf(deployment);
		const bind = async (unbound: StoredEnv[], namespaceUid: string) => void (await Promise.all(unbound.filter(d => !d.namespaceUid).map(d => this.patchEntity(this.systemContext(), d.id, { namespaceUid }))));
		// Whoever holds the names is read from the leader's watches of env objects, else from the apiserver.
		const caches = this.syncedCaches();
		// Bound to their namespace and as the caches show them: nothing to write.
		if (docs.length && docs.every(d => d.namespaceUid) && envObjectsConverged(caches, deployment, docs)) return;
		const lookup = cachedOrRead(getKubeClient(), caches);
		if (docs.length) return writeEnvObjects({ kube: getKubeClient(), envsOf: id => this.envsOf(id), bind, lookup }, deployment, docs);
		let dep: DeploymentEntity;
		try {
			dep = await this.systemContext().call<DeploymentEntity, { id: string; scope: boolean }>("v1.k8s.deployments.get", { id: deployment, scope: false });
		} catch (err) {
			const code = (err as { code?: number }).code;
			if (code === 404 || (err as { name?: string }).name === "ServiceNotFoundError") return;
			throw err;
		}
		await deleteEnvObjects(getKubeClient(), dep);
	},
};

const EnvsService: ServiceSchema<ServiceSettingSchema, EnvsMethods, ControllerLocals, EnvsThis> = {
	name: "k8s.envs",
	version: 1,
	mixins: [
		createControllerMixin<EnvsThis>({
			name: "k8s.envs",
			// Someone edits or deletes an env ConfigMap or Secret: the reconciler writes it back.
			watch: [Kinds.ConfigMap, Kinds.Secret].map(kind => ({ kind, selector: ENV_SELECTOR, keyOf: obj => obj.metadata?.labels?.[LABEL_ID] ?? obj.metadata?.annotations?.[ANNOTATION_ID] })),
			reconcile: (self, deployment) => self.reconcile(deployment),
			listKeys: async self => Array.from(new Set((await self.findRaw<StoredEnv>({})).map(d => d.deployment))),
			// An action on any node writes its envs at once and answers when they are written.
			everyNode: true,
		}),
		withoutGenericActions,
		// The copy of each secret value the Secret is rebuilt from is sealed at rest (lib/secrets).
		createDbMixin({ collection: "envs", fields: PUBLIC_FIELDS, sort: ["key"], sealed: ["secretValue"] }),
		createMembershipMixin({ entityName: "Env" }),
		createRefsMixin(),
	],
	settings: { rest: "/v1/k8s/envs" },
	actions: {
		create: {
			retryPolicy: NOT_RETRIED,
			rest: "POST /",
			params: strictParams(createEnvParams),
			async handler(this: EnvsThis, ctx: Context<CreateEnvParams, CallerMeta & RestMeta>): Promise<EnvEntity> {
				const dep = await this.resolveTarget(ctx, ctx.params.namespace, ctx.params.deployment);
				if ((await this.findRaw({ deployment: dep.id, key: ctx.params.key })).length)
					throw conflict(`Env "${ctx.params.key}" already exists for deployment "${dep.name}"; update it instead`, { key: ctx.params.key });
				checkSize(await this.envsOf(dep.id), ctx.params.key, ctx.params.value);
				const doc = await this.storeEnv(ctx, dep, ctx.params.key, ctx.params.type ?? "as-is", ctx.params.value);
				await this.settle(dep.id);
				await recordRevision(ctx, dep.id);
				return answerCreated(ctx, `/api/v1/k8s/envs/${doc.id}`, this.publicView(doc));
			},
		},
		update: {
			rest: ["PATCH /:id", "PUT /:id"],
			params: strictParams(updateEnvParams),
			async handler(this: EnvsThis, ctx: Context<UpdateEnvParams, CallerMeta>): Promise<EnvEntity> {
				const doc = await this.findVisible<StoredEnv>(ctx, ctx.params.id, "edit");
				const value = ctx.params.value ?? (doc.type === "secret" ? (doc.secretValue ?? "") : doc.value);
				checkSize(await this.envsOf(doc.deployment), doc.key, value);
				const saved = await this.changeEnv(ctx, doc, ctx.params.type ?? doc.type, value);
				await this.settle(doc.deployment);
				await recordRevision(ctx, doc.deployment);
				return this.publicView(saved);
			},
		},
		list: {
			rest: "GET /",
			params: listEnvParams,
			async handler(this: EnvsThis, ctx: Context<ListEnvParams, CallerMeta>): Promise<EnvEntity[]> {
				const filters: Record<string, unknown>[] = [];
				const target = await this.targetQuery(ctx, "Listing", "view");
				if (target) filters.push(target);
				if (ctx.meta.namespaces) filters.push({ namespaceName: { $in: ctx.meta.namespaces } });
				const query = await this.scopedQuery(ctx, filters.length ? { $and: filters } : {});
				return (await this.findRaw<StoredEnv>(query)).map(d => this.publicView(d));
			},
		},
		get: {
			rest: "GET /:id",
			params: envIdParams,
			async handler(this: EnvsThis, ctx: Context<{ id: string }, CallerMeta>): Promise<EnvEntity> {
				return this.publicView(await this.findVisible<StoredEnv>(ctx, ctx.params.id));
			},
		},
		remove: {
			rest: "DELETE /:id",
			params: envIdParams,
			async handler(this: EnvsThis, ctx: Context<{ id: string }, CallerMeta>): Promise<EnvEntity> {
				const doc = await this.findVisible<StoredEnv>(ctx, ctx.params.id, "edit");
				await this.removeEnvs(ctx, [doc]);
				await this.settle(doc.deployment);
				await recordRevision(ctx, doc.deployment);
				return this.publicView(doc);
			},
		},
		/**
		 * Removes every env the caller may see of a deployment or a namespace. Mesh callers
		 * (`{deployment: id, scope: false}`) are a deployment's teardown: its env objects go with the
		 * deployment's objects (deleteGenerated), and a deployment being deleted gets no revision.
		 */
		clean: {
			rest: "POST /clean",
			params: strictParams(listEnvParams),
			async handler(this: EnvsThis, ctx: Context<ListEnvParams, CallerMeta>): Promise<{ removed: number }> {
				let query: Record<string, unknown>;
				const teardown = isUnscoped(ctx) && ctx.params.deployment && !ctx.params.namespace;
				if (teardown) query = { deployment: ctx.params.deployment };
				else {
					const target = await this.targetQuery(ctx, "Cleaning", "edit");
					if (!target) throw invalidField("deployment", "Name the deployment (with its namespace) or the namespace to clean");
					query = await this.scopedQuery(ctx, target);
				}
				if (ctx.meta.namespaces && !isUnscoped(ctx)) query = { $and: [query, { namespaceName: { $in: ctx.meta.namespaces } }] };
				const docs = await this.findRaw<StoredEnv>(query);
				const removed = await this.removeEnvs(ctx, docs);
				if (teardown) return { removed };
				for (const dep of new Set(docs.map(d => d.deployment))) {
					await this.settle(dep);
					await recordRevision(ctx, dep);
				}
				return { removed };
			},
		},
		/** One env of a deployment by key (a secret's value masked). */
		resolveENV: {
			rest: "GET /resolve",
			params: resolveEnvParams,
			async handler(this: EnvsThis, ctx: Context<ResolveEnvParams, CallerMeta>): Promise<EnvEntity> {
				const dep = await this.resolveTarget(ctx, ctx.params.namespace, ctx.params.deployment, "view");
				const [doc] = await this.findRaw<StoredEnv>(await this.scopedQuery(ctx, { deployment: dep.id, key: ctx.params.key }));
				if (!doc) throw notFound("Env", ctx.params.key);
				return this.publicView(doc);
			},
		},
		/** KEY → value of a deployment's envs. Secret values are masked unless the owner asks with `reveal`. */
		pack: {
			rest: "GET /pack",
			params: packParams,
			async handler(this: EnvsThis, ctx: Context<PackParams, CallerMeta>): Promise<Record<string, string>> {
				const dep = await this.resolveTarget(ctx, ctx.params.namespace, ctx.params.deployment, "view");
				const reveal = ctx.params.reveal === true;
				// Who may change the secrets may read them back; a viewer never sees a secret value.
				if (reveal && !allows(await this.roleOn(ctx, dep as unknown as Record<string, unknown>), "edit")) throw forbidden("Revealing secret values needs the edit role in the namespace");
				const docs = await this.findRaw<StoredEnv>(await this.scopedQuery(ctx, { deployment: dep.id }));
				// Secret values come from the Kubernetes Secret, the source of truth; the DB copy only if it is gone.
				const live = reveal ? await ownSecretValues(getKubeClient(), dep) : {};
				const out: Record<string, string> = {};
				for (const d of docs.sort((a, b) => a.key.localeCompare(b.key))) out[d.key] = d.type !== "secret" ? d.value : reveal ? (live[d.key] ?? d.secretValue ?? "") : MASK;
				return out;
			},
		},
		/** Writes the deployment's env ConfigMap and Secret now. */
		patchConfigMap: {
			rest: "POST /patch",
			params: strictParams(targetParams),
			handler(this: EnvsThis, ctx: Context<TargetParams, CallerMeta>): Promise<PatchResult> {
				return writeEnvObjectsNow(this, ctx, { afresh: false });
			},
		},
		/** Deletes the env ConfigMap and Secret and writes them afresh (drops keys other writers added). */
		rePatchConfigMap: {
			rest: "POST /repatch",
			params: strictParams(targetParams),
			handler(this: EnvsThis, ctx: Context<TargetParams, CallerMeta>): Promise<PatchResult> {
				return writeEnvObjectsNow(this, ctx, { afresh: true });
			},
		},
		/**
		 * Envs from the image's declarations (keys the deployment already has are kept); a secret
		 * declared without a value gets a strong random one. `env` entries are set on top. A mesh
		 * caller (`scope: false`) may hand over the deployment (`target`) and the image's
		 * declarations (`declared`), so that nothing is looked up.
		 */
		createEnv: {
			retryPolicy: NOT_RETRIED,
			rest: "POST /from-image",
			params: strictParams(createFromImageParams),
			async handler(this: EnvsThis, ctx: Context<CreateFromImageParams, CallerMeta>): Promise<EnvEntity[]> {
				const handed = isUnscoped(ctx) ? ctx.params.target : undefined;
				const dep: EnvTarget & { image?: string } = handed ?? (await this.resolveTarget(ctx, ctx.params.namespace, ctx.params.deployment));
				let declared: ImageEnvDeclaration[] | undefined = handed ? ctx.params.declared : undefined;
				if (!declared) declared = (await this.resolveImage(ctx, ctx.params.image ?? (dep.image as string))).env ?? [];
				for (const w of envWrites(await this.envsOf(dep.id), declared, ctx.params.env ?? [])) {
					if (w.explicit) checkSize(await this.envsOf(dep.id), w.key, w.value);
					if (w.current) await this.changeEnv(ctx, w.current, w.type, w.value);
					else await this.storeEnv(ctx, dep, w.key, w.type, w.value);
				}
				await this.settle(dep.id);
				// Deployments, which hands its target in, records the revision of the whole change itself.
				if (!handed) await recordRevision(ctx, dep.id);
				return (await this.envsOf(dep.id)).map(d => this.publicView(d));
			},
		},
		/** A deployment's envs as they are, secret values included: for its revisions (mesh callers only). */
		snapshot: {
			params: snapshotEnvParams,
			async handler(this: EnvsThis, ctx: Context<SnapshotEnvParams, CallerMeta>): Promise<EnvSnapshotEntry[]> {
				if (!isUnscoped(ctx)) throw notFound("Deployment", ctx.params.deployment);
				return (await this.envsOf(ctx.params.deployment)).map(d => (d.type === "secret" ? { key: d.key, type: d.type, value: "", secretValue: d.secretValue ?? "" } : { key: d.key, type: d.type, value: d.value }));
			},
		},
		/** Makes a deployment's envs exactly `env` (a rollback's set; mesh callers only), and writes them. */
		exact: {
			retryPolicy: NOT_RETRIED,
			params: exactEnvParams,
			async handler(this: EnvsThis, ctx: Context<ExactEnvParams, CallerMeta>): Promise<{ count: number }> {
				const { deployment, target, env } = ctx.params;
				if (!isUnscoped(ctx)) throw notFound("Deployment", deployment);
				const current = await this.envsOf(deployment);
				const wanted = new Set(env.map(e => e.key));
				await this.removeEnvs(ctx, current.filter(d => !wanted.has(d.key)));
				for (const e of env) {
					const doc = current.find(d => d.key === e.key);
					if (!doc) await this.storeEnv(ctx, { ...target, id: deployment }, e.key, e.type, e.value);
					else if (doc.type !== e.type || (e.type === "secret" ? doc.secretValue : doc.value) !== e.value) await this.changeEnv(ctx, doc, e.type, e.value);
				}
				await this.settle(deployment);
				return { count: env.length };
			},
		},
	},
	events: {
		"k8s.deployments.removed": {
			async handler(this: EnvsThis, ctx: Context<{ id?: string }>) {
				if (!ctx.params?.id) return;
				await this.removeEnvs(this.systemContext(), await this.envsOf(ctx.params.id));
			},
		},
		"k8s.namespaces.removed": {
			async handler(this: EnvsThis, ctx: Context<{ id?: string }>) {
				if (!ctx.params?.id) return;
				await this.removeEnvs(this.systemContext(), await this.findRaw<StoredEnv>({ namespace: ctx.params.id }));
			},
		},
	},
	methods,
};

export default EnvsService;
