import { randomBytes } from "node:crypto";
import type { Context, ServiceSchema, ServiceSettingSchema } from "moleculer";
import { conflict, forbidden, invalidField, NOT_RETRIED, notFound } from "../lib/errors";
import { getKubeClient, Kinds, type V1Secret } from "../lib/k8s";
import { dataChecksum, envConfigMap, type EnvTarget } from "../lib/manifests/configmap";
import { ENV_KIND, objectNames, type CatalogImage, type DeploymentEntity, type ImageEnvDeclaration } from "../lib/manifests/deployment";
import { ANNOTATION_ID, LABEL_ID, MANAGED_SELECTOR } from "../lib/manifests/labels";
import { envSecret, secretValues } from "../lib/manifests/secret";
import { createControllerMixin, type ControllerLocals, type ControllerMethods } from "../mixins/controller.mixin";
import { createDbMixin, type DbBackedService } from "../mixins/db.mixin";
import { canSee, createMembershipMixin, isAdmin, isUnscoped, SYSTEM_META, type CallerMeta, type MembershipMethods } from "../mixins/membership.mixin";

export type EnvType = "as-is" | "secret";

/** A v1.k8s.envs entity. A secret's `value` is always shown masked. */
export interface EnvEntity {
	id: string;
	/** Namespace entity id. */
	namespace: string;
	namespaceName: string;
	/** Deployment entity id. */
	deployment: string;
	deploymentName: string;
	key: string;
	type: EnvType;
	value: string;
	owner: string;
	members: string[];
	createdAt: string;
	updatedAt: string;
}

/** Stored, never returned: the copy of a secret value the Secret is rebuilt from. */
interface StoredEnv extends EnvEntity {
	secretValue?: string;
}

export interface TargetParams {
	/** Namespace entity id or name. */
	namespace: string;
	/** Deployment entity id or name. */
	deployment: string;
}

export interface CreateEnvParams extends TargetParams {
	key: string;
	value: string;
	type?: EnvType;
}

export interface UpdateEnvParams {
	id: string;
	value?: string;
	type?: EnvType;
}

export interface ListEnvParams {
	namespace?: string;
	deployment?: string;
}

export interface ResolveEnvParams extends TargetParams {
	key: string;
}

export interface PackParams extends TargetParams {
	/** Secret values in clear text; only for the deployment's owner. */
	reveal?: boolean;
}

export interface CreateFromImageParams extends TargetParams {
	/** Catalog image id or name; the deployment's image by default. */
	image?: string;
	/** Set on top of the image's declarations (created, or updated when the key exists). */
	env?: { key: string; value?: string; type?: EnvType }[];
}

export interface PatchResult {
	deployment: string;
	configMap: string;
	secret: string;
	keys: string[];
	checksum: string;
}

export const MASK = "********";
const MAX_TOTAL_BYTES = 512 * 1024;
const ENV_KEY = /^[A-Za-z_][A-Za-z0-9_]*$/;
const ENV_SELECTOR = `${MANAGED_SELECTOR},app.kubernetes.io/component=${ENV_KIND}`;

const PUBLIC_FIELDS = ["namespace", "namespaceName", "deployment", "deploymentName", "key", "type", "value", "owner", "members"];
const GENERIC_ACTIONS = ["list", "find", "count", "create", "insert", "get", "update", "remove", "addMember", "removeMember", "transfer"];

const refRule = { type: "string", min: 1, max: 128 } as const;
const keyRule = { type: "string", pattern: ENV_KEY, max: 253 } as const;
const valueRule = { type: "string", max: 64 * 1024 } as const;
const typeRule = { type: "enum", values: ["as-is", "secret"], optional: true } as const;

/** A strong random value for a secret the image declares without one: 32 random bytes, URL-safe. */
export function randomSecret(): string {
	return randomBytes(32).toString("base64url");
}

interface EnvsMethods {
	resolveTarget(ctx: Context<unknown, CallerMeta>, namespace: string, deployment: string): Promise<DeploymentEntity>;
	findEnv(ctx: Context<unknown, CallerMeta>, id: string): Promise<StoredEnv>;
	findRaw(query: Record<string, unknown>): Promise<StoredEnv[]>;
	publicView(doc: StoredEnv): EnvEntity;
	checkSize(deployment: string, key: string, value: string): Promise<void>;
	storeEnv(ctx: Context<unknown, CallerMeta>, dep: DeploymentEntity, key: string, type: EnvType, value: string): Promise<StoredEnv>;
	changeEnv(ctx: Context<unknown, CallerMeta>, doc: StoredEnv, type: EnvType, value: string): Promise<StoredEnv>;
	removeEnvs(ctx: Context<unknown, CallerMeta>, docs: StoredEnv[]): Promise<number>;
	settle(deployment: string): Promise<void>;
	reconcile(deployment: string): Promise<void>;
	patchResult(deployment: string): Promise<PatchResult>;
}

type EnvsLocals = ControllerLocals;

type EnvsThis = DbBackedService<EnvsMethods & MembershipMethods & ControllerMethods & EnvsLocals>;

/**
 * Env vars of deployments. Plain values go into a ConfigMap and secret ones into a Secret, both
 * named `<deployment>-env` and read by the container through envFrom; the deployment's reconciler
 * hashes them into a pod-template annotation, so a change rolls the pods. The DB keeps a copy of
 * each secret value (to rebuild the Secret) that no action ever returns.
 */
const EnvsService: ServiceSchema<ServiceSettingSchema, EnvsMethods, EnvsLocals, EnvsThis> = {
	name: "k8s.envs",
	version: 1,
	mixins: [
		createControllerMixin<EnvsThis>({
			name: "k8s.envs",
			// Someone edits or deletes an env ConfigMap or Secret: the reconciler writes it back.
			watch: [Kinds.ConfigMap, Kinds.Secret].map(kind => ({ kind, selector: ENV_SELECTOR, keyOf: obj => obj.metadata?.labels?.[LABEL_ID] ?? obj.metadata?.annotations?.[ANNOTATION_ID] })),
			reconcile: (self, deployment) => self.reconcile(deployment),
			listKeys: async self => Array.from(new Set((await self.findRaw({})).map(d => d.deployment))),
			// An action on any node writes its envs at once and answers when they are written.
			everyNode: true,
		}),
		{ actions: Object.fromEntries(GENERIC_ACTIONS.map(a => [a, false])) },
		createDbMixin({ collection: "envs", fields: PUBLIC_FIELDS }),
		createMembershipMixin({ entityName: "Env" }),
	],
	settings: { rest: "/v1/k8s/envs" },
	actions: {
		create: {
			retryPolicy: NOT_RETRIED,
			rest: "POST /",
			params: { namespace: refRule, deployment: refRule, key: keyRule, value: valueRule, type: typeRule },
			async handler(this: EnvsThis, ctx: Context<CreateEnvParams, CallerMeta>): Promise<EnvEntity> {
				const dep = await this.resolveTarget(ctx, ctx.params.namespace, ctx.params.deployment);
				if ((await this.findRaw({ deployment: dep.id, key: ctx.params.key })).length)
					throw conflict(`Env "${ctx.params.key}" already exists for deployment "${dep.name}"; update it instead`, { key: ctx.params.key });
				await this.checkSize(dep.id, ctx.params.key, ctx.params.value);
				const doc = await this.storeEnv(ctx, dep, ctx.params.key, ctx.params.type ?? "as-is", ctx.params.value);
				await this.settle(dep.id);
				Object.assign(ctx.meta, { $statusCode: 201, $location: `/api/v1/k8s/envs/${doc.id}` });
				return this.publicView(doc);
			},
		},
		update: {
			rest: ["PATCH /:id", "PUT /:id"],
			params: { id: refRule, value: { ...valueRule, optional: true }, type: typeRule },
			async handler(this: EnvsThis, ctx: Context<UpdateEnvParams, CallerMeta>): Promise<EnvEntity> {
				const doc = await this.findEnv(ctx, ctx.params.id);
				const value = ctx.params.value ?? (doc.type === "secret" ? (doc.secretValue ?? "") : doc.value);
				await this.checkSize(doc.deployment, doc.key, value);
				const saved = await this.changeEnv(ctx, doc, ctx.params.type ?? doc.type, value);
				await this.settle(doc.deployment);
				return this.publicView(saved);
			},
		},
		list: {
			rest: "GET /",
			params: { namespace: { ...refRule, optional: true }, deployment: { ...refRule, optional: true } },
			async handler(this: EnvsThis, ctx: Context<ListEnvParams, CallerMeta>): Promise<EnvEntity[]> {
				const filters: Record<string, unknown>[] = [];
				if (ctx.params.deployment) {
					if (!ctx.params.namespace) throw invalidField("namespace", "Listing a deployment's envs needs its namespace");
					filters.push({ deployment: (await this.resolveTarget(ctx, ctx.params.namespace, ctx.params.deployment)).id });
				} else if (ctx.params.namespace) {
					const ns = await ctx.call<{ id: string }, { ref: string }>("v1.k8s.namespaces.lookup", { ref: ctx.params.namespace }).catch(err => {
						throw (err as { code?: number }).code === 404 ? invalidField("namespace", `Namespace "${ctx.params.namespace}" not found`) : err;
					});
					filters.push({ namespace: ns.id });
				}
				if (ctx.meta.namespaces) filters.push({ namespaceName: { $in: ctx.meta.namespaces } });
				const query = this.scopedQuery(ctx, filters.length ? { $and: filters } : {});
				return (await this.findRaw(query)).map(d => this.publicView(d));
			},
		},
		get: {
			rest: "GET /:id",
			params: { id: refRule },
			async handler(this: EnvsThis, ctx: Context<{ id: string }, CallerMeta>): Promise<EnvEntity> {
				return this.publicView(await this.findEnv(ctx, ctx.params.id));
			},
		},
		remove: {
			rest: "DELETE /:id",
			params: { id: refRule },
			async handler(this: EnvsThis, ctx: Context<{ id: string }, CallerMeta>): Promise<EnvEntity> {
				const doc = await this.findEnv(ctx, ctx.params.id);
				await this.removeEnvs(ctx, [doc]);
				await this.settle(doc.deployment);
				return this.publicView(doc);
			},
		},
		/** Removes every env the caller may see of a deployment or a namespace (mesh callers: `{deployment: id, scope: false}`). */
		clean: {
			rest: "POST /clean",
			params: { namespace: { ...refRule, optional: true }, deployment: { ...refRule, optional: true } },
			async handler(this: EnvsThis, ctx: Context<ListEnvParams, CallerMeta>): Promise<{ removed: number }> {
				let query: Record<string, unknown>;
				if (isUnscoped(ctx) && ctx.params.deployment && !ctx.params.namespace) query = { deployment: ctx.params.deployment };
				else if (ctx.params.deployment) {
					if (!ctx.params.namespace) throw invalidField("namespace", "Cleaning a deployment's envs needs its namespace");
					query = this.scopedQuery(ctx, { deployment: (await this.resolveTarget(ctx, ctx.params.namespace, ctx.params.deployment)).id });
				} else if (ctx.params.namespace) {
					const ns = await ctx.call<{ id: string }, { ref: string }>("v1.k8s.namespaces.lookup", { ref: ctx.params.namespace }).catch(err => {
						throw (err as { code?: number }).code === 404 ? invalidField("namespace", `Namespace "${ctx.params.namespace}" not found`) : err;
					});
					query = this.scopedQuery(ctx, { namespace: ns.id });
				} else throw invalidField("deployment", "Name the deployment (with its namespace) or the namespace to clean");
				if (ctx.meta.namespaces && !isUnscoped(ctx)) query = { $and: [query, { namespaceName: { $in: ctx.meta.namespaces } }] };
				const docs = await this.findRaw(query);
				const removed = await this.removeEnvs(ctx, docs);
				for (const dep of new Set(docs.map(d => d.deployment))) await this.settle(dep);
				return { removed };
			},
		},
		/** One env of a deployment by key (a secret's value masked). */
		resolveENV: {
			rest: "GET /resolve",
			params: { namespace: refRule, deployment: refRule, key: keyRule },
			async handler(this: EnvsThis, ctx: Context<ResolveEnvParams, CallerMeta>): Promise<EnvEntity> {
				const dep = await this.resolveTarget(ctx, ctx.params.namespace, ctx.params.deployment);
				const [doc] = await this.findRaw(this.scopedQuery(ctx, { deployment: dep.id, key: ctx.params.key }));
				if (!doc) throw notFound("Env", ctx.params.key);
				return this.publicView(doc);
			},
		},
		/** KEY → value of a deployment's envs. Secret values are masked unless the owner asks with `reveal`. */
		pack: {
			rest: "GET /pack",
			params: { namespace: refRule, deployment: refRule, reveal: { type: "boolean", optional: true, convert: true } },
			async handler(this: EnvsThis, ctx: Context<PackParams, CallerMeta>): Promise<Record<string, string>> {
				const dep = await this.resolveTarget(ctx, ctx.params.namespace, ctx.params.deployment);
				const reveal = ctx.params.reveal === true;
				if (reveal && !(isUnscoped(ctx) || dep.owner === ctx.meta.userID)) throw forbidden("Only the deployment's owner can reveal secret values");
				const docs = await this.findRaw(this.scopedQuery(ctx, { deployment: dep.id }));
				// Secret values come from the Kubernetes Secret, the source of truth; the DB copy only if it is gone.
				const live = reveal ? secretValues(await getKubeClient().get<V1Secret>({ apiVersion: "v1", kind: "Secret", name: objectNames(dep).env, namespace: dep.namespaceName })) : {};
				const out: Record<string, string> = {};
				for (const d of docs.sort((a, b) => a.key.localeCompare(b.key))) out[d.key] = d.type !== "secret" ? d.value : reveal ? (live[d.key] ?? d.secretValue ?? "") : MASK;
				return out;
			},
		},
		/** Writes the deployment's env ConfigMap and Secret now. */
		patchConfigMap: {
			rest: "POST /patch",
			params: { namespace: refRule, deployment: refRule },
			async handler(this: EnvsThis, ctx: Context<TargetParams, CallerMeta>): Promise<PatchResult> {
				const dep = await this.resolveTarget(ctx, ctx.params.namespace, ctx.params.deployment);
				if (!this.reconciler) throw new Error("The reconciler is not running");
				await this.reconciler.sync(dep.id);
				return this.patchResult(dep.id);
			},
		},
		/** Deletes the env ConfigMap and Secret and writes them afresh (drops keys other writers added). */
		rePatchConfigMap: {
			rest: "POST /repatch",
			params: { namespace: refRule, deployment: refRule },
			async handler(this: EnvsThis, ctx: Context<TargetParams, CallerMeta>): Promise<PatchResult> {
				const dep = await this.resolveTarget(ctx, ctx.params.namespace, ctx.params.deployment);
				if (!this.reconciler) throw new Error("The reconciler is not running");
				const kube = getKubeClient();
				const name = objectNames(dep).env;
				await kube.delete({ apiVersion: "v1", kind: "ConfigMap", name, namespace: dep.namespaceName });
				await kube.delete({ apiVersion: "v1", kind: "Secret", name, namespace: dep.namespaceName });
				await this.reconciler.sync(dep.id);
				return this.patchResult(dep.id);
			},
		},
		/**
		 * Envs from the image's declarations (keys the deployment already has are kept); a secret
		 * declared without a value gets a strong random one. `env` entries are set on top.
		 */
		createEnv: {
			retryPolicy: NOT_RETRIED,
			rest: "POST /from-image",
			params: {
				namespace: refRule,
				deployment: refRule,
				image: { ...refRule, optional: true },
				env: { type: "array", optional: true, max: 200, items: { type: "object", strict: true, props: { key: keyRule, value: { ...valueRule, optional: true }, type: typeRule } } },
			},
			async handler(this: EnvsThis, ctx: Context<CreateFromImageParams, CallerMeta>): Promise<EnvEntity[]> {
				const dep = await this.resolveTarget(ctx, ctx.params.namespace, ctx.params.deployment);
				const imageRef = ctx.params.image ?? dep.image;
				let image: CatalogImage;
				try {
					image = await ctx.call<CatalogImage, { id: string }>("v1.k8s.images.get", { id: imageRef });
				} catch (err) {
					if ((err as { code?: number }).code !== 404) throw err;
					image = await ctx.call<CatalogImage, { name: string }>("v1.k8s.images.resolveName", { name: imageRef }).catch(e => {
						throw (e as { code?: number }).code === 404 ? invalidField("image", `Image "${imageRef}" is not in the catalog`, imageRef) : e;
					});
				}
				const existing = new Map((await this.findRaw({ deployment: dep.id })).map(d => [d.key, d]));
				const declared = new Map<string, ImageEnvDeclaration>((image.env ?? []).map(d => [d.key, d]));
				const explicit = new Map((ctx.params.env ?? []).map(e => [e.key, e]));
				for (const [key, decl] of declared) {
					if (existing.has(key) || explicit.has(key)) continue;
					const type = decl.type ?? "as-is";
					await this.storeEnv(ctx, dep, key, type, decl.value ?? (type === "secret" ? randomSecret() : ""));
				}
				for (const [key, e] of explicit) {
					const current = existing.get(key);
					const type = e.type ?? current?.type ?? declared.get(key)?.type ?? "as-is";
					const value = e.value ?? (type === "secret" ? randomSecret() : "");
					await this.checkSize(dep.id, key, value);
					if (current) await this.changeEnv(ctx, current, type, value);
					else await this.storeEnv(ctx, dep, key, type, value);
				}
				await this.settle(dep.id);
				return (await this.findRaw({ deployment: dep.id })).map(d => this.publicView(d));
			},
		},
	},
	events: {
		"k8s.deployments.removed": {
			async handler(this: EnvsThis, ctx: Context<{ id?: string }>) {
				if (!ctx.params?.id) return;
				await this.removeEnvs(this.systemContext(), await this.findRaw({ deployment: ctx.params.id }));
			},
		},
		"k8s.namespaces.removed": {
			async handler(this: EnvsThis, ctx: Context<{ id?: string }>) {
				if (!ctx.params?.id) return;
				await this.removeEnvs(this.systemContext(), await this.findRaw({ namespace: ctx.params.id }));
			},
		},
	},
	methods: {
		/** The caller's deployment (by id or name) in the caller's namespace (by id or name); a wrong one is a 422 on its field. */
		async resolveTarget(this: EnvsThis, ctx: Context<unknown, CallerMeta>, namespace: string, deployment: string): Promise<DeploymentEntity> {
			const missing = (err: unknown) => (err as { code?: number }).code === 404;
			const ns = await ctx.call<{ id: string }, { ref: string }>("v1.k8s.namespaces.lookup", { ref: namespace }).catch(err => {
				throw missing(err) ? invalidField("namespace", `Namespace "${namespace}" not found`, namespace) : err;
			});
			return ctx.call<DeploymentEntity, { ref: string; namespace: string }>("v1.k8s.deployments.lookup", { ref: deployment, namespace: ns.id }).catch(err => {
				throw missing(err) ? invalidField("deployment", `Deployment "${deployment}" not found in namespace "${namespace}"`, deployment) : err;
			});
		},

		async findEnv(this: EnvsThis, ctx: Context<unknown, CallerMeta>, id: string): Promise<StoredEnv> {
			const doc = (await this.findStored(id)) as unknown as StoredEnv | undefined;
			const confined = ctx.meta?.namespaces;
			if (!doc || !(isUnscoped(ctx) || isAdmin(ctx.meta) || canSee(ctx.meta, doc)) || (confined && !confined.includes(doc.namespaceName))) throw notFound("Env", id);
			return doc;
		},

		async findRaw(this: EnvsThis, query: Record<string, unknown>): Promise<StoredEnv[]> {
			const rows = await this.adapter.find({ query, sort: ["key"] });
			const docs: StoredEnv[] = [];
			for (const row of rows) docs.push(this.adapter.afterRetrieveTransformID(await this.adapter.entityToObject(row), "id") as unknown as StoredEnv);
			return docs;
		},

		publicView(this: EnvsThis, doc: StoredEnv): EnvEntity {
			const out: Record<string, unknown> = {};
			for (const f of ["id", ...PUBLIC_FIELDS, "createdAt", "updatedAt"]) if ((doc as unknown as Record<string, unknown>)[f] !== undefined) out[f] = (doc as unknown as Record<string, unknown>)[f];
			out.id = String(out.id);
			if (doc.type === "secret") out.value = MASK;
			return out as unknown as EnvEntity;
		},

		/** A ConfigMap or Secret holds at most 1 MiB; Berth keeps a deployment's envs well under that. */
		async checkSize(this: EnvsThis, deployment: string, key: string, value: string): Promise<void> {
			const others = (await this.findRaw({ deployment })).filter(d => d.key !== key);
			const total = others.reduce((n, d) => n + Buffer.byteLength(d.key) + Buffer.byteLength(d.type === "secret" ? (d.secretValue ?? "") : d.value), 0) + Buffer.byteLength(key) + Buffer.byteLength(value);
			if (total > MAX_TOTAL_BYTES) throw invalidField("value", `A deployment's envs may total at most ${MAX_TOTAL_BYTES} bytes`, `${total} bytes`);
		},

		async storeEnv(this: EnvsThis, ctx: Context<unknown, CallerMeta>, dep: DeploymentEntity, key: string, type: EnvType, value: string): Promise<StoredEnv> {
			const owner = ctx.meta.userID && ctx.meta.userID !== SYSTEM_META.userID ? ctx.meta.userID : dep.owner;
			const members = Array.from(new Set([dep.owner, ...(dep.members ?? [])])).filter(m => m && m !== owner);
			const saved = await this.insertEntity(ctx, {
				namespace: dep.namespace,
				namespaceName: dep.namespaceName,
				deployment: dep.id,
				deploymentName: dep.name,
				key,
				type,
				...(type === "secret" ? { secretValue: value, value: "" } : { value }),
				owner,
				members,
			});
			return (await this.findStored(saved.id as string)) as unknown as StoredEnv;
		},

		async changeEnv(this: EnvsThis, ctx: Context<unknown, CallerMeta>, doc: StoredEnv, type: EnvType, value: string): Promise<StoredEnv> {
			await this.patchEntity(ctx, doc.id, type === "secret" ? { type, value: "", secretValue: value } : { type, value, secretValue: null });
			return (await this.findStored(doc.id)) as unknown as StoredEnv;
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
			const kube = getKubeClient();
			const docs = await this.findRaw({ deployment });
			if (docs.length) {
				const target: EnvTarget = { id: deployment, name: docs[0].deploymentName, namespaceName: docs[0].namespaceName };
				const plain: Record<string, string> = {};
				const secret: Record<string, string> = {};
				for (const d of docs) {
					if (d.type === "secret") secret[d.key] = d.secretValue ?? "";
					else plain[d.key] = d.value ?? "";
				}
				await kube.apply(envConfigMap(target, plain));
				await kube.apply(envSecret(target, secret));
				return;
			}
			let dep: DeploymentEntity | undefined;
			try {
				dep = await this.systemContext().call<DeploymentEntity, { id: string; scope: boolean }>("v1.k8s.deployments.get", { id: deployment, scope: false });
			} catch (err) {
				const code = (err as { code?: number }).code;
				if (code === 404 || (err as { name?: string }).name === "ServiceNotFoundError") return;
				throw err;
			}
			const name = objectNames(dep).env;
			for (const kind of [Kinds.ConfigMap, Kinds.Secret]) {
				const obj = await kube.get({ apiVersion: kind.apiVersion, kind: kind.kind, name, namespace: dep.namespaceName });
				if (obj && (obj.metadata?.labels?.[LABEL_ID] ?? obj.metadata?.annotations?.[ANNOTATION_ID]) === deployment)
					await kube.delete({ apiVersion: kind.apiVersion, kind: kind.kind, name, namespace: dep.namespaceName });
			}
		},

		async patchResult(this: EnvsThis, deployment: string): Promise<PatchResult> {
			const docs = await this.findRaw({ deployment });
			const name = docs[0] ? objectNames({ name: docs[0].deploymentName }).env : "";
			const plain = Object.fromEntries(docs.filter(d => d.type !== "secret").map(d => [d.key, d.value]));
			const secret = Object.fromEntries(docs.filter(d => d.type === "secret").map(d => [d.key, d.secretValue ?? ""]));
			return { deployment, configMap: name, secret: name, keys: docs.map(d => d.key), checksum: dataChecksum(plain, secret) };
		},

	},
};

export default EnvsService;
