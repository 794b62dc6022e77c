import * as path from "node:path";
import type { Context, ServiceSchema, ServiceSettingSchema } from "moleculer";
import { loadConfig, RESERVED_USER_IDS } from "../lib/config";
import { authenticateParams, createKeyParams, keyIdParams, type CreateKeyParams, type Identity, type KeyEntity } from "../lib/api/keys";
import { strictParams, type IdParams } from "../lib/api/rules";
import { answerCreated, type RestMeta } from "../lib/api/rest";
import { forbidden, invalid, NOT_RETRIED, notFound, unauthorized } from "../lib/errors";
import { writeOwnerOnlyFile } from "../lib/secrets/keyring";
import { confinementFor, mayManageKey, expiryFor, hashesMatch, hashKey, isKeyUsable, issueKey, prefixOf } from "../lib/keys";
import { createDbMixin, type DbBackedService } from "../mixins/db.mixin";
import { isAdmin, type CallerMeta } from "../mixins/membership.mixin";

/** What create, list and get may see of the caller: its own keys, or every key for an admin. */
type KeysMeta = CallerMeta & RestMeta & { keyExpiresAt?: string };

type StoredKey = KeyEntity & { hash: string; _id?: unknown };

type KeysThis = DbBackedService<{
	bootstrapAdminKey(): Promise<void>;
	storeKey(doc: Record<string, unknown>): Promise<Record<string, unknown>>;
	findVisibleKey(ctx: Context<unknown, KeysMeta>, id: string): Promise<KeyEntity>;
	findByPresentedKey(key: string): Promise<StoredKey | undefined>;
}>;

/**
 * API keys. Only a SHA-256 hash of each key is stored; the key itself is shown once, at creation.
 * The first start creates an admin key (or takes BERTH_ADMIN_KEY).
 */
const KeysService: ServiceSchema<ServiceSettingSchema, Record<string, never>, Record<string, never>, KeysThis> = {
	name: "keys",
	version: 1,
	mixins: [createDbMixin({ collection: "keys", fields: ["name", "userID", "roles", "namespaces", "expiresAt", "revokedAt", "prefix"] })],
	settings: { rest: "/v1/keys" },
	actions: {
		// moleculer-db's generic actions are not part of this API.
		find: false,
		count: false,
		insert: false,
		update: false,
		remove: false,
		/** The caller's keys (an admin's: all keys), without key material. */
		list: {
			rest: "GET /",
			params: {},
			async handler(this: KeysThis, ctx: Context<unknown, KeysMeta>): Promise<KeyEntity[]> {
				if (!ctx.meta.userID) throw unauthorized();
				const query = isAdmin(ctx.meta) ? {} : { userID: ctx.meta.userID };
				const keys = (await this.findEntities(ctx, query, { sort: ["createdAt"] })) as unknown as KeyEntity[];
				return keys.filter(key => mayManageKey(ctx.meta, key));
			},
		},
		get: {
			rest: "GET /:id",
			params: keyIdParams,
			async handler(this: KeysThis, ctx: Context<IdParams, KeysMeta>): Promise<KeyEntity> {
				return this.findVisibleKey(ctx, ctx.params.id);
			},
		},
		create: {
			retryPolicy: NOT_RETRIED,
			rest: "POST /",
			params: strictParams(createKeyParams),
			/** Answers the new key once, in `key`; only its hash is kept. */
			async handler(this: KeysThis, ctx: Context<CreateKeyParams, KeysMeta>): Promise<KeyEntity & { key: string }> {
				if (!ctx.meta.userID) throw unauthorized();
				const admin = isAdmin(ctx.meta);
				const roles = ctx.params.roles?.length ? Array.from(new Set(ctx.params.roles)) : ["user"];
				if (!admin && (roles.includes("admin") || (ctx.params.userID && ctx.params.userID !== ctx.meta.userID)))
					throw forbidden("Only administrators create admin keys or keys for other users");
				// Berth's own identities hold what no tenant may use (the cluster's default, the jobs' namespace, keyless launches): no key acts as one.
				if (ctx.params.userID && RESERVED_USER_IDS.includes(ctx.params.userID)) throw invalid(`"${ctx.params.userID}" is an identity Berth uses for itself; no key is issued for it`, [{ field: "userID", message: "reserved", type: "reserved", actual: ctx.params.userID }]);
				const namespaces = confinementFor(ctx.params.namespaces, ctx.meta.namespaces);
				const expiresAt = expiryFor(ctx.params.expiresAt, ctx.meta.keyExpiresAt);
				const issued = issueKey();
				const saved = await this.storeKey({
					name: ctx.params.name,
					userID: ctx.params.userID ?? ctx.meta.userID,
					roles,
					namespaces,
					expiresAt,
					prefix: issued.prefix,
					hash: issued.hash,
				});
				return answerCreated(ctx, `/api/v1/keys/${String(saved.id)}`, { ...(saved as unknown as KeyEntity), key: issued.key });
			},
		},
		revoke: {
			rest: "DELETE /:id",
			params: keyIdParams,
			async handler(this: KeysThis, ctx: Context<IdParams, KeysMeta>): Promise<KeyEntity> {
				const key = await this.findVisibleKey(ctx, ctx.params.id);
				if (key.revokedAt) return key;
				const revoked = (await this.patchEntity(ctx, key.id, { revokedAt: new Date().toISOString() })) as unknown as KeyEntity;
				// Every gateway forgets the key it may still remember as valid.
				await ctx.broadcast("keys.revoked", { keyID: String(key.id) });
				return revoked;
			},
		},
		/** Mesh only: whether a key (by id) still works; long-lived answers re-check it (lib/access-watch.ts). */
		usable: {
			visibility: "public",
			public: true,
			params: { id: { type: "string", min: 1, max: 128 } },
			async handler(this: KeysThis, ctx: Context<{ id: string }>): Promise<boolean> {
				const key = await this.loadDoc<StoredKey>(ctx.params.id);
				return Boolean(key && isKeyUsable(key));
			},
		},
		/** Used by the gateway: the identity behind a presented key, or 401. */
		authenticate: {
			visibility: "public",
			public: true,
			params: authenticateParams,
			async handler(this: KeysThis, ctx: Context<{ key: string }>): Promise<Identity> {
				const key = await this.findByPresentedKey(ctx.params.key);
				if (!key || typeof key.hash !== "string" || !hashesMatch(key.hash, hashKey(ctx.params.key))) throw unauthorized("Invalid API key");
				if (!isKeyUsable(key)) throw unauthorized(key.revokedAt ? "This API key has been revoked" : "This API key has expired");
				return {
					keyID: String(key._id ?? key.id),
					userID: key.userID,
					roles: Array.isArray(key.roles) ? key.roles : [],
					namespaces: Array.isArray(key.namespaces) && key.namespaces.length ? key.namespaces : undefined,
					expiresAt: key.expiresAt,
				};
			},
		},
	},
	methods: {
		/** A stored key the caller may see (its own; any for an admin), else 404. */
		async findVisibleKey(this: KeysThis, ctx: Context<unknown, KeysMeta>, id: string): Promise<KeyEntity> {
			if (!ctx.meta.userID) throw unauthorized();
			const stored = await this.loadDoc<StoredKey>(id);
			if (!stored || !mayManageKey(ctx.meta, stored)) throw notFound("Key", id);
			// Only the public fields: the stored document also holds the hash.
			return this.publicView<KeyEntity>(stored);
		},
		/** Our own keys are found by their id part; any other string (a BERTH_ADMIN_KEY of another shape) by its hash. */
		async findByPresentedKey(this: KeysThis, presented: string): Promise<StoredKey | undefined> {
			const prefix = prefixOf(presented);
			const query = prefix ? { prefix } : { hash: hashKey(presented) };
			const [stored] = await this.adapter.find({ query, limit: 1 });
			const key = stored ? ((await this.adapter.entityToObject(stored)) as unknown as StoredKey) : undefined;
			// The store's answer is checked, not trusted: a backend that ignored the filter must not hand back someone else's key.
			return key && (prefix ? key.prefix === prefix : key.hash === query.hash) ? key : undefined;
		},
		async storeKey(this: KeysThis, doc: Record<string, unknown>) {
			const now = new Date().toISOString();
			const saved = await this.adapter.insert({ ...doc, createdAt: now, updatedAt: now });
			return (await this.transformDocuments(null, {}, saved)) as Record<string, unknown>;
		},
		/** First start: an admin key printed once and saved to DATA_DIR/admin.key (0600), unless BERTH_ADMIN_KEY is set. */
		async bootstrapAdminKey(this: KeysThis) {
			const fromEnv = process.env.BERTH_ADMIN_KEY?.trim();
			if (fromEnv) {
				if (fromEnv.length < 16) throw new Error("BERTH_ADMIN_KEY must be at least 16 characters");
				const hash = hashKey(fromEnv);
				const envName = "admin (BERTH_ADMIN_KEY)";
				// A changed BERTH_ADMIN_KEY replaces the previous one rather than adding a second admin key.
				const previous = (await this.adapter.find({ query: { name: envName } })) as unknown[];
				for (const doc of previous) {
					const old = (await this.adapter.entityToObject(doc)) as unknown as StoredKey;
					if (old.hash !== hash && !old.revokedAt) await this.adapter.updateById(old._id, { $set: { revokedAt: new Date().toISOString() } });
				}
				const existing = await this.findByPresentedKey(fromEnv);
				if (!existing || existing.hash !== hash) await this.storeKey({ name: envName, userID: "admin", roles: ["admin"], prefix: prefixOf(fromEnv) ?? "env", hash });
				else if (existing.revokedAt) this.logger.warn("BERTH_ADMIN_KEY has been revoked through the API; set a new one to regain admin access");
				return;
			}
			const admins = await this.adapter.find({ query: { userID: "admin", revokedAt: { $exists: false } } });
			if (admins.length) return;
			const issued = issueKey();
			await this.storeKey({ name: "admin (first start)", userID: "admin", roles: ["admin"], prefix: issued.prefix, hash: issued.hash });
			const config = loadConfig();
			if (process.env.DATA_DIR !== ":memory:") {
				const file = path.join(config.dataDir, "admin.key");
				writeOwnerOnlyFile(file, issued.key + "\n");
				this.logger.info(`Admin API key (shown once, also saved to ${file}): ${issued.key}`);
			} else {
				this.logger.info(`Admin API key (shown once): ${issued.key}`);
			}
		},
	},
	async started(this: KeysThis) {
		await this.bootstrapAdminKey();
	},
};

export default KeysService;
