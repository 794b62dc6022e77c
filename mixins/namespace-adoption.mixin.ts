import type { Context, Service, ServiceSchema } from "moleculer";
import { adoptNamespaceParams, type AdoptNamespaceParams, type NamespaceEntity } from "../lib/api/namespaces";
import { answerCreated, type RestMeta } from "../lib/api/rest";
import { strictParams } from "../lib/api/rules";
import { loadConfig } from "../lib/config";
import { conflict, invalid, NOT_RETRIED } from "../lib/errors";
import { getKubeClient, type V1Namespace } from "../lib/k8s";
import { adoptable, foreignPolicyObjects, labelAdopted, reservedRefusal } from "../lib/namespaces/adoption";
import { resolveQuota } from "../lib/namespaces/checks";
import { checkNewOwner, requirePlatformAdmin, type CallerMeta } from "./membership.mixin";
import { isDuplicateKey } from "./db.mixin";

type Meta = CallerMeta & RestMeta;

/** What the namespaces service gives the mixin's `this`. */
interface AdoptionHost extends Service {
	adapter: { insert(doc: Record<string, unknown>): Promise<unknown>; removeById(id: unknown): Promise<unknown> };
	transformDocuments(ctx: Context | null, params: Record<string, unknown>, docs: unknown): Promise<unknown>;
	findByName(name: string): Promise<NamespaceEntity | undefined>;
	applyNamespace(entity: NamespaceEntity): Promise<V1Namespace>;
	patchEntity(ctx: Context, id: string, changes: Record<string, unknown>): Promise<Record<string, unknown>>;
}

/**
 * Checks before anything is written: the caller is a platform admin (403 for anyone else, whatever
 * the name: nothing about the namespace is told), the params hold, the name is no reserved one
 * (422), there is no namespace entity of that name (409), the Namespace exists (404), is not Berth's
 * already (409) and holds none of Berth's fixed-name objects made by someone else (409).
 */
async function check(self: AdoptionHost, ctx: Context<AdoptNamespaceParams, Meta>): Promise<{ live: V1Namespace; quota: NonNullable<NamespaceEntity["quota"]> }> {
	requirePlatformAdmin(ctx, "adopt namespaces");
	const { name, owner } = ctx.params;
	checkNewOwner(owner);
	const { quota, errors } = resolveQuota(ctx.params.quota);
	if (errors.length) throw invalid("Invalid quota", errors);
	const reserved = reservedRefusal(name, loadConfig());
	if (reserved) throw reserved;
	if (await self.findByName(name)) throw conflict(`Namespace ${name} is already a Berth namespace`, { name });
	const live = adoptable(name, await getKubeClient().get<V1Namespace>({ apiVersion: "v1", kind: "Namespace", name }));
	const foreign = await foreignPolicyObjects(getKubeClient(), name);
	if (foreign.length) throw conflict(`Namespace ${name} holds ${foreign.join(", ")}, made outside Berth under the name Berth gives its own; Berth does not overwrite them`, { name, objects: foreign });
	return { live, quota };
}

/**
 * The entity first (its unique name is the lock against a concurrent adoption), then the
 * Namespace's labels, then Berth's objects in it. A failed write removes the entity again; the
 * labels it may have left are recognised by a later adoption (lib/namespaces/adoption.ts).
 */
async function adopt(self: AdoptionHost, ctx: Context<AdoptNamespaceParams, Meta>): Promise<NamespaceEntity> {
	const { live, quota } = await check(self, ctx);
	const { name, owner } = ctx.params;
	const now = new Date().toISOString();
	let stored: Record<string, unknown>;
	try {
		stored = (await self.adapter.insert({ name, owner, members: [], quota, domains: [], phase: "Pending", uid: live.metadata?.uid ?? null, adoptedAt: now, createdAt: now, updatedAt: now })) as Record<string, unknown>;
	} catch (err) {
		if (isDuplicateKey(err)) throw conflict(`Namespace ${name} is already a Berth namespace`, { name });
		throw err;
	}
	const entity = (await self.transformDocuments(ctx, {}, stored)) as NamespaceEntity;
	let applied: V1Namespace;
	try {
		await labelAdopted(getKubeClient(), live, { ...entity, quota, adoptedAt: now }, loadConfig().tenantPolicy.podSecurityLevel);
		applied = await self.applyNamespace(entity);
	} catch (err) {
		await self.adapter.removeById(stored._id ?? entity.id).catch(cleanupErr => self.logger.warn(`Could not remove namespace entity ${entity.id} after a failed adoption:`, cleanupErr));
		throw err;
	}
	const saved = (await self.patchEntity(ctx, entity.id, { phase: applied.status?.phase ?? "Active", uid: applied.metadata?.uid ?? null })) as unknown as NamespaceEntity;
	ctx.emit("k8s.namespaces.created", saved);
	ctx.emit("k8s.namespaces.adopted", saved);
	await ctx.broadcast("access.changed", { id: saved.id });
	return answerCreated(ctx, `/api/v1/k8s/namespaces/${saved.id}`, saved);
}

/**
 * v1.k8s.namespaces.adopt (POST /api/v1/k8s/namespaces/adopt): a platform admin makes a Namespace
 * Berth did not create (Helm's, kubectl's) a Berth namespace owned by `owner`, who can then adopt
 * its Deployments (POST /api/v1/k8s/inventory/adopt). The rules are lib/namespaces/adoption.ts's.
 */
export function createNamespaceAdoptionMixin(): Partial<ServiceSchema> {
	return {
		actions: {
			adopt: {
				retryPolicy: NOT_RETRIED,
				rest: "POST /adopt",
				summary: "Adopt a namespace Berth did not make, with an owner (admins only)",
				params: strictParams(adoptNamespaceParams),
				handler(this: Service, ctx: Context<AdoptNamespaceParams, Meta>): Promise<NamespaceEntity> {
					return adopt(this as AdoptionHost, ctx);
				},
			},
		},
	};
}
