/**
 * A deployment's create, as v1.k8s.deployments' `create` (and the seed's `createDeployment`) run
 * it: the shape, the namespace and the image, a name not taken, the draft's checks, the quota and
 * the store as one step, the adopted objects marked, the envs, the first apply, the first revision.
 * The service hands itself in (lib/ never imports services/): only what is used here is typed.
 */
import type { Context } from "moleculer";
import type { CreateDeploymentParams, EnvParam } from "../api/deployments";
import type { EnvTarget } from "../api/envs";
import type { NamespaceRef, QuotaReport } from "../api/namespaces";
import { answerCreated, type RestMeta } from "../api/rest";
import { conflict, found } from "../errors";
import { getKubeClient, type KubernetesObject } from "../k8s";
import { deploymentStatus, type CatalogImage, type DeploymentEntity } from "../manifests/deployment";
import { claimOf } from "../ownership";
import { recordRevision } from "../revisions/record";
import { checkShape, draftOf } from "./checks";
import { resourcesFor } from "./defaults";
import type { ImageCache } from "./reconcile";
import { checkQuota, type ReferenceDeps } from "./references";
import { encodeDeployment, type StoredDeployment } from "./store";

type Caller = Context<unknown, { userID?: string }>;

/** What the create needs of the deployments service. */
export interface CreateHost {
	creating: Set<string>;
	images: ImageCache;
	reconciler?: { sync(id: string): Promise<unknown> };
	logger: { warn(...args: unknown[]): void };
	lookupNamespace(ctx: Caller, ref: string): Promise<NamespaceRef>;
	resolveImage(ctx: Caller, ref: string): Promise<CatalogImage>;
	findRaw<T = Record<string, unknown>>(query: Record<string, unknown>): Promise<T[]>;
	loadDoc<T = Record<string, unknown>>(id: string): Promise<T | undefined>;
	insertEntity(ctx: Context, doc: Record<string, unknown>): Promise<Record<string, unknown>>;
	removeEntity(ctx: Context, id: string): Promise<unknown>;
	publicView(doc: StoredDeployment): DeploymentEntity;
	references(): ReferenceDeps;
	withAdmission<T>(ctx: Caller, namespaceId: string, work: (quota: QuotaReport | undefined) => Promise<T>): Promise<T>;
	checkDraft(ctx: Caller, draft: StoredDeployment, image: CatalogImage, current?: StoredDeployment): Promise<{ footprint: Record<string, number>; taken: KubernetesObject[] }>;
	writeEnvs(ctx: Caller, dep: EnvTarget, image: CatalogImage, env: EnvParam[]): Promise<void>;
}

export async function createDeployment(self: CreateHost, ctx: Context<CreateDeploymentParams, { userID?: string } & RestMeta>): Promise<DeploymentEntity> {
	const p = ctx.params;
	checkShape(p);
	const ns = await self.lookupNamespace(ctx, p.namespace);
	const image = await self.resolveImage(ctx, p.image);
	self.images.remember(image); // fresh: the passes of this deployment build from it
	const lock = `${ns.id}/${p.name}`;
	if (self.creating.has(lock) || (await self.findRaw({ namespace: ns.id, name: p.name })).length)
		throw conflict(`A deployment named "${p.name}" already exists in namespace "${ns.name}"`, { name: p.name, namespace: ns.name });
	self.creating.add(lock);
	try {
		// Access is the namespace's, decided at each call: nothing of its membership is copied here.
		const resources = await resourcesFor(getKubeClient(), ns.name, image, p.resources);
		const draft = draftOf({ ...p, resources }, { id: "pending", namespace: ns, image, owner: ctx.meta.userID as string, members: [] });
		const { footprint, taken } = await self.checkDraft(ctx, draft, image);
		const { id: _pending, ...doc } = draft;
		const saved = await self.withAdmission(ctx, ns.id, async quota => {
			await checkQuota(self.references(), quota, draft, footprint);
			return self.insertEntity(ctx, encodeDeployment({ ...doc, footprint, namespaceUid: ns.uid, status: deploymentStatus(undefined, { ok: true }, undefined, new Date().toISOString()) }));
		});
		const id = String(saved.id);
		try {
			// An adoption's external objects are marked as the entity's first, so every apply finds them its own.
			for (const obj of taken) await getKubeClient().mergeMetadata(claimOf(obj, id));
			await self.writeEnvs(ctx, { ...doc, id }, image, p.env ?? []);
		} catch (err) {
			// Nothing is half-made: without its envs the deployment is not created.
			await self.removeEntity(ctx, id);
			throw err;
		}
		await self.reconciler?.sync(id).catch(err => self.logger.warn(`First apply of deployment ${id} failed; the reconciler retries:`, (err as Error).message));
		// Deleted meanwhile (by its id, on another node): gone for this caller too.
		const entity = self.publicView(found(await self.loadDoc<StoredDeployment>(id), "Deployment", id));
		await recordRevision(ctx, entity.id);
		ctx.emit("k8s.deployments.created", entity);
		return answerCreated(ctx, `/api/v1/k8s/deployments/${entity.id}`, entity);
	} finally {
		self.creating.delete(lock);
	}
}
