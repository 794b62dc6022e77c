import * as fs from "node:fs";
import * as path from "node:path";
import type { Context, Service, ServiceSchema, ServiceSettingSchema } from "moleculer";
import DbService from "moleculer-db";
import type mongoose from "mongoose";
import { loadConfig } from "../lib/config";
import { KeyedSerial } from "../lib/keyed-serial";
import { loadMongoose, loadMongooseAdapter } from "../lib/mongo";
import { loadKeyring, resealStored, type ResealStore } from "../lib/secrets/keyring";
import { openFields, sealFields, type Keyring } from "../lib/secrets/seal";

/** Every stored entity carries these, whatever the backend. */
export interface BaseEntity {
	id: string;
	createdAt: string;
	updatedAt: string;
}

export interface DbMixinOptions {
	/** Collection (NeDB file name, MongoDB collection). */
	collection: string;
	/** Public fields; anything else stored is never returned. */
	fields: string[];
	/** Fields that must be unique; indexed in both backends. */
	unique?: string[][];
	/** Single fields unique where present (a sparse index: documents without the field are not indexed), in both backends. */
	sparseUnique?: string[];
	/** Turns a stored document back into the service's shape (e.g. lists of entries back into maps). */
	decode?: (raw: Record<string, unknown>) => Record<string, unknown>;
	/** The order of `findRaw`'s answers (moleculer-db sort fields); oldest first by default. */
	sort?: string[];
	/**
	 * Fields holding secret values: sealed at rest (lib/secrets), opened when read, and re-sealed at
	 * start when plain or under SECRETS_KEY_PREVIOUS. Never among `fields`.
	 */
	sealed?: string[];
	/** Override the environment: ":memory:" keeps NeDB in memory (unit tests). */
	dataDir?: string;
	mongoUri?: string;
}

/** moleculer-db settings shared by every Berth collection. */
interface DbSettings {
	idField: string;
	fields: string[];
	pageSize: number;
	maxPageSize: number;
	maxLimit: number;
}

function nedbAdapter(collection: string, dataDir: string): unknown {
	if (dataDir === ":memory:") return new DbService.MemoryAdapter();
	fs.mkdirSync(dataDir, { recursive: true });
	return new DbService.MemoryAdapter({ filename: path.join(dataDir, `${collection}.db`), autoload: true });
}

function mongooseAdapter(service: Service, collection: string, mongoUri: string): unknown {
	// The adapter reads `model` from the service's schema when it is initialized.
	(service.schema as { model?: unknown }).model = mongoModel(collection);
	const MongooseAdapter = loadMongooseAdapter();
	return new MongooseAdapter(mongoUri, { serverSelectionTimeoutMS: 5000 });
}

function mongoModel(collection: string): mongoose.Model<unknown> {
	const mongoose = loadMongoose();
	// Schemaless on purpose: validation happens in the actions' params, once, for both backends.
	const existing = mongoose.models[collection];
	if (existing) return existing as mongoose.Model<unknown>;
	// strictQuery off too: the adapter turns it on globally, which would drop every filter on a field this empty schema does not declare.
	const schema = new mongoose.Schema({}, { strict: false, strictQuery: false, versionKey: false, collection });
	return mongoose.model(collection, schema) as mongoose.Model<unknown>;
}

/** Where one service instance keeps its collection, decided when the service is created. */
export interface DbBackend {
	mongoUri?: string;
	dataDir: string;
}

/** The backend for `opts`, from the environment as it is now (not when the module was imported). */
export function resolveDbBackend(opts: Pick<DbMixinOptions, "dataDir" | "mongoUri">, env: NodeJS.ProcessEnv = process.env): DbBackend {
	const config = loadConfig(env);
	return {
		mongoUri: opts.mongoUri ?? config.mongoUri,
		dataDir: opts.dataDir ?? (env.DATA_DIR === ":memory:" ? ":memory:" : config.dataDir),
	};
}

/** The MongoDB / NeDB duplicate-key failure: two writes racing for one unique value. */
export function isDuplicateKey(err: unknown): boolean {
	const e = err as { code?: unknown; errorType?: unknown; message?: unknown };
	return e?.code === 11000 || e?.errorType === "uniqueViolated" || /duplicate key|unique constraint/i.test(String(e?.message ?? ""));
}

/**
 * A moleculer-db service over NeDB (one file per collection under DATA_DIR) or, with MONGO_URI,
 * MongoDB through mongoose. Service code is the same on both. The backend is chosen per service
 * instance in `created()`, so brokers started one after another in one process (tests running a
 * suite against NeDB and then MongoDB) each get the backend the environment names at that moment.
 */
export function createDbMixin(opts: DbMixinOptions): Partial<ServiceSchema> {
	const settings = dbSettings(opts);
	const schema: Partial<ServiceSchema<DbSettings & ServiceSettingSchema, DbMethods, Record<string, unknown>, DbServiceThis & Service>> & Record<string, unknown> = {
		mixins: [DbService as unknown as Partial<ServiceSchema>],
		settings,
		events: collectionEvents(opts),
		hooks: {
			before: {
				create: [stampCreated],
				insert: [stampCreated],
				update: [stampUpdated],
			},
		},
		methods: { ...storeMethods, ...collectionMethods(opts, settings) },
		...lifecycle(opts),
	};
	return schema as Partial<ServiceSchema>;
}

function dbSettings(opts: DbMixinOptions): DbSettings {
	return {
		idField: "id",
		fields: ["id", ...opts.fields.filter(f => f !== "id"), "createdAt", "updatedAt"],
		pageSize: 20,
		maxPageSize: 100,
		maxLimit: 1000,
	};
}

function collectionEvents(opts: DbMixinOptions): ServiceSchema["events"] {
	return {
		/** A write to this collection on any node: what this node remembers of it is stale. */
		[COLLECTION_CHANGED](this: DbServiceThis, ctx: Context<{ collection?: string }>) {
			if (ctx.params?.collection === opts.collection) this.queryCache.clear();
		},
	};
}

/** The methods that do not depend on the collection's options: stored documents in and out. */
const storeMethods = {
	/** The raw stored document (id field mapped), or undefined. Bypasses scoping: callers check. */
	async findStored(this: DbServiceThis, id: string): Promise<Record<string, unknown> | undefined> {
		if (typeof id !== "string" || id.length === 0) return undefined;
		const rows = (await this.adapter.find({ query: { _id: storedId(this, id) } })) as unknown[];
		if (!rows.length) return undefined;
		const doc = await this.adapter.entityToObject(rows[0]);
		return this.adapter.afterRetrieveTransformID(doc, "id") as Record<string, unknown>;
	},
	/** Stores a new entity and returns it as clients see it; fires the created hooks. */
	async insertEntity(this: DbServiceThis, ctx: Context, doc: Record<string, unknown>): Promise<Record<string, unknown>> {
		const now = new Date().toISOString();
		const saved = await this.adapter.insert({ ...sealedDoc(this, doc), createdAt: now, updatedAt: now });
		const json = (await this.transformDocuments(ctx, {}, saved)) as Record<string, unknown>;
		await this.entityChanged("created", json, ctx);
		return json;
	},
	/** Applies `$set` changes and returns the entity as clients see it; fires the updated hooks. */
	async patchEntity(this: DbServiceThis, ctx: Context, id: string, changes: Record<string, unknown>): Promise<Record<string, unknown>> {
		const saved = await this.writes.run(id, () => this.adapter.updateById(storedId(this, id), { $set: { ...sealedDoc(this, changes), updatedAt: new Date().toISOString() } }));
		const json = (await this.transformDocuments(ctx, {}, saved)) as Record<string, unknown>;
		await this.entityChanged("updated", json, ctx);
		return json;
	},
	/** Removes an entity by id; fires the removed hooks with the last stored state. */
	async removeEntity(this: DbServiceThis, ctx: Context, id: string): Promise<Record<string, unknown> | undefined> {
		const removed = await this.writes.run(id, () => this.adapter.removeById(storedId(this, id)));
		if (!removed) return undefined;
		const json = (await this.transformDocuments(ctx, {}, removed)) as Record<string, unknown>;
		await this.entityChanged("removed", json, ctx);
		return json;
	},
	/**
	 * How many stored documents match, unscoped. moleculer-db's NeDB `count` finds and copies every
	 * match to count it (a list page of 1,000 deployments spent most of its time there); this asks
	 * the store itself.
	 */
	async countEntities(this: DbServiceThis, query: Record<string, unknown>): Promise<number> {
		if (this.dbBackend.mongoUri) return this.adapter.count({ query });
		return this.adapter.db.countAsync(query);
	},
	/**
	 * The answer of a read remembered until the collection changes (on any node: every write goes
	 * through moleculer-db's entityChanged → clearCache, which tells every node). A read that was in
	 * flight while a write happened is not remembered. `key` must hold everything the answer
	 * depends on, the caller's identity included.
	 */
	async cachedQuery<T>(this: DbServiceThis, key: string, load: () => Promise<T>): Promise<T> {
		const hit = this.queryCache.get(key);
		if (hit) return hit.value as T;
		const generation = this.queryCache.generation;
		const value = await load();
		this.queryCache.set(key, value, generation);
		return value;
	},
	/**
	 * What `query` finds, as views, through cachedQuery (so `query` must hold the caller's scoping);
	 * with `limit` or `offset`, one page (oldest first, only its documents read) and the total.
	 */
	async cachedViews<V>(this: DbServiceThis & DbMethods, query: Record<string, unknown>, page: { limit?: number; offset?: number }, view: (doc: never) => V): Promise<{ items: V[]; total?: number }> {
		const paged = page.limit !== undefined || page.offset !== undefined;
		return this.cachedQuery(JSON.stringify([query, paged && page.limit, paged && page.offset]), async () => {
			if (!paged) return { items: (await this.findRaw<never>(query)).map(view) };
			const total = await this.countEntities(query);
			return { total, items: (await this.findRaw<never>(query, { limit: page.limit ?? 100, offset: page.offset ?? 0 })).map(view) };
		});
	},
	/** Raw query over stored documents, unscoped; returns client-shaped entities. */
	async findEntities(this: DbServiceThis, ctx: Context | null, query: Record<string, unknown>, extra: { sort?: string[]; limit?: number } = {}): Promise<Record<string, unknown>[]> {
		const docs = await this.adapter.find({ query, sort: extra.sort, limit: extra.limit });
		return (await this.transformDocuments(ctx, {}, docs)) as Record<string, unknown>[];
	},
};

/** The methods that depend on the collection's options: its name, order, codec and public fields. */
function collectionMethods(opts: DbMixinOptions, settings: DbSettings) {
	const decoded = (raw: Record<string, unknown>, service: DbServiceThis): Record<string, unknown> => {
		const opened = service.keyring ? openFields(raw, service.sealedFields, service.keyring) : raw;
		const doc = opts.decode ? opts.decode(opened) : opened;
		doc.id = String(doc.id);
		return doc;
	};
	return {
		/** Replaces moleculer-db's: no broker cacher here, but the query caches of every node forget the collection. */
		clearCache(this: DbServiceThis & Service): Promise<void> {
			this.queryCache.clear();
			void this.broker.broadcast(COLLECTION_CHANGED, { collection: opts.collection });
			return Promise.resolve();
		},
		/** Stored documents (decoded, id as a string) matching a query, unscoped, in the collection's order. */
		async findRaw(this: DbServiceThis, query: Record<string, unknown>, page: { limit?: number; offset?: number } = {}): Promise<Record<string, unknown>[]> {
			const rows = await this.adapter.find({ query, sort: opts.sort ?? ["createdAt"], ...page });
			const docs: Record<string, unknown>[] = [];
			for (const row of rows) docs.push(decoded(this.adapter.afterRetrieveTransformID(await this.adapter.entityToObject(row), "id"), this));
			return docs;
		},
		/** One stored document (decoded), unscoped, or undefined. */
		async loadDoc(this: DbServiceThis & DbMethods, id: string): Promise<Record<string, unknown> | undefined> {
			const raw = await this.findStored(id);
			return raw ? decoded(raw, this) : undefined;
		},
		/** What clients see of a stored document: its public fields, nothing else (a service may override it). */
		publicView(this: DbServiceThis, doc: object): Record<string, unknown> {
			const out: Record<string, unknown> = {};
			for (const f of settings.fields) if ((doc as Record<string, unknown>)[f] !== undefined) out[f] = (doc as Record<string, unknown>)[f];
			if (out.id !== undefined) out.id = String(out.id);
			return out;
		},
	};
}

/** created() picks the backend; started() makes the unique indexes. */
function lifecycle(opts: DbMixinOptions) {
	return {
		// Runs after moleculer-db's own created() (mixins' handlers run first), replacing the
		// placeholder adapter it made; the adapter connects in moleculer-db's started().
		created(this: DbServiceThis & Service) {
			this.queryCache = new QueryCache();
			this.writes = new KeyedSerial();
			const backend = resolveDbBackend(opts);
			this.dbBackend = backend;
			const adapter = (backend.mongoUri ? mongooseAdapter(this, opts.collection, backend.mongoUri) : nedbAdapter(opts.collection, backend.dataDir)) as { init(broker: unknown, service: unknown): void };
			adapter.init(this.broker, this);
			this.adapter = adapter as unknown as DbServiceThis["adapter"];
			this.sealedFields = opts.sealed ?? [];
			if (this.sealedFields.length) this.keyring = sealingKeyring(this, backend);
		},
		async started(this: DbServiceThis) {
			for (const fields of opts.unique ?? []) {
				const index = Object.fromEntries(fields.map(f => [f, 1]));
				if (this.dbBackend.mongoUri) await this.adapter.model.collection.createIndex(index, { unique: true });
				else await this.adapter.db.ensureIndex({ fieldName: fields.length === 1 ? fields[0] : fields, unique: true });
			}
			for (const field of opts.sparseUnique ?? []) {
				if (this.dbBackend.mongoUri) await this.adapter.model.collection.createIndex({ [field]: 1 }, { unique: true, sparse: true });
				else await this.adapter.db.ensureIndex({ fieldName: field, unique: true, sparse: true });
			}
			if (this.keyring) await resealAtStart(this as DbServiceThis & Service, this.keyring);
		},
	};
}

/** The keys of a collection with sealed fields; a shared database without SECRETS_KEY is warned about. */
function sealingKeyring(service: DbServiceThis & Service, backend: DbBackend): Keyring {
	const config = loadConfig();
	if (backend.mongoUri && !config.secretsKey) service.logger.warn("MONGO_URI is set but SECRETS_KEY is not: secret values are sealed with a key of this node's DATA_DIR, which other nodes sharing the database do not have");
	return loadKeyring({ secretsKey: config.secretsKey, secretsKeyPrevious: config.secretsKeyPrevious, dataDir: backend.dataDir }, message => service.logger.info(message));
}

/** `doc` with its sealed fields sealed, for a write. */
function sealedDoc(service: DbServiceThis, doc: Record<string, unknown>): Record<string, unknown> {
	return service.keyring ? sealFields(doc, service.sealedFields, service.keyring) : doc;
}

/**
 * The start's pass over the sealed fields (lib/secrets/keyring.ts). A NeDB file keeps the lines an
 * update replaced until it is compacted: after a pass that changed anything, it is, so no plain or
 * previously sealed value stays behind in it.
 */
async function resealAtStart(service: DbServiceThis & Service, ring: Keyring): Promise<void> {
	const store: ResealStore = {
		all: async () => {
			const rows = await service.adapter.find({ query: {} });
			return Promise.all(rows.map(async row => service.adapter.afterRetrieveTransformID({ ...(await service.adapter.entityToObject(row)) }, "id")));
		},
		replaceIf: async (id, field, expected, next) => (await service.adapter.updateMany({ _id: storedId(service, id), [field]: expected }, { $set: { [field]: next } })) > 0,
	};
	const { resealed } = await resealStored(store, service.sealedFields, ring);
	if (!resealed) return;
	service.logger.info(`Sealed ${resealed} stored secret value(s) under key ${ring.current.id}`);
	if (!service.dbBackend.mongoUri && service.dbBackend.dataDir !== ":memory:") await service.adapter.db.compactDatafileAsync();
	await service.clearCache();
}

/** Broadcast by every write of a DB-backed service, with the collection's name. */
export const COLLECTION_CHANGED = "berth.db.changed";

/** Answers of reads, forgotten all at once on a write; a bounded number of them. */
export class QueryCache {
	private readonly entries = new Map<string, { value: unknown }>();
	/** Bumped by every clear: an answer loaded across a clear is not kept. */
	generation = 0;

	constructor(private readonly maxEntries = 500) {}

	get(key: string): { value: unknown } | undefined {
		return this.entries.get(key);
	}

	set(key: string, value: unknown, loadedAtGeneration: number): void {
		if (loadedAtGeneration !== this.generation) return;
		if (this.entries.size >= this.maxEntries) this.entries.clear();
		this.entries.set(key, { value });
	}

	clear(): void {
		this.generation++;
		this.entries.clear();
	}
}

/** The stored form of an id: MongoDB ObjectIds, NeDB strings. */
function storedId(service: DbServiceThis, id: string): unknown {
	return service.dbBackend.mongoUri ? safeObjectId(id) : id;
}

function stampCreated(ctx: Context<Record<string, unknown>>): void {
	const now = new Date().toISOString();
	if (ctx.params && typeof ctx.params === "object") {
		ctx.params.createdAt = now;
		ctx.params.updatedAt = now;
	}
}

function stampUpdated(ctx: Context<Record<string, unknown>>): void {
	if (ctx.params && typeof ctx.params === "object") ctx.params.updatedAt = new Date().toISOString();
}

/** A string that cannot be an ObjectId matches nothing, instead of throwing a cast error (a 500). */
function safeObjectId(id: string): unknown {
	// A fresh ObjectId: a placeholder string would still be cast to ObjectId by mongoose, and throw.
	const mongoose = loadMongoose();
	return mongoose.Types.ObjectId.isValid(id) && /^[0-9a-f]{24}$/i.test(id) ? new mongoose.Types.ObjectId(id) : new mongoose.Types.ObjectId();
}

/** What the db mixin's methods rely on from moleculer-db at runtime. */
export interface DbServiceThis {
	dbBackend: DbBackend;
	queryCache: QueryCache;
	/** One write at a time per document on this node (lib/keyed-serial.ts says why). */
	writes: KeyedSerial;
	/** The collection's sealed fields and, when it has some, the keys they are sealed under. */
	sealedFields: readonly string[];
	keyring?: Keyring;
	clearCache(): Promise<void>;
	adapter: {
		find(params: { query?: Record<string, unknown>; sort?: string[]; limit?: number; offset?: number }): Promise<unknown[]>;
		count(params: { query?: Record<string, unknown> }): Promise<number>;
		insert(doc: Record<string, unknown>): Promise<unknown>;
		updateById(id: unknown, update: Record<string, unknown>): Promise<unknown>;
		updateMany(query: Record<string, unknown>, update: Record<string, unknown>): Promise<number>;
		removeById(id: unknown): Promise<unknown>;
		entityToObject(doc: unknown): Promise<Record<string, unknown>> | Record<string, unknown>;
		afterRetrieveTransformID(doc: Record<string, unknown>, idField: string): Record<string, unknown>;
		model: { collection: { createIndex(index: Record<string, number>, opts: { unique: boolean; sparse?: boolean }): Promise<unknown> } };
		db: { ensureIndex(opts: { fieldName: string | string[]; unique: boolean; sparse?: boolean }): Promise<unknown>; countAsync(query: Record<string, unknown>): Promise<number>; compactDatafileAsync(): Promise<void> };
	};
	transformDocuments(ctx: Context | null, params: Record<string, unknown>, docs: unknown): Promise<unknown>;
	entityChanged(type: "created" | "updated" | "removed", json: unknown, ctx: Context): Promise<void>;
}

/** Methods the db mixin adds, for services' `this` typing. */
export interface DbMethods {
	findStored(id: string): Promise<Record<string, unknown> | undefined>;
	insertEntity(ctx: Context, doc: Record<string, unknown>): Promise<Record<string, unknown>>;
	patchEntity(ctx: Context, id: string, changes: Record<string, unknown>): Promise<Record<string, unknown>>;
	removeEntity(ctx: Context, id: string): Promise<Record<string, unknown> | undefined>;
	findEntities(ctx: Context | null, query: Record<string, unknown>, extra?: { sort?: string[]; limit?: number }): Promise<Record<string, unknown>[]>;
	countEntities(query: Record<string, unknown>): Promise<number>;
	cachedQuery<T>(key: string, load: () => Promise<T>): Promise<T>;
	cachedViews<V, D = never>(query: Record<string, unknown>, page: { limit?: number; offset?: number }, view: (doc: D) => V): Promise<{ items: V[]; total?: number }>;
	/** `T` is the service's stored shape; the mixin does not check it. */
	findRaw<T = Record<string, unknown>>(query: Record<string, unknown>, page?: { limit?: number; offset?: number }): Promise<T[]>;
	loadDoc<T = Record<string, unknown>>(id: string): Promise<T | undefined>;
	publicView<T = Record<string, unknown>>(doc: object): T;
}

/** `this` inside a DB-backed service: moleculer's Service, moleculer-db's internals and the mixin's methods. */
// Extra first: a service's own typed methods (its publicView, say) are the overloads calls resolve to.
export type DbBackedService<Extra = unknown> = Service & DbServiceThis & Extra & DbMethods;
