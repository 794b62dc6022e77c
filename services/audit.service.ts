import type { Context, ServiceSchema, ServiceSettingSchema } from "moleculer";
import { listAuditParams, recordAuditParams, type AuditEntry, type AuditRecord, type ListAuditParams } from "../lib/api/audit";
import type { LookupParams, NamespaceAccess, NamespaceRef } from "../lib/api/namespaces";
import { withoutGenericActions } from "../lib/api/rest";
import { parseAuditQuery, retentionCutoff, scopeFromRoles, storeQuery, type AuditScope } from "../lib/audit/query";
import { loadConfig } from "../lib/config";
import { NOT_RETRIED, unauthorized } from "../lib/errors";
import { createControllerMixin, type ControllerMethods } from "../mixins/controller.mixin";
import { createDbMixin, type DbBackedService } from "../mixins/db.mixin";
import { isAdmin, type CallerMeta } from "../mixins/membership.mixin";

interface AuditSettings extends ServiceSettingSchema {
	rest: string;
	/** How often the leader prunes records older than AUDIT_RETENTION_DAYS. */
	pruneSeconds: number;
}

interface AuditLocals {
	retentionDays: number;
	pruneTimer?: NodeJS.Timeout;
}

/** The service's own methods: `this.<method>` jumps to the code (their type is this object's). */
type AuditMethods = typeof methods;

interface AuditThis extends DbBackedService<AuditMethods & ControllerMethods & AuditLocals & { settings: AuditSettings }> {}

/** What moleculer-db's adapters offer beyond the db mixin's typing: pruning, and NeDB's compaction. */
interface PruningAdapter {
	removeMany(query: Record<string, unknown>): Promise<number>;
	db?: { compactDatafileAsync?(): Promise<void> };
}

const FIELDS = ["at", "actor", "keyID", "via", "action", "entity", "namespace", "namespaceName", "status", "error", "requestID"];

const LOOKUP = "v1.k8s.namespaces.lookup";

/**
 * v1.audit: the audit trail. Every mutating call is recorded by lib/audit/middleware.ts through the
 * mesh-only `record`; `list` reads the records a caller may see, newest first. The leader prunes
 * what is older than AUDIT_RETENTION_DAYS.
 */
const methods = {
	/**
	 * The namespace of a record that names it only as the call did (an id or a name), resolved now:
	 * a name may belong to another tenant's namespace later. None by that reference: no namespace,
	 * and only platform admins read the record.
	 */
	async withNamespace(this: AuditThis, ctx: Context, entry: AuditEntry): Promise<Omit<AuditEntry, "namespaceRef">> {
		const { namespaceRef, ...record } = entry;
		if (!namespaceRef || record.namespace || !this.broker.registry.actions.isAvailable(LOOKUP)) return record;
		try {
			const ns = await ctx.call<NamespaceRef, LookupParams & { scope: false }>(LOOKUP, { ref: namespaceRef, scope: false });
			return { ...record, namespace: ns.id, namespaceName: ns.name };
		} catch {
			return record;
		}
	},

	/**
	 * Whose records the caller reads: all (an admin whose key is not confined), else those of the
	 * namespaces they own or administer, by v1.k8s.namespaces.access (confinement applied there).
	 */
	async scopeOf(this: AuditThis, ctx: Context<unknown, CallerMeta>, namespace: string | undefined): Promise<AuditScope> {
		if (!ctx.meta.userID) throw unauthorized();
		if (isAdmin(ctx.meta) && !ctx.meta.namespaces) return { all: true };
		const grants = await ctx.call<NamespaceAccess[], { ids?: string[] }>("v1.k8s.namespaces.access", {});
		return scopeFromRoles(grants, namespace);
	},

	/** Removes the records older than the retention; the leader's hourly work. Returns how many. */
	async pruneExpired(this: AuditThis, now: Date = new Date()): Promise<number> {
		this.fence();
		const adapter = this.adapter as unknown as PruningAdapter;
		const removed = await adapter.removeMany({ at: { $lt: retentionCutoff(now, this.retentionDays) } });
		// NeDB appends removals to its file; compacting keeps it the size of what is left.
		if (removed > 0 && !this.dbBackend.mongoUri) await adapter.db?.compactDatafileAsync?.();
		return removed;
	},

	async pruneQuietly(this: AuditThis): Promise<void> {
		try {
			const removed = await this.pruneExpired();
			if (removed > 0) this.logger.info(`Pruned ${removed} audit records older than ${this.retentionDays} days`);
		} catch (err) {
			this.logger.warn("Could not prune the audit trail:", (err as Error)?.message ?? err);
		}
	},

	/** The list reads newest first and the prune by time: both want `at` indexed. */
	async indexByTime(this: AuditThis): Promise<void> {
		if (this.dbBackend.mongoUri) await this.adapter.model.collection.createIndex({ at: -1 }, { unique: false });
		else await this.adapter.db.ensureIndex({ fieldName: "at", unique: false });
	},
};

const AuditService: ServiceSchema<AuditSettings, AuditMethods, AuditLocals, AuditThis> = {
	name: "audit",
	version: 1,
	mixins: [
		// Only runWhileLeading: the prune is the one leader-only work.
		createControllerMixin(),
		withoutGenericActions,
		createDbMixin({ collection: "audit", fields: FIELDS }),
	],
	settings: { rest: "/v1/audit", pruneSeconds: 3600 },
	actions: {
		/** Stores one record (mesh only: lib/audit/middleware.ts sends it). A retry could record a call twice. */
		record: {
			visibility: "public",
			retryPolicy: NOT_RETRIED,
			params: recordAuditParams,
			async handler(this: AuditThis, ctx: Context<AuditEntry>): Promise<void> {
				await this.adapter.insert(await this.withNamespace(ctx, ctx.params));
			},
		},

		/** The records the caller may read, newest first: `?namespace=&actor=&action=&since=&limit=`. */
		list: {
			rest: "GET /",
			summary: "The audit trail of mutating calls (platform admins: all; owners and admins of a namespace: its records)",
			params: listAuditParams,
			async handler(this: AuditThis, ctx: Context<ListAuditParams, CallerMeta>): Promise<AuditRecord[]> {
				const filter = parseAuditQuery(ctx.params as Record<string, unknown>);
				const scope = await this.scopeOf(ctx, filter.namespace);
				if ("namespaceIds" in scope && scope.namespaceIds.length === 0) return [];
				return (await this.findEntities(ctx, storeQuery(filter, scope), { sort: ["-at"], limit: filter.limit })) as unknown as AuditRecord[];
			},
		},
	},
	methods,
	created(this: AuditThis) {
		this.retentionDays = loadConfig().auditRetentionDays;
	},
	async started(this: AuditThis) {
		await this.indexByTime();
		await this.runWhileLeading({
			name: "audit-retention",
			start: () => {
				this.pruneTimer = setInterval(() => void this.pruneQuietly(), this.settings.pruneSeconds * 1000);
				this.pruneTimer.unref?.();
				void this.pruneQuietly();
			},
			stop: () => {
				if (this.pruneTimer) clearInterval(this.pruneTimer);
				this.pruneTimer = undefined;
			},
		});
	},
	stopped(this: AuditThis) {
		if (this.pruneTimer) clearInterval(this.pruneTimer);
	},
};

export default AuditService;
