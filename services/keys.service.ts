import * as fs from "node:fs";
import * as path from "node:path";
import type { Context, ServiceSchema, ServiceSettingSchema } from "moleculer";
import { loadConfig } from "../lib/config";
import { forbidden, notFound, unauthorized } from "../lib/errors";
import { hashesMatch, hashKey, issueKey, prefixOf } from "../lib/keys";
import { createDbMixin, type DbBackedService } from "../mixins/db.mixin";
import { isAdmin, type CallerMeta } from "../mixins/membership.mixin";

export interface KeyEntity {
	id: string;
	name: string;
	userID: string;
	roles: string[];
	namespaces?: string[];
	expiresAt?: string;
	revokedAt?: string;
	prefix: string;
	createdAt: string;
}

/** What the gateway learns from a valid key. */
export interface Identity {
	keyID: string;
	userID: string;
	roles: string[];
	namespaces?: string[];
}

export interface CreateKeyParams {
	name: string;
	roles?: string[];
	namespaces?: string[];
	expiresAt?: string;
	userID?: string;
}

const ROLES = ["admin", "user"];

type KeysThis = DbBackedService<{ bootstrapAdminKey(): Promise<void>; storeKey(doc: Record<string, unknown>): Promise<Record<string, unknown>> }>;

/** Whether a stored key still works at `now`. */
export function isKeyUsable(key: Pick<KeyEntity, "revokedAt" | "expiresAt">, now = Date.now()): boolean {
	if (key.revokedAt) return false;
	return !key.expiresAt || Date.parse(key.expiresAt) > now;
}

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
		get: false,
		list: {
			rest: "GET /",
			params: {},
			async handler(this: KeysThis, ctx: Context<unknown, CallerMeta>): Promise<KeyEntity[]> {
				const query = isAdmin(ctx.meta) ? {} : { userID: ctx.meta.userID };
				return (await this.findEntities(ctx, query, { sort: ["createdAt"] })) as unknown as KeyEntity[];
			},
		},
		create: {
			rest: "POST /",
			params: {
				name: { type: "string", min: 1, max: 100, trim: true },
				roles: { type: "array", items: { type: "enum", values: ROLES }, optional: true, max: 5 },
				namespaces: { type: "array", items: { type: "string", pattern: /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/, max: 63 }, optional: true, max: 100 },
				expiresAt: { type: "date", convert: true, optional: true },
				userID: { type: "string", min: 1, max: 128, optional: true },
			},
			async handler(this: KeysThis, ctx: Context<CreateKeyParams, CallerMeta>): Promise<KeyEntity & { key: string }> {
				if (!ctx.meta.userID) throw unauthorized();
				const admin = isAdmin(ctx.meta);
				const roles = ctx.params.roles?.length ? ctx.params.roles : ["user"];
				if (!admin && (roles.includes("admin") || (ctx.params.userID && ctx.params.userID !== ctx.meta.userID)))
					throw forbidden("Only administrators create admin keys or keys for other users");
				const expiresAt = ctx.params.expiresAt ? new Date(ctx.params.expiresAt).toISOString() : undefined;
				const issued = issueKey();
				const saved = await this.storeKey({
					name: ctx.params.name,
					userID: ctx.params.userID ?? ctx.meta.userID,
					roles,
					namespaces: ctx.params.namespaces ?? ctx.meta.namespaces,
					expiresAt,
					prefix: issued.prefix,
					hash: issued.hash,
				});
				return { ...(saved as unknown as KeyEntity), key: issued.key };
			},
		},
		revoke: {
			rest: "DELETE /:id",
			params: { id: { type: "string", min: 1, max: 64 } },
			async handler(this: KeysThis, ctx: Context<{ id: string }, CallerMeta>): Promise<KeyEntity> {
				const key = (await this.findStored(ctx.params.id)) as unknown as KeyEntity | undefined;
				if (!key || (!isAdmin(ctx.meta) && key.userID !== ctx.meta.userID)) throw notFound("Key", ctx.params.id);
				return (await this.patchEntity(ctx, key.id, { revokedAt: key.revokedAt ?? new Date().toISOString() })) as unknown as KeyEntity;
			},
		},
		/** Used by the gateway: the identity behind a presented key, or 401. */
		authenticate: {
			visibility: "public",
			public: true,
			params: { key: { type: "string", min: 1, max: 512 } },
			async handler(this: KeysThis, ctx: Context<{ key: string }>): Promise<Identity> {
				const prefix = prefixOf(ctx.params.key);
				if (!prefix) throw unauthorized("Invalid API key");
				const [stored] = await this.adapter.find({ query: { prefix } });
				const key = stored ? ((await this.adapter.entityToObject(stored)) as unknown as KeyEntity & { hash: string; _id?: unknown }) : undefined;
				if (!key || !hashesMatch(key.hash, hashKey(ctx.params.key))) throw unauthorized("Invalid API key");
				if (!isKeyUsable(key)) throw unauthorized(key.revokedAt ? "This API key has been revoked" : "This API key has expired");
				return { keyID: String(key._id ?? key.id), userID: key.userID, roles: key.roles, namespaces: key.namespaces?.length ? key.namespaces : undefined };
			},
		},
	},
	methods: {
		async storeKey(this: KeysThis, doc: Record<string, unknown>) {
			const now = new Date().toISOString();
			const saved = await this.adapter.insert({ ...doc, createdAt: now, updatedAt: now });
			return (await this.transformDocuments(null, {}, saved)) as Record<string, unknown>;
		},
		/** First start: an admin key printed once and saved to DATA_DIR/admin.key (0600), unless BERTH_ADMIN_KEY is set. */
		async bootstrapAdminKey(this: KeysThis) {
			const fromEnv = process.env.BERTH_ADMIN_KEY;
			if (fromEnv) {
				const prefix = prefixOf(fromEnv) ?? "env";
				const hash = hashKey(fromEnv);
				const existing = await this.adapter.find({ query: { hash } });
				if (!existing.length) await this.storeKey({ name: "admin (BERTH_ADMIN_KEY)", userID: "admin", roles: ["admin"], prefix, hash });
				return;
			}
			const admins = await this.adapter.find({ query: { userID: "admin", revokedAt: { $exists: false } } });
			if (admins.length) return;
			const issued = issueKey();
			await this.storeKey({ name: "admin (first start)", userID: "admin", roles: ["admin"], prefix: issued.prefix, hash: issued.hash });
			const config = loadConfig();
			if (process.env.DATA_DIR !== ":memory:") {
				fs.mkdirSync(config.dataDir, { recursive: true });
				const file = path.join(config.dataDir, "admin.key");
				fs.writeFileSync(file, issued.key + "\n", { mode: 0o600 });
				fs.chmodSync(file, 0o600);
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
