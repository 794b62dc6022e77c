import type { Context, ServiceSchema, ServiceSettingSchema } from "moleculer";
import { strictParams } from "../lib/api/rules";
import type { DeploymentEntity } from "../lib/api/deployments";
import type { EnvTarget } from "../lib/api/envs";
import { recordParams, revisionsParams, rollbackParams, type RecordParams, type RevisionsParams, type RevisionView, type RollbackParams } from "../lib/api/revisions";
import { withoutGenericActions } from "../lib/api/rest";
import { loadConfig } from "../lib/config";
import { invalidField, NOT_RETRIED, notFound } from "../lib/errors";
import { KeyedSerial } from "../lib/keyed-serial";
import { decodeState, diffStates, encodeState, envToRestore, restoreChanges, revisionView, stateOf, type EnvSnapshotEntry, type StoredRevision } from "../lib/revisions/spec";
import { createDbMixin, isDuplicateKey, type DbBackedService } from "../mixins/db.mixin";
import { isUnscoped, type CallerMeta } from "../mixins/membership.mixin";

interface RevisionsSettings extends ServiceSettingSchema {
	rest: string;
	revisionsKept: number;
}

interface RevisionsLocals {
	/** One record of a deployment at a time on this node; the unique index settles two nodes racing. */
	recording: KeyedSerial;
}

type RevisionsMethods = typeof methods;
interface RevisionsThis extends DbBackedService<RevisionsMethods & RevisionsLocals & { settings: RevisionsSettings }> {}

const unscoped = { scope: false } as const;

/**
 * A deployment's revisions: its spec and env set at each accepted change, who made it, when, and
 * what differs from the one before; and the rollback that re-applies one through the deployment's
 * normal checks. Access is the deployment's: v1.k8s.deployments answers whether the caller may see
 * it (404 otherwise) and, for a rollback, change it.
 */
const methods = {
	hasService(this: RevisionsThis, name: string): boolean {
		return this.broker.registry.hasService(name, undefined as unknown as string);
	},

	/** Newest first; `limit` for the latest. */
	revisionsOf(this: RevisionsThis, deployment: string, limit?: number): Promise<StoredRevision[]> {
		return this.findRaw<StoredRevision>({ deployment }, limit ? { limit } : {});
	},

	/**
	 * Stores the deployment's state as a new revision when it differs from the latest (always for a
	 * rollback) and drops those beyond REVISIONS_KEPT. Undefined when there is nothing to record (no
	 * change, or the deployment is gone).
	 */
	async recordNow(this: RevisionsThis, ctx: Context<unknown, CallerMeta>, deployment: string, rollbackOf?: number): Promise<StoredRevision | undefined> {
		const dep = await ctx.call<DeploymentEntity, { id: string; scope: false }>("v1.k8s.deployments.get", { id: deployment, ...unscoped }).catch(err => {
			if ((err as { code?: number }).code === 404) return undefined;
			throw err;
		});
		if (!dep) return undefined;
		const envs = this.hasService("v1.k8s.envs") ? await ctx.call<EnvSnapshotEntry[], { deployment: string; scope: false }>("v1.k8s.envs.snapshot", { deployment, ...unscoped }) : [];
		const state = stateOf(dep as unknown as Record<string, unknown>, envs);
		for (let attempt = 0; ; attempt++) {
			const [latest] = await this.revisionsOf(deployment, 1);
			const changes = diffStates(latest && decodeState(latest), state);
			if (latest && !rollbackOf && !changes.length) return undefined;
			const revision = (latest?.revision ?? 0) + 1;
			// `slot` is unique (NeDB has no compound unique index): two nodes never store one number twice.
			const doc = { deployment, revision, slot: `${deployment}/${revision}`, by: ctx.meta.userID ?? "system", cause: rollbackOf ? "rolledBack" : latest ? "updated" : "created", ...(rollbackOf ? { rollbackOf } : {}), changes, ...encodeState(state) };
			try {
				const saved = await this.insertEntity(ctx, doc);
				await this.trim(ctx, deployment);
				return (await this.loadDoc<StoredRevision>(String(saved.id))) as StoredRevision;
			} catch (err) {
				// Another node stored this number first: the next one, against its revision.
				if (!isDuplicateKey(err) || attempt >= 3) throw err;
			}
		}
	},

	async trim(this: RevisionsThis, ctx: Context, deployment: string): Promise<void> {
		const all = await this.revisionsOf(deployment);
		for (const old of all.slice(this.settings.revisionsKept)) await this.removeEntity(ctx, old.id);
	},

	async removeAll(this: RevisionsThis, ctx: Context, deployment: string): Promise<void> {
		for (const doc of await this.revisionsOf(deployment)) await this.removeEntity(ctx, doc.id);
	},
};

const RevisionsService: ServiceSchema<RevisionsSettings, RevisionsMethods, RevisionsLocals, RevisionsThis> = {
	name: "k8s.revisions",
	version: 1,
	mixins: [
		// moleculer-db's generic actions would publish this collection as it is stored: the routes are its own.
		withoutGenericActions,
		// The secret values a rollback restores are sealed at rest (lib/secrets) and never returned.
		createDbMixin({ collection: "revisions", fields: ["deployment", "revision", "by", "cause", "rollbackOf", "changes"], sort: ["-revision"], unique: [["slot"]], sealed: ["secretValues"] }),
	],
	// Its routes are a deployment's: /api/v1/k8s/deployments/:id/revisions and /:id/rollback.
	settings: { rest: "/v1/k8s/deployments" } as RevisionsSettings,
	actions: {
		list: {
			rest: "GET /:id/revisions",
			params: revisionsParams,
			async handler(this: RevisionsThis, ctx: Context<RevisionsParams, CallerMeta>): Promise<RevisionView[]> {
				// The deployment as the caller may see it: 404 for anyone else.
				const dep = await ctx.call<DeploymentEntity, { id: string }>("v1.k8s.deployments.get", { id: ctx.params.id });
				return (await this.revisionsOf(dep.id)).map(revisionView);
			},
		},
		rollback: {
			rest: "POST /:id/rollback",
			retryPolicy: NOT_RETRIED,
			params: strictParams(rollbackParams),
			async handler(this: RevisionsThis, ctx: Context<RollbackParams, CallerMeta>): Promise<RevisionView> {
				const dep = await ctx.call<DeploymentEntity, { id: string }>("v1.k8s.deployments.get", { id: ctx.params.id });
				const [doc] = await this.findRaw<StoredRevision>({ deployment: dep.id, revision: ctx.params.revision });
				if (!doc) throw invalidField("revision", `Deployment "${dep.name}" has no revision ${ctx.params.revision} (the last ${this.settings.revisionsKept} are kept)`, ctx.params.revision);
				const state = decodeState(doc);
				// The spec goes through the deployment's own checks (edit role, references, dry run, quota); refused, nothing changes.
				await ctx.call("v1.k8s.deployments.restore", { id: dep.id, changes: restoreChanges(state.spec) });
				if (this.hasService("v1.k8s.envs")) {
					const target: EnvTarget = { id: dep.id, name: dep.name, namespace: dep.namespace, namespaceName: dep.namespaceName, owner: dep.owner, members: dep.members ?? [] };
					await ctx.call("v1.k8s.envs.exact", { deployment: dep.id, target, env: envToRestore(state), ...unscoped });
				}
				const saved = await this.recording.run(dep.id, () => this.recordNow(ctx, dep.id, doc.revision));
				if (!saved) throw notFound("Deployment", dep.id);
				return revisionView(saved);
			},
		},
		/** Mesh callers (lib/revisions/record.ts), after a change of a deployment's spec or envs. */
		record: {
			params: recordParams,
			async handler(this: RevisionsThis, ctx: Context<RecordParams, CallerMeta>): Promise<RevisionView | null> {
				if (!isUnscoped(ctx)) throw notFound("Deployment", ctx.params.deployment);
				const saved = await this.recording.run(ctx.params.deployment, () => this.recordNow(ctx, ctx.params.deployment, ctx.params.rollbackOf));
				return saved ? revisionView(saved) : null;
			},
		},
	},
	events: {
		/** A deployment's revisions go with it (a removed namespace removes its deployments, which says so for each). */
		"k8s.deployments.removed": {
			async handler(this: RevisionsThis, ctx: Context<{ id?: string }>) {
				if (ctx.params?.id) await this.removeAll(ctx, ctx.params.id);
			},
		},
	},
	methods,
	created(this: RevisionsThis) {
		this.settings.revisionsKept = loadConfig().revisionsKept;
		this.recording = new KeyedSerial();
	},
};

export default RevisionsService;
