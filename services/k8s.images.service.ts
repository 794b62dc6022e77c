import type { Context, ServiceSchema, ServiceSettingSchema } from "moleculer";
import {
	deployImageParams,
	getImageParams,
	imageIdParams,
	listImagesParams,
	resolveImageNameParams,
	type DeployImageParams,
	type DeploymentRequest,
	type ImageEntity,
	type ImageIdParams,
	type ImageNameParams,
	type LoadReport,
} from "../lib/api/images";
import { CATALOG_FIELDS, CatalogError, catalogDir, loadCatalog, maskCatalogSecrets, type CatalogImage } from "../lib/catalog";
import { ENTRY_FIELDS, entryKey, sees, sightFilter, type Sight } from "../lib/images/entries";
import { resolveImageParams, referenceEntry, type ResolveImageParams } from "../lib/images/resolve";
import { migrateStore, type LegacyStore } from "../lib/images/store";
import { createImageWritesMixin, type ImageWritesMethods } from "../mixins/image-writes.mixin";
import { clusterUnavailable, found, invalid, invalidField, NOT_RETRIED, notFound, unauthorized } from "../lib/errors";
import { createDbMixin, isDuplicateKey, type DbBackedService } from "../mixins/db.mixin";
import { isUnscoped, requirePlatformAdmin, SYSTEM_META, type CallerMeta } from "../mixins/membership.mixin";
import type { LookupParams, NamespaceEntity } from "../lib/api/namespaces";
import { strictParams } from "../lib/api/rules";
import { createBuildParams, type BuildEntity, type CreateBuildParams } from "../lib/api/builds";

// Re-exported for services that still import the entity from here (applications).
export type { ImageEntity } from "../lib/api/images";

type Meta = CallerMeta;

/** The service's own methods: `this.<method>` jumps to the code (their type is this object's). */
type ImagesMethods = typeof methods & ImageWritesMethods;

interface ImagesThis extends DbBackedService<ImagesMethods> {}

const FIELDS: string[] = [...CATALOG_FIELDS, ...ENTRY_FIELDS];

/** The catalog fields of an entry, in a stable form for comparing a stored entry with its file. */
function catalogOf(doc: Partial<CatalogImage>): string {
	return JSON.stringify(CATALOG_FIELDS.map(f => doc[f] ?? null));
}

function hasOperator(value: unknown): boolean {
	if (Array.isArray(value)) return value.some(hasOperator);
	if (value && typeof value === "object") return Object.entries(value).some(([k, v]) => k.startsWith("$") || hasOperator(v));
	return false;
}

/**
 * v1.k8s.images: the image catalog, loaded from images/ (IMAGES_DIR) at start and by loadImages,
 * and written through the API (mixins/image-writes.mixin.ts): the shared catalog, which anyone
 * authenticated reads, and namespaces' own entries, which only their members see. `deploy` starts
 * a deployment of an entry in one of the caller's namespaces through v1.k8s.deployments.
 */
const methods = {
	/** By name: the shared catalog's entry first (a namespace's never shadows it), then one the caller sees. */
	async findByName(this: ImagesThis, name: string, sight: Sight): Promise<ImageEntity | undefined> {
		const [shared] = await this.findEntities(null, { key: entryKey(name) }, { limit: 1 });
		if (shared || !sight.length) return shared as unknown as ImageEntity | undefined;
		return (await this.findEntities(null, { $and: [{ name }, sightFilter(sight) ?? {}] }, { sort: ["createdAt"], limit: 1 }))[0] as unknown as ImageEntity | undefined;
	},

	/** By id, catalog name or image reference, among what the caller sees; 404 otherwise. */
	async findImage(this: ImagesThis, ctx: Context<unknown, Meta>, ref: string): Promise<ImageEntity> {
		const byId = await this.visibleDoc(ctx, ref);
		if (byId) return this.publicView<ImageEntity>(byId);
		const sight = await this.sightOf(ctx);
		const byName = await this.findByName(ref, sight);
		if (byName) return byName;
		const [byImage] = await this.findEntities(null, { $and: [{ image: ref }, sightFilter(sight) ?? {}] }, { sort: ["createdAt"], limit: 1 });
		if (byImage) return byImage as unknown as ImageEntity;
		throw notFound("Image", ref);
	},

	async syncCatalog(this: ImagesThis, images: CatalogImage[]): Promise<LoadReport> {
		const report: LoadReport = { added: [], updated: [], unchanged: [], overridden: [] };
		for (const image of images) report[await this.upsertImage(image)].push(image.name);
		this.logger.info(`Image catalog from ${catalogDir()}: ${report.added.length} added, ${report.updated.length} updated, ${report.unchanged.length} unchanged, ${report.overridden.length} overridden through the API`);
		return report;
	},

	/** One entry by name; the unique index on name turns a racing second insert into an update. */
	async upsertImage(this: ImagesThis, image: CatalogImage): Promise<keyof LoadReport> {
		for (let attempt = 0; attempt < 3; attempt++) {
			const [stored] = await this.adapter.find({ query: { key: entryKey(image.name) }, limit: 1 });
			const now = new Date().toISOString();
			if (!stored) {
				try {
					await this.adapter.insert({ ...image, key: entryKey(image.name), source: "file", createdAt: now, updatedAt: now });
					return "added";
				} catch (err) {
					if (isDuplicateKey(err)) continue;
					throw err;
				}
			}
			// Taken first: NeDB's entityToObject hands back the stored object, and the id mapping moves _id.
			const storedId = (stored as { _id: unknown })._id;
			const current = this.adapter.afterRetrieveTransformID({ ...(await this.adapter.entityToObject(stored)) }, "id") as unknown as ImageEntity;
			// What the API made or changed stays as it made it: the file does not win over it.
			if (current.source !== "file" || current.overridden) return "overridden";
			if (catalogOf(current) === catalogOf(image)) return "unchanged";
			const gone = CATALOG_FIELDS.filter(f => image[f] === undefined && current[f] !== undefined);
			const update: Record<string, unknown> = { $set: { ...image, updatedAt: now } };
			if (gone.length) update.$unset = Object.fromEntries(gone.map(f => [f, true]));
			await this.adapter.updateById(storedId, update);
			return "updated";
		}
		throw new Error(`Could not store catalog image ${image.name}`);
	},

	/** The catalog is the whole platform's: an admin key confined to some namespaces does not manage it. */
	requireAdmin(this: ImagesThis, ctx: Context<unknown, Meta>): void {
		requirePlatformAdmin(ctx, "manage the image catalog");
	},
};

const ImagesService: ServiceSchema<ServiceSettingSchema, ImagesMethods, Record<string, never>, ImagesThis> = {
	name: "k8s.images",
	version: 1,
	// The writes first: a mixin listed earlier wins over moleculer-db's own create, update and remove.
	mixins: [createImageWritesMixin(), createDbMixin({ collection: "images", fields: FIELDS, unique: [["key"]] })],
	settings: { rest: "/v1/k8s/images" },
	hooks: {
		before: {
			// Field equality only: the catalog is small, and operators differ between NeDB and MongoDB.
			list: [plainQuery],
			find: [plainQuery, sightQuery],
			count: [plainQuery, sightQuery],
		},
		// Every answer of entries: the secret defaults they declare masked, but for Berth's own services (`scope: false`).
		after: { list: maskedForCaller, find: maskedForCaller, get: maskedForCaller, getImage: maskedForCaller, resolveName: maskedForCaller, create: maskedForCaller, update: maskedForCaller, remove: maskedForCaller },
	},
	actions: {
		insert: false,

		/** The whole catalog by name; `launchable` narrows it to the templates. */
		list: {
			rest: "GET /",
			params: listImagesParams,
			async handler(this: ImagesThis, ctx: Context<{ launchable?: boolean; query?: Record<string, unknown> }, Meta>): Promise<ImageEntity[]> {
				const query = { ...(ctx.params.query ?? {}), ...(ctx.params.launchable !== undefined ? { launchable: ctx.params.launchable ? true : { $ne: true } } : {}) };
				const scope = sightFilter(await this.sightOf(ctx));
				return (await this.findEntities(null, scope ? { $and: [query, scope] } : query, { sort: ["name"] })) as unknown as ImageEntity[];
			},
		},

		get: {
			rest: "GET /:id",
			params: imageIdParams,
			async handler(this: ImagesThis, ctx: Context<ImageIdParams, Meta>): Promise<ImageEntity> {
				return this.publicView<ImageEntity>(found(await this.visibleDoc(ctx, ctx.params.id), "Image", ctx.params.id));
			},
		},

		/** By catalog name, as the seed calls it. */
		resolveName: {
			visibility: "public",
			params: resolveImageNameParams,
			async handler(this: ImagesThis, ctx: Context<ImageNameParams, Meta>): Promise<ImageEntity> {
				return found(await this.findByName(ctx.params.name, await this.sightOf(ctx)), "Image", ctx.params.name);
			},
		},

		/** By catalog name or by image reference ("nginx:1.27"). */
		getImage: {
			rest: "GET /name/:name",
			summary: "Find a catalog entry by name or image reference",
			params: getImageParams,
			async handler(this: ImagesThis, ctx: Context<ImageNameParams, Meta>): Promise<ImageEntity> {
				return this.findImage(ctx, ctx.params.name);
			},
		},

		/**
		 * What a deployment's `image` names (mesh only, unmasked: what is deployed needs the secret
		 * defaults): an entry the caller sees by id or name, else, where `references` allows, an image
		 * reference IMAGE_POLICY admits, as an entry without defaults. Anything else: 422 on `field`.
		 */
		resolve: {
			visibility: "public",
			params: resolveImageParams,
			async handler(this: ImagesThis, ctx: Context<ResolveImageParams, Meta>): Promise<CatalogImage | ReturnType<typeof referenceEntry>> {
				const { ref, field = "image", references = false, sharedOnly = false } = ctx.params;
				const sight = sharedOnly ? [] : await this.sightOf(ctx);
				const byId = await this.loadDoc<ImageEntity>(ref);
				if (byId && sees(sight, byId)) return this.publicView<ImageEntity>(byId);
				const byName = await this.findByName(ref, sight);
				if (byName) return byName;
				return referenceEntry(ref, field, references, ctx.meta.userID !== SYSTEM_META.userID);
			},
		},

		/** Re-reads the catalog files: updates existing entries, adds new ones, never duplicates. */
		loadImages: {
			rest: "POST /load",
			summary: "Reload the catalog from its files (admin)",
			params: strictParams({}),
			async handler(this: ImagesThis, ctx: Context<Record<string, never>, Meta>): Promise<LoadReport> {
				this.requireAdmin(ctx);
				let images: CatalogImage[];
				try {
					images = loadCatalog();
				} catch (err) {
					if (err instanceof CatalogError) throw invalid(err.message, [{ field: err.field, message: err.message, type: "catalog", actual: err.file }]);
					throw err;
				}
				return this.syncCatalog(images);
			},
		},

		/** Empties the catalog (until the next load). */
		clean: {
			rest: "POST /clean",
			summary: "Remove every catalog entry (admin)",
			params: strictParams({}),
			async handler(this: ImagesThis, ctx: Context<Record<string, never>, Meta>): Promise<{ removed: number }> {
				this.requireAdmin(ctx);
				const all = await this.findEntities(null, {});
				for (const image of all) await this.removeEntity(ctx, String(image.id));
				return { removed: all.length };
			},
		},

		/** Builds an image from Git into a namespace's catalog: v1.k8s.builds does the work. */
		build: {
			retryPolicy: NOT_RETRIED,
			rest: "POST /build",
			summary: "Build an image from a Git repository into a namespace's catalog (see /api/v1/k8s/builds)",
			params: strictParams(createBuildParams),
			async handler(this: ImagesThis, ctx: Context<CreateBuildParams, Meta>): Promise<BuildEntity> {
				return ctx.call<BuildEntity, CreateBuildParams>("v1.k8s.builds.create", ctx.params);
			},
		},

		deploy: {
			retryPolicy: NOT_RETRIED,
			rest: "POST /:id/deploy",
			summary: "Deploy a catalog image into one of your namespaces",
			params: strictParams(deployImageParams),
			async handler(this: ImagesThis, ctx: Context<DeployImageParams, Meta>): Promise<unknown> {
				if (!ctx.meta.userID) throw unauthorized("Deploying needs a caller (ctx.meta.userID)");
				const image = await this.findImage(ctx, ctx.params.id);
				let ns: NamespaceEntity;
				if (ctx.params.namespace) {
					ns = await ctx.call<NamespaceEntity, LookupParams>("v1.k8s.namespaces.lookup", { ref: ctx.params.namespace });
				} else {
					const mine = await ctx.call<NamespaceEntity[], Record<string, unknown>>("v1.k8s.namespaces.find", { query: {}, limit: 2 });
					if (mine.length !== 1) throw invalidField("namespace", mine.length ? "You have several namespaces: name one in `namespace`" : "You have no namespace yet: create one first", ctx.params.namespace);
					ns = mine[0];
				}
				if (!this.broker.registry.actions.isAvailable("v1.k8s.deployments.create")) throw clusterUnavailable("The deployments service is not running");
				const request: DeploymentRequest = {
					name: ctx.params.name ?? image.name,
					namespace: ns.id,
					image: image.id,
					...(ctx.params.vHosts ? { vHosts: ctx.params.vHosts } : {}),
					...(ctx.params.replicas !== undefined ? { replicas: ctx.params.replicas } : {}),
				};
				return ctx.call("v1.k8s.deployments.create", request);
			},
		},
	},

	methods,

	/** A catalog file that fails validation stops the start, naming the file and the field. */
	async started(this: ImagesThis) {
		await migrateStore(this as unknown as LegacyStore);
		await this.syncCatalog(loadCatalog());
	},
};

/** What a caller sees of entries: secret defaults masked, but for Berth's own services, which deploy them. */
function maskedForCaller(ctx: Context<unknown, Meta>, answer: ImageEntity | ImageEntity[]): ImageEntity | ImageEntity[] {
	if (isUnscoped(ctx)) return answer;
	return Array.isArray(answer) ? answer.map(i => maskCatalogSecrets(i)) : maskCatalogSecrets(answer);
}

/** find and count (moleculer-db's): only what the caller sees. */
async function sightQuery(this: ImagesThis, ctx: Context<Record<string, unknown>, Meta>): Promise<void> {
	const scope = sightFilter(await this.sightOf(ctx));
	if (scope) ctx.params.query = ctx.params.query ? { $and: [ctx.params.query, scope] } : scope;
}

function plainQuery(ctx: Context<Record<string, unknown>, Meta>): void {
	let query = ctx.params.query;
	if (typeof query === "string") {
		try {
			query = JSON.parse(query);
		} catch {
			throw invalidField("query", "query must be a JSON object", query);
		}
	}
	if (query !== undefined && (typeof query !== "object" || query === null || Array.isArray(query))) throw invalidField("query", "query must be an object of field values", query);
	if (hasOperator(query)) throw invalidField("query", "query matches field values only (no $ operators)", query);
	if (ctx.params.search !== undefined) throw invalidField("search", "search is not supported; filter with query", ctx.params.search);
	ctx.params.query = query;
}

export default ImagesService;
