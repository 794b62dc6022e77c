import type { Context, ServiceSchema, ServiceSettingSchema } from "moleculer";
import type { NamespaceAccess, NamespaceRef } from "../lib/api/namespaces";
import type { CreateImageParams, ImageEntity, ImageIdParams, ImageSource, UpdateImageParams } from "../lib/api/images";
import { answerCreated, type RestMeta } from "../lib/api/rest";
import { conflict, forbidden, invalidField, notFound } from "../lib/errors";
import { loadMongoose } from "../lib/mongo";
import { catalogPart, checkEntry, checkTenantEntry, createImageParams, entryKey, eventPayload, sees, updateImageParams, type Sight } from "../lib/images/entries";
import { NOT_RETRIED } from "../lib/errors";
import { isDuplicateKey, type DbBackedService } from "./db.mixin";
import { isAdmin, isUnscoped, requirePlatformAdmin, type CallerMeta } from "./membership.mixin";

type Meta = CallerMeta & RestMeta;
type WritesThis = DbBackedService<ImageWritesMethods>;

/** Methods the image writes mixin adds, for the images service's `this` typing. */
export interface ImageWritesMethods {
	sightOf(ctx: Context<unknown, CallerMeta>): Promise<Sight>;
	visibleDoc(ctx: Context<unknown, CallerMeta>, id: string): Promise<ImageEntity | undefined>;
	writableDoc(ctx: Context<unknown, CallerMeta>, id: string): Promise<ImageEntity>;
	namespaceOf(ctx: Context<unknown, CallerMeta>, ref: string): Promise<NamespaceRef>;
	storeEntry(ctx: Context<unknown, CallerMeta>, doc: Record<string, unknown>, id?: string): Promise<ImageEntity>;
}

/**
 * v1.k8s.images' writes: `create`, `update` (PATCH or PUT) and `remove`, for REST and ctx.call.
 * Platform admins manage the shared catalog; a namespace's members with `edit` manage the entries
 * of that namespace (`namespaceId`), which only its members see. Everyone else's answer is 404.
 * Each write emits k8s.images.created, .updated or .removed with the entry, secret values masked.
 */
export function createImageWritesMixin(): Partial<ServiceSchema> {
	const schema: Partial<ServiceSchema<ServiceSettingSchema, ImageWritesMethods, Record<string, unknown>, WritesThis>> = {
		actions: {
			create: {
				retryPolicy: NOT_RETRIED,
				rest: "POST /",
				summary: "Add an image to the shared catalog (admin) or to one of your namespaces (`namespaceId`)",
				params: createImageParams,
				async handler(this: WritesThis, ctx: Context<CreateImageParams & { scope?: boolean }, Meta>): Promise<ImageEntity> {
					const { namespaceId: nsRef, source, scope: _scope, ...rest } = ctx.params;
					if (source !== undefined && !isUnscoped(ctx)) throw invalidField("source", "source is set by Berth", source);
					const entry = checkEntry(catalogPart(rest as Record<string, unknown>));
					let namespaceId: string | undefined;
					if (nsRef) {
						checkTenantEntry(entry);
						namespaceId = (await this.namespaceOf(ctx, nsRef)).id;
						// A namespace's entry cannot take a shared catalog name: the catalog's wins everywhere.
						if ((await this.findRaw({ key: entryKey(entry.name) }, { limit: 1 })).length) throw conflict(`Image name "${entry.name}" is taken by the shared catalog`, { field: "name", name: entry.name });
					} else requirePlatformAdmin(ctx, "add images to the shared catalog (name a namespace in namespaceId for one of yours)");
					const saved = await this.storeEntry(ctx, { ...entry, ...(namespaceId ? { namespaceId } : {}), source: (source as ImageSource | undefined) ?? "api", key: entryKey(entry.name, namespaceId) });
					ctx.emit("k8s.images.created", eventPayload(saved));
					return answerCreated(ctx, `/api/v1/k8s/images/${saved.id}`, saved);
				},
			},
			update: {
				retryPolicy: NOT_RETRIED,
				rest: ["PATCH /:id", "PUT /:id"],
				summary: "Change an image's fields; the whole entry is checked as a file would be",
				params: updateImageParams,
				async handler(this: WritesThis, ctx: Context<UpdateImageParams & { scope?: boolean }, Meta>): Promise<ImageEntity> {
					const { id, scope: _scope, ...changes } = ctx.params;
					const current = await this.writableDoc(ctx, id);
					const entry = checkEntry(catalogPart({ ...current, ...changes } as Record<string, unknown>));
					if (current.namespaceId) checkTenantEntry(entry);
					const unset = Object.keys(catalogPart(current as unknown as Record<string, unknown>)).filter(f => (entry as unknown as Record<string, unknown>)[f] === undefined);
					const doc = { ...entry, key: entryKey(entry.name, current.namespaceId), ...(current.source === "file" ? { overridden: true } : {}) };
					const saved = await this.storeEntry(ctx, { $set: doc, ...(unset.length ? { $unset: Object.fromEntries(unset.map(f => [f, true])) } : {}) }, id);
					ctx.emit("k8s.images.updated", eventPayload(saved));
					return saved;
				},
			},
			remove: {
				retryPolicy: NOT_RETRIED,
				rest: "DELETE /:id",
				summary: "Remove an image (a file's entry comes back with the next loadImages)",
				params: { id: { type: "string", min: 1, max: 64 } },
				async handler(this: WritesThis, ctx: Context<ImageIdParams, Meta>): Promise<ImageEntity> {
					const current = await this.writableDoc(ctx, ctx.params.id);
					if (!(await this.removeEntity(ctx, current.id))) throw notFound("Image", ctx.params.id);
					const view = this.publicView<ImageEntity>(current);
					ctx.emit("k8s.images.removed", eventPayload(view));
					return view;
				},
			},
		},
		methods: {
			/** The entries a caller sees: every one for the mesh and platform admins, else the catalog and their namespaces'. */
			async sightOf(this: WritesThis, ctx: Context<unknown, CallerMeta>): Promise<Sight> {
				if (isUnscoped(ctx) || (isAdmin(ctx.meta) && !ctx.meta.namespaces)) return "all";
				if (!ctx.meta?.userID) return [];
				const grants = await ctx.call<NamespaceAccess[], Record<string, never>>("v1.k8s.namespaces.access", {});
				return grants.map(g => g.id);
			},
			/** A stored entry the caller sees, else undefined (another namespace's is as missing). */
			async visibleDoc(this: WritesThis, ctx: Context<unknown, CallerMeta>, id: string): Promise<ImageEntity | undefined> {
				const doc = await this.loadDoc<ImageEntity>(id);
				if (!doc) return undefined;
				if (doc.namespaceId && !sees(await this.sightOf(ctx), doc)) return undefined;
				return doc;
			},
			/** An entry the caller may change: the catalog's for platform admins; a namespace's for its editors. Others: 404. */
			async writableDoc(this: WritesThis, ctx: Context<unknown, CallerMeta>, id: string): Promise<ImageEntity> {
				const doc = await this.visibleDoc(ctx, id);
				if (!doc) throw notFound("Image", id);
				if (!doc.namespaceId) requirePlatformAdmin(ctx, "manage the shared image catalog");
				else if (!isUnscoped(ctx)) {
					const [grant] = await ctx.call<NamespaceAccess[], { ids: string[] }>("v1.k8s.namespaces.access", { ids: [doc.namespaceId] });
					if (!grant) throw notFound("Image", id);
					if (grant.role === "view") throw forbidden("Your role in the image's namespace (view) does not allow this; it needs edit");
				}
				return doc;
			},
			/** The namespace a tenant's entry goes to, where the caller may edit; missing or another's: 422 on namespaceId. */
			async namespaceOf(this: WritesThis, ctx: Context<unknown, CallerMeta>, ref: string): Promise<NamespaceRef> {
				try {
					return await ctx.call<NamespaceRef, { ref: string; need: string; scope?: boolean }>("v1.k8s.namespaces.lookup", { ref, need: "edit", ...(isUnscoped(ctx) ? { scope: false } : {}) });
				} catch (err) {
					if ((err as { code?: number }).code === 404) throw invalidField("namespaceId", `Namespace "${ref}" not found`, ref);
					throw err;
				}
			},
			/** Inserts (no id) or updates an entry; a name its scope already has is a 409 on `name`. */
			async storeEntry(this: WritesThis, ctx: Context<unknown, CallerMeta>, doc: Record<string, unknown>, id?: string): Promise<ImageEntity> {
				try {
					if (!id) return (await this.insertEntity(ctx, doc)) as unknown as ImageEntity;
					const { $set, $unset } = doc as { $set: Record<string, unknown>; $unset?: Record<string, unknown> };
					const saved = await this.writes.run(id, () => this.adapter.updateById(storedIdOf(this, id), { $set: { ...$set, updatedAt: new Date().toISOString() }, ...($unset ? { $unset } : {}) }));
					const json = (await this.transformDocuments(ctx, {}, saved)) as unknown as ImageEntity;
					await this.entityChanged("updated", json, ctx);
					return json;
				} catch (err) {
					if (!isDuplicateKey(err)) throw err;
					const name = String((doc.$set as Record<string, unknown> | undefined)?.name ?? doc.name);
					throw conflict(`An image named "${name}" already exists here`, { field: "name", name });
				}
			},
		},
	};
	return schema as Partial<ServiceSchema>;
}

/** The stored form of an id (MongoDB ObjectIds, NeDB strings); an id that cannot be one was refused by visibleDoc already. */
function storedIdOf(service: WritesThis, id: string): unknown {
	if (!service.dbBackend.mongoUri) return id;
	return new (loadMongoose().Types.ObjectId)(id);
}
