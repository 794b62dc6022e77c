import type { Context, Service, ServiceSchema, ServiceSettingSchema } from "moleculer";
import { RESERVED_USER_IDS } from "../lib/config";
import { forbidden, invalid, notFound, unauthorized } from "../lib/errors";
import { parseListQuery } from "../lib/api/query";
import { MEMBER_ROLES, allows, roleIn, withMember, withOwner, withoutMember, type MemberRole, type NamespaceRole } from "../lib/namespaces/roles";
import type { NamespaceAccess } from "../lib/api/namespaces";
import type { DbMethods } from "./db.mixin";
import { strictParams } from "../lib/api/rules";

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

/**
 * Services call each other with `scope: false` to see past membership (as the seed's scopes do).
 * The gateway strips `scope` from every REST request, so only mesh code can opt out.
 */
export function isUnscoped(ctx: Context<unknown>): boolean {
	return (ctx.params as { scope?: unknown } | undefined)?.scope === false;
}

/**
 * Platform-wide actions (the image catalog, domain grants): mesh code that opted out of scoping or
 * an admin key not confined to namespaces; anyone else 403 (401 without an identity).
 */
export function requirePlatformAdmin(ctx: Context<unknown, CallerMeta>, what: string): void {
	if (isUnscoped(ctx) || (isAdmin(ctx.meta) && !ctx.meta.namespaces)) return;
	if (!ctx.meta?.userID) throw unauthorized();
	throw forbidden(isAdmin(ctx.meta) ? `An API key confined to namespaces does not ${what}` : `Only administrators ${what}`);
}

/** Whether a key confined to some namespaces keeps the caller out of `namespace` (a name). */
export function confinedOut(meta: CallerMeta | undefined, namespace: string | undefined): boolean {
	const confined = meta?.namespaces;
	return Boolean(confined) && !(namespace !== undefined && (confined as string[]).includes(namespace));
}

/**
 * The caller's role on an entity that decides its own access (a namespace, an application
 * instance, a compat job): from its owner and members; an admin acts as owner. A key confined
 * elsewhere has none. Mesh code that opted out of scoping is the owner.
 */
export function selfRole(ctx: Context<unknown, CallerMeta>, doc: Partial<OwnedEntity> & { memberRoles?: unknown }, namespace: string | undefined): NamespaceRole | undefined {
	if (isUnscoped(ctx)) return "owner";
	if (confinedOut(ctx.meta, namespace)) return undefined;
	if (isAdmin(ctx.meta)) return "owner";
	return roleIn({ owner: doc.owner ?? "", members: doc.members, memberRoles: doc.memberRoles as never }, ctx.meta?.userID);
}

/** Whether the caller may see an entity that decides its own access (selfRole). */
export function mayAccess(ctx: Context<unknown, CallerMeta>, doc: Partial<OwnedEntity>, namespace: string | undefined): boolean {
	return selfRole(ctx, doc, namespace) !== undefined;
}

type Params = Record<string, unknown>;

export interface MembershipOptions {
	/** Human name for errors: "Namespace not found". */
	entityName: string;
	/**
	 * Where access comes from. "namespace" (the default): the caller's role in the entity's
	 * namespace (its stored `namespace` id), decided at call time by v1.k8s.namespaces; the entity's
	 * `owner` only records who made it. "self": the entity's own owner and members (namespaces
	 * themselves, application instances in Berth's shared namespace).
	 */
	accessFrom?: "namespace" | "self";
	/** Entities of a namespaced service that decide their own access (the seed's jobs in Berth's compat namespace). */
	selfDecided?: { field: string; value: unknown };
	/** The stored field holding the namespace's name, for confined keys; `namespaceName` by default. */
	namespaceField?: string;
	/** The fields a caller may filter lists on (`query`); none by default. */
	queryFields?: readonly string[];
	/** Entities no caller sees any more (being deleted, say): 404 like missing ones. */
	hidden?: (doc: Record<string, unknown>) => boolean;
}

/**
 * Access for moleculer-db services, decided at call time: get/list/find/count need `view`,
 * update/remove `edit`, membership `admin` and transfer of a namespace `owner`. Another tenant's
 * entity is a 404, exactly like a missing one; a member whose role is too small gets a 403.
 * Actions declare `public: true` to be callable without a user.
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
				get: [checkIds("view")],
				update: [checkIds("edit"), stripOwnership],
				remove: [checkIds("edit")],
				create: [setOwnership],
				insert: [refuseInsert],
			},
		},
		actions: membershipActions(opts),
		methods: accessMethods(opts),
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

/** A new owner Berth uses for itself (`system`, …) would hand the entity to Berth's own work. */
export function checkNewOwner(owner: string): void {
	if (RESERVED_USER_IDS.includes(owner)) throw invalid(`"${owner}" is an identity Berth uses for itself`, [{ field: "owner", message: `"${owner}" is reserved`, type: "reserved", actual: owner }]);
}

const memberRule = { type: "string", min: 1, max: 128 };

/**
 * Owner and members change only through these. On a namespace (and other self-deciding
 * entities) they are the access list; on what a namespace holds, access is the namespace's, so
 * adding a member there is refused with the route that does it, and transfer records a new owner.
 */
function membershipActions(opts: MembershipOptions) {
	const fromNamespace = (opts.accessFrom ?? "namespace") === "namespace";
	const refuseMembers = (entity: Record<string, unknown>): never => {
		throw invalid(`Access to a ${opts.entityName.toLowerCase()} is its namespace's: add members to namespace ${String(entity.namespaceName ?? entity.namespace)} (POST /api/v1/k8s/namespaces/:id/members)`, [
			{ field: "member", message: "Members belong to the namespace", type: "membership" },
		]);
	};
	return {
		addMember: {
			rest: "POST /:id/members",
			params: strictParams({ id: "string", member: memberRule, role: { type: "enum", values: [...MEMBER_ROLES], optional: true } }),
			async handler(this: MembershipThis, ctx: Context<{ id: string; member: string; role?: MemberRole }, CallerMeta>) {
				const entity = await this.findVisible<OwnedEntity & Record<string, unknown>>(ctx, ctx.params.id, "admin");
				if (fromNamespace) return refuseMembers(entity);
				return changeAccess(this, ctx, entity.id, withMember(entity, ctx.params.member, ctx.params.role));
			},
		},
		removeMember: {
			rest: "DELETE /:id/members/:member",
			params: { id: "string", member: memberRule },
			async handler(this: MembershipThis, ctx: Context<{ id: string; member: string }, CallerMeta>) {
				const entity = await this.findVisible<OwnedEntity & Record<string, unknown>>(ctx, ctx.params.id, "admin");
				if (fromNamespace) return refuseMembers(entity);
				return changeAccess(this, ctx, entity.id, withoutMember(entity, ctx.params.member));
			},
		},
		transfer: {
			rest: "POST /:id/transfer",
			params: strictParams({ id: "string", owner: memberRule }),
			async handler(this: MembershipThis, ctx: Context<{ id: string; owner: string }, CallerMeta>) {
				checkNewOwner(ctx.params.owner);
				const entity = await this.findVisible<OwnedEntity & Record<string, unknown>>(ctx, ctx.params.id, fromNamespace ? "admin" : "owner");
				return changeAccess(this, ctx, entity.id, fromNamespace ? { owner: ctx.params.owner } : withOwner(entity, ctx.params.owner));
			},
		},
	};
}

/**
 * Stores a change of owner or members, then tells every node (`access.changed`), so that what is
 * open for a caller (streams, followed logs) re-checks at once rather than at its next interval.
 */
async function changeAccess(self: MembershipThis, ctx: Context<unknown, CallerMeta>, id: string, changes: Record<string, unknown>): Promise<Record<string, unknown>> {
	const saved = await self.patchEntity(ctx, id, changes);
	await ctx.broadcast("access.changed", { id });
	return saved;
}

/** The one place access is decided: findVisible for one entity, scopedQuery for lists. */
function accessMethods(opts: MembershipOptions) {
	const fromNamespace = (opts.accessFrom ?? "namespace") === "namespace";
	const namespaceField = opts.namespaceField ?? "namespaceName";
	const decidesItself = (doc: Record<string, unknown>) => !fromNamespace || (opts.selfDecided !== undefined && doc[opts.selfDecided.field] === opts.selfDecided.value);
	return {
		/** The caller's role on a stored entity, or undefined when it is none of theirs. */
		async roleOn(this: MembershipThis, ctx: Context<unknown, CallerMeta>, doc: Record<string, unknown>): Promise<NamespaceRole | undefined> {
			const namespace = doc[namespaceField] as string | undefined;
			if (decidesItself(doc) || isUnscoped(ctx) || (isAdmin(ctx.meta) && !ctx.meta.namespaces)) return selfRole(ctx, doc as Partial<OwnedEntity>, namespace);
			if (confinedOut(ctx.meta, namespace)) return undefined;
			const [grant] = await namespaceAccess(ctx, [String(doc.namespace)]);
			return grant?.role;
		},
		/**
		 * The stored entity (decoded) if the caller's role allows `need`. None: 404, as if it did not
		 * exist (another tenant's looks exactly like a missing one); too small a role: 403.
		 */
		async findVisible(this: MembershipThis, ctx: Context<unknown, CallerMeta>, id: string, need: NamespaceRole = "view"): Promise<Record<string, unknown>> {
			return this.visibleDoc(ctx, await this.loadDoc(id), id, need);
		},
		/** findVisible's decision on a document already loaded (undefined: not found), asked as `id`. */
		async visibleDoc(this: MembershipThis, ctx: Context<unknown, CallerMeta>, doc: Record<string, unknown> | undefined, id: string, need: NamespaceRole = "view"): Promise<Record<string, unknown>> {
			const role = doc && !opts.hidden?.(doc) ? await this.roleOn(ctx, doc) : undefined;
			if (!doc || !role) throw notFound(opts.entityName, id);
			if (!allows(role, need)) throw forbidden(`Your role here (${role}) does not allow this; it needs ${need}`);
			return doc;
		},
		/** `query` narrowed to what the caller may see (confinement included). */
		async scopedQuery(this: MembershipThis, ctx: Context<unknown, CallerMeta>, query: Record<string, unknown> = {}): Promise<Record<string, unknown>> {
			if (isUnscoped(ctx)) return query;
			const meta = ctx.meta ?? {};
			const user = meta.userID ?? "\u0000nobody";
			const confined = meta.namespaces ? { [namespaceField]: { $in: meta.namespaces } } : undefined;
			const own = { $or: [{ owner: user }, { members: user }] };
			let scope: Record<string, unknown> | undefined;
			if (!fromNamespace) scope = isAdmin(meta) ? confined : and(own, confined);
			else if (isAdmin(meta) && !confined) scope = undefined;
			else {
				const inNamespaces = { namespace: { $in: (await namespaceAccess(ctx)).map(g => g.id) } };
				const selfScope = opts.selfDecided && { $and: [{ [opts.selfDecided.field]: opts.selfDecided.value }, isAdmin(meta) ? {} : own, confined ?? {}] };
				scope = selfScope ? { $or: [inNamespaces, selfScope] } : inNamespaces;
			}
			return and(query, scope) ?? {};
		},
		/** A context acting as SYSTEM_META, for background work (watchers, reconcilers) that has no caller. */
		systemContext(this: MembershipThis & Service): Context<unknown, CallerMeta> {
			return this.broker.ContextFactory.create(this.broker, null as never, {}, { meta: { ...SYSTEM_META } }) as Context<unknown, CallerMeta>;
		},
		/** The documented list filter (a 422 on `query` otherwise), scoped to the caller. Mesh code that opted out of scoping filters as it likes. */
		async listQuery(this: MembershipThis, ctx: Context<unknown, CallerMeta>, raw: unknown): Promise<Record<string, unknown>> {
			if (isUnscoped(ctx) && raw && typeof raw === "object") return raw as Record<string, unknown>;
			return this.scopedQuery(ctx, parseListQuery(raw, opts.queryFields ?? []));
		},
	};
}

/** Both filters, or the one that is there. */
function and(a: Record<string, unknown> | undefined, b: Record<string, unknown> | undefined): Record<string, unknown> | undefined {
	const terms = [a, b].filter((t): t is Record<string, unknown> => t !== undefined && Object.keys(t).length > 0);
	return terms.length === 0 ? undefined : terms.length === 1 ? terms[0] : { $and: terms };
}

/** The caller's roles in the given namespaces (ids), or in every namespace they have one in. */
async function namespaceAccess(ctx: Context<unknown, CallerMeta>, ids?: string[]): Promise<NamespaceAccess[]> {
	return ctx.call<NamespaceAccess[], { ids?: string[] }>("v1.k8s.namespaces.access", ids ? { ids } : {});
}

async function scopeQuery(this: MembershipThis, ctx: Context<Params, CallerMeta>): Promise<void> {
	ctx.params.query = await this.listQuery(ctx, ctx.params.query);
}

function checkIds(need: NamespaceRole) {
	return async function (this: MembershipThis, ctx: Context<Params, CallerMeta>): Promise<void> {
		const ids = Array.isArray(ctx.params.id) ? ctx.params.id : [ctx.params.id];
		for (const id of ids) await this.findVisible(ctx, String(id), need);
	};
}

function stripOwnership(ctx: Context<Params, CallerMeta>): void {
	delete ctx.params.owner;
	delete ctx.params.members;
	delete ctx.params.memberRoles;
}

function setOwnership(ctx: Context<Params, CallerMeta>): void {
	if (!ctx.meta.userID) throw unauthorized("Creating needs a caller (ctx.meta.userID)");
	ctx.params.owner = ctx.meta.userID;
	ctx.params.members = [];
	delete ctx.params.memberRoles;
}

/** Methods the membership mixin adds, for services' `this` typing. */
export interface MembershipMethods {
	roleOn(ctx: Context<unknown, CallerMeta>, doc: Record<string, unknown>): Promise<NamespaceRole | undefined>;
	/** `T` is the service's stored shape. */
	findVisible<T = Record<string, unknown>>(ctx: Context<unknown, CallerMeta>, id: string, need?: NamespaceRole): Promise<T>;
	visibleDoc<T = Record<string, unknown>>(ctx: Context<unknown, CallerMeta>, doc: Record<string, unknown> | undefined, id: string, need?: NamespaceRole): Promise<T>;
	scopedQuery(ctx: Context<unknown, CallerMeta>, query?: Record<string, unknown>): Promise<Record<string, unknown>>;
	listQuery(ctx: Context<unknown, CallerMeta>, raw: unknown): Promise<Record<string, unknown>>;
	systemContext<M extends CallerMeta = CallerMeta>(): Context<unknown, M>;
}

type MembershipThis = MembershipMethods & DbMethods;

/**
 * A before hook of list/find/count for entities of a namespace (volumes, ConfigMaps, Secrets):
 * `namespace` (id or name) narrows to one namespace the caller may see; a key confined to some
 * namespaces sees only theirs; one being removed is gone for its callers already. Runs after the
 * membership scope.
 */
export async function namespaceFilter(ctx: Context<Record<string, unknown>, CallerMeta>): Promise<void> {
	const extra: Record<string, unknown>[] = [];
	if (typeof ctx.params.namespace === "string" && ctx.params.namespace) {
		const ns = await ctx.call<{ id: string }, { ref: string; need: NamespaceRole }>("v1.k8s.namespaces.lookup", { ref: ctx.params.namespace, need: "view" });
		extra.push({ namespace: ns.id });
	}
	delete ctx.params.namespace;
	if (ctx.meta?.namespaces && !isUnscoped(ctx)) extra.push({ namespaceName: { $in: ctx.meta.namespaces } });
	extra.push({ deleting: { $ne: true } });
	const query = (ctx.params.query ?? {}) as Record<string, unknown>;
	ctx.params.query = { $and: [...(Object.keys(query).length ? [query] : []), ...extra] };
}
