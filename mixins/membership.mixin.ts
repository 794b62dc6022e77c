import type { Context, Service, ServiceSchema, ServiceSettingSchema } from "moleculer";
import { forbidden, notFound, unauthorized } from "../lib/errors";
import type { DbMethods } from "./db.mixin";

/** What the gateway (or a calling service) puts in ctx.meta about the caller. */
export interface CallerMeta {
	userID?: string;
	roles?: string[];
	/** Set by the gateway for API keys confined to some namespaces (names). */
	namespaces?: string[];
}

export interface OwnedEntity {
	id: string;
	owner: string;
	members: string[];
}

/** The identity that background work (watchers, reconcilers) acts as. */
export const SYSTEM_META: CallerMeta = Object.freeze({ userID: "system", roles: ["admin"] }) as CallerMeta;

export function isAdmin(meta: CallerMeta | undefined): boolean {
	return Array.isArray(meta?.roles) && meta.roles.includes("admin");
}

/** Whether the caller may see an entity: its owner, a member, or an admin. Pure, for reuse in tests. */
export function canSee(meta: CallerMeta | undefined, entity: Partial<OwnedEntity>): boolean {
	if (isAdmin(meta)) return true;
	const user = meta?.userID;
	return Boolean(user) && (entity.owner === user || (Array.isArray(entity.members) && entity.members.includes(user as string)));
}

/** The stored-document filter for what a caller may see; undefined means no restriction. */
export function visibilityQuery(meta: CallerMeta | undefined): Record<string, unknown> | undefined {
	if (isAdmin(meta)) return undefined;
	const user = meta?.userID ?? "\u0000nobody";
	return { $or: [{ owner: user }, { members: user }] };
}

/**
 * Services call each other with `scope: false` to see past membership (as the seed's scopes do).
 * The gateway strips `scope` from every REST request, so only mesh code can opt out.
 */
export function isUnscoped(ctx: Context<unknown>): boolean {
	return (ctx.params as { scope?: unknown } | undefined)?.scope === false;
}

type Params = Record<string, unknown>;

function parseQuery(query: unknown): Record<string, unknown> {
	if (typeof query === "string") {
		try {
			const parsed: unknown = JSON.parse(query);
			return parsed && typeof parsed === "object" && !Array.isArray(parsed) ? (parsed as Record<string, unknown>) : {};
		} catch {
			return {};
		}
	}
	return query && typeof query === "object" && !Array.isArray(query) ? (query as Record<string, unknown>) : {};
}

/** Query operators a caller may not send: they run code or reach past the scope. */
const forbiddenOperators = new Set(["$where", "$function", "$expr", "$accumulator"]);

function hasForbiddenOperator(value: unknown): boolean {
	if (Array.isArray(value)) return value.some(hasForbiddenOperator);
	if (value && typeof value === "object") return Object.entries(value).some(([k, v]) => forbiddenOperators.has(k) || hasForbiddenOperator(v));
	return false;
}

export interface MembershipOptions {
	/** Human name for errors: "Namespace not found". */
	entityName: string;
	/** The namespace (name) an entity lives in, for keys confined to namespaces; `namespaceName` by default. */
	namespaceOf?: (doc: Record<string, unknown>) => string | undefined;
	/** Entities no caller sees any more (being deleted, say): 404 like missing ones. */
	hidden?: (doc: Record<string, unknown>) => boolean;
}

/**
 * Whether the caller may act on an entity: mesh code that opted out of scoping, an admin, the owner
 * or a member; and, for an API key confined to namespaces, only inside them. The one rule for it.
 */
export function mayAccess(ctx: Context<unknown, CallerMeta>, doc: Partial<OwnedEntity>, namespace: string | undefined): boolean {
	const confined = ctx.meta?.namespaces;
	if (confined && !(namespace !== undefined && confined.includes(namespace))) return false;
	return isUnscoped(ctx) || isAdmin(ctx.meta) || canSee(ctx.meta, doc);
}

/**
 * Ownership for moleculer-db services. list/find/count/get/update/remove see only what the caller
 * owns or is a member of (anything else is 404); owner and members change only through
 * addMember/removeMember/transfer. Actions declare `public: true` to be callable without a user.
 */
export function createMembershipMixin(opts: MembershipOptions): Partial<ServiceSchema> {
	const schema: Partial<ServiceSchema<ServiceSettingSchema, MembershipMethods, Record<string, unknown>, MembershipThis & Service>> = {
		settings: {},
		hooks: {
			before: {
				"*": [requireCaller],
				list: [scopeQuery],
				find: [scopeQuery],
				count: [scopeQuery],
				get: [checkIds],
				update: [checkIds, stripOwnership],
				remove: [checkIds],
				create: [setOwnership],
				insert: [refuseInsert],
			},
		},
		actions: membershipActions,
		methods: { ...membershipMethods(opts), ...scopeMethods },
	};
	return schema as Partial<ServiceSchema>;
}

function requireCaller(this: unknown, ctx: Context<Params, CallerMeta>): void {
	const action = ctx.action as { public?: boolean } | undefined;
	if (action?.public || isUnscoped(ctx)) return;
	if (!ctx.meta?.userID) throw unauthorized("This action needs a caller (ctx.meta.userID)");
}

function refuseInsert(this: unknown, ctx: Context<Params, CallerMeta>): void {
	if (!isUnscoped(ctx) && !isAdmin(ctx.meta)) throw forbidden("Bulk insert is for administrators");
}

/** Owner and members change only through these. */
const membershipActions = {
	addMember: {
		rest: "POST /:id/members",
		params: { id: "string", member: { type: "string", min: 1, max: 128 } },
		async handler(this: MembershipThis, ctx: Context<{ id: string; member: string }, CallerMeta>) {
			const entity = await this.findOwnedBy(ctx, ctx.params.id, "owner");
			const members = Array.from(new Set([...(entity.members ?? []), ctx.params.member])).filter(m => m !== entity.owner);
			return this.patchEntity(ctx, entity.id, { members });
		},
	},
	removeMember: {
		rest: "DELETE /:id/members/:member",
		params: { id: "string", member: { type: "string", min: 1, max: 128 } },
		async handler(this: MembershipThis, ctx: Context<{ id: string; member: string }, CallerMeta>) {
			const entity = await this.findOwnedBy(ctx, ctx.params.id, "owner");
			return this.patchEntity(ctx, entity.id, { members: (entity.members ?? []).filter(m => m !== ctx.params.member) });
		},
	},
	transfer: {
		rest: "POST /:id/transfer",
		params: { id: "string", owner: { type: "string", min: 1, max: 128 } },
		async handler(this: MembershipThis, ctx: Context<{ id: string; owner: string }, CallerMeta>) {
			const entity = await this.findOwnedBy(ctx, ctx.params.id, "owner");
			const members = (entity.members ?? []).filter(m => m !== ctx.params.owner);
			return this.patchEntity(ctx, entity.id, { owner: ctx.params.owner, members: entity.owner ? Array.from(new Set([...members, entity.owner])) : members });
		},
	},
};

/** The lookups that answer 404 for what the caller may not see (they name the entity in errors). */
function membershipMethods(opts: MembershipOptions) {
	return {
		/**
		 * The entity if the caller may see it (or, with role "owner", owns it), else 404:
		 * another tenant's entity looks exactly like a missing one.
		 */
		async findOwnedBy(this: MembershipThis, ctx: Context<unknown, CallerMeta>, id: string, role: "member" | "owner" = "member"): Promise<OwnedEntity & Record<string, unknown>> {
			const entity = (await this.findStored(id)) as (OwnedEntity & Record<string, unknown>) | undefined;
			if (!entity) throw notFound(opts.entityName, id);
			if (isUnscoped(ctx) || isAdmin(ctx.meta)) return entity;
			if (!canSee(ctx.meta, entity)) throw notFound(opts.entityName, id);
			if (role === "owner" && entity.owner !== ctx.meta.userID) throw forbidden(`Only the owner of this ${opts.entityName.toLowerCase()} can do that`);
			return entity;
		},
		/**
		 * The stored entity (decoded) if the caller may act on it (mayAccess), else 404: another
		 * tenant's entity looks exactly like a missing one.
		 */
		async findVisible(this: MembershipThis, ctx: Context<unknown, CallerMeta>, id: string): Promise<Record<string, unknown>> {
			const doc = await this.loadDoc(id);
			const namespaceOf = opts.namespaceOf ?? (d => d.namespaceName as string | undefined);
			if (!doc || opts.hidden?.(doc) || !mayAccess(ctx, doc as Partial<OwnedEntity>, namespaceOf(doc))) throw notFound(opts.entityName, id);
			return doc;
		},
	};
}

/** The caller-independent helpers: the member lookup, the system caller and the query scope. */
const scopeMethods = {
	/** The entity if the caller may see it, else 404. */
	async findOwned(this: MembershipThis, ctx: Context<unknown, CallerMeta>, id: string): Promise<OwnedEntity & Record<string, unknown>> {
		return this.findOwnedBy(ctx, id, "member");
	},
	/** A context acting as SYSTEM_META, for background work (watchers, reconcilers) that has no caller. */
	systemContext(this: MembershipThis & Service): Context<unknown, CallerMeta> {
		return this.broker.ContextFactory.create(this.broker, null as never, {}, { meta: { ...SYSTEM_META } }) as Context<unknown, CallerMeta>;
	},
	/** Adds the caller's visibility to a stored-document query. */
	scopedQuery(this: MembershipThis, ctx: Context<unknown, CallerMeta>, query: Record<string, unknown> = {}): Record<string, unknown> {
		const scope = isUnscoped(ctx) ? undefined : visibilityQuery(ctx.meta);
		if (!scope) return query;
		return Object.keys(query).length ? { $and: [query, scope] } : scope;
	},
};

function scopeQuery(this: MembershipThis, ctx: Context<Params, CallerMeta>): void {
	const query = parseQuery(ctx.params.query);
	if (hasForbiddenOperator(query)) throw forbidden("Query operators that run code are not allowed");
	ctx.params.query = this.scopedQuery(ctx, query);
}

async function checkIds(this: MembershipThis, ctx: Context<Params, CallerMeta>): Promise<void> {
	const ids = Array.isArray(ctx.params.id) ? ctx.params.id : [ctx.params.id];
	for (const id of ids) await this.findOwned(ctx, String(id));
}

function stripOwnership(ctx: Context<Params, CallerMeta>): void {
	delete ctx.params.owner;
	delete ctx.params.members;
}

function setOwnership(ctx: Context<Params, CallerMeta>): void {
	if (!ctx.meta.userID) throw unauthorized("Creating needs a caller (ctx.meta.userID)");
	ctx.params.owner = ctx.meta.userID;
	ctx.params.members = [];
}

/** Methods the membership mixin adds, for services' `this` typing. */
export interface MembershipMethods {
	findOwnedBy(ctx: Context<unknown, CallerMeta>, id: string, role?: "member" | "owner"): Promise<OwnedEntity & Record<string, unknown>>;
	findOwned(ctx: Context<unknown, CallerMeta>, id: string): Promise<OwnedEntity & Record<string, unknown>>;
	/** `T` is the service's stored shape. */
	findVisible<T = Record<string, unknown>>(ctx: Context<unknown, CallerMeta>, id: string): Promise<T>;
	scopedQuery(ctx: Context<unknown, CallerMeta>, query?: Record<string, unknown>): Record<string, unknown>;
	systemContext<M extends CallerMeta = CallerMeta>(): Context<unknown, M>;
}

type MembershipThis = MembershipMethods & DbMethods;
