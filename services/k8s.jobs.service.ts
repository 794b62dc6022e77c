import { randomUUID } from "node:crypto";
import type { Context, ServiceSchema, ServiceSettingSchema } from "moleculer";
import { compatJob, compatListItem, compatStatus, type CompatJobListItem, type CompatJobStatus, type CompatObject, type JobStatusLike } from "../lib/compat/jobs";
import { conflict, forbidden, invalid, invalidField, NOT_RETRIED, notFound, type FieldError } from "../lib/errors";
import { getKubeClient, isNotFound, Kinds, type V1Job, type V1Pod } from "../lib/k8s";
import { argvOf, isFinished, JOB_CONTAINER, jobFor, jobPhase, jobPodSelector, toWire, type JobPhase, type JobResources, type JobRun } from "../lib/manifests/job";
import { MANAGED_SELECTOR } from "../lib/manifests/labels";
import { isQuantity, parseQuantity } from "../lib/quantity";
import { createControllerMixin, type ControllerLocals, type ControllerMethods } from "../mixins/controller.mixin";
import { createDbMixin, type DbBackedService } from "../mixins/db.mixin";
import { canSee, createMembershipMixin, isAdmin, SYSTEM_META, type CallerMeta, type MembershipMethods } from "../mixins/membership.mixin";

/** Longest `cmd` (and total `command`) accepted, in bytes of UTF-8. */
export const MAX_CMD_BYTES = 64 * 1024;

function positiveInt(value: string | undefined, fallback: number): number {
	const n = Number(value);
	return value && Number.isInteger(n) && n > 0 ? n : fallback;
}

export interface JobsSettings extends ServiceSettingSchema {
	rest: string;
	/** Image of jobs that name none (JOBS_DEFAULT_IMAGE). */
	defaultImage: string;
	/** The Berth namespace the seed's `/jobs` routes act in (JOBS_COMPAT_NAMESPACE). */
	compatNamespace: string;
	defaultTimeoutSeconds: number;
	maxTimeoutSeconds: number;
	defaultTtlSeconds: number;
	/** Captured logs are cut to their last this many bytes (JOBS_MAX_LOG_BYTES). */
	maxLogBytes: number;
	defaultResources: JobResources;
	/** A job may ask for at most this much (per container). */
	maxResources: { cpu: string; memory: string };
}

function jobsSettings(env: NodeJS.ProcessEnv = process.env): Omit<JobsSettings, "rest"> {
	return {
		defaultImage: env.JOBS_DEFAULT_IMAGE || "python:3.12-slim",
		compatNamespace: env.JOBS_COMPAT_NAMESPACE || "orchestrator",
		defaultTimeoutSeconds: positiveInt(env.JOBS_DEFAULT_TIMEOUT_SECONDS, 600),
		maxTimeoutSeconds: 24 * 3600,
		defaultTtlSeconds: positiveInt(env.JOBS_TTL_SECONDS, 3600),
		maxLogBytes: positiveInt(env.JOBS_MAX_LOG_BYTES, 1024 * 1024),
		defaultResources: { requests: { cpu: "100m", memory: "128Mi" }, limits: { cpu: "500m", memory: "512Mi" } },
		maxResources: { cpu: "4", memory: "8Gi" },
	};
}

/** What `v1.k8s.namespaces.lookup` answers (docs/CONTRACTS.md). */
export interface NamespaceRef {
	id: string;
	name: string;
	owner: string;
	members: string[];
}

export type EnvInput = Record<string, string> | { name: string; value?: string }[];

export interface ResourcesInput {
	requests?: { cpu?: string; memory?: string };
	limits?: { cpu?: string; memory?: string };
}

export interface CreateJobParams {
	cmd?: string;
	command?: string[];
	image?: string;
	/** The caller's namespace, by entity id or name. */
	namespace: string;
	env?: EnvInput;
	resources?: ResourcesInput;
	timeoutSeconds?: number;
	ttlSecondsAfterFinished?: number;
	backoffLimit?: number;
}

export interface ListJobsParams {
	namespace?: string;
}

export interface JobIdParams {
	/** The entity id. */
	id: string;
}

export interface CompatCreateParams {
	cmd: string;
	/** Not part of the seed: only here so that sending both is refused, as on Berth's route. */
	command?: string[];
}

export interface CompatJobParams {
	job: string;
}

/** The status as stored from the watch: the Job's own status (apiserver JSON) and where it stands. */
export type JobStatusView = { phase: JobPhase; finishedAt?: string } & JobStatusLike;

export interface JobEntity {
	id: string;
	/** The Kubernetes Job's name: a UUID. */
	name: string;
	/** Namespace entity id. */
	namespace: string;
	/** The Kubernetes namespace. */
	namespaceName: string;
	cmd?: string;
	command: string[];
	image: string;
	env: { name: string; value: string }[];
	resources: JobResources;
	timeoutSeconds: number;
	ttlSecondsAfterFinished: number;
	backoffLimit: number;
	/** Created through the seed's `/jobs` routes. */
	compat: boolean;
	phase: JobPhase;
	status: JobStatusLike;
	uid?: string;
	finishedAt?: string;
	logsCapturedAt?: string;
	owner: string;
	members: string[];
	createdAt: string;
	updatedAt: string;
}

/** Stored but never returned: the captured logs and the last Job seen (for detail after deletion). */
interface StoredJob extends JobEntity {
	logs?: string;
	lastObject?: string;
	finished?: boolean;
}

const PUBLIC_FIELDS = [
	"name",
	"namespace",
	"namespaceName",
	"cmd",
	"command",
	"image",
	"env",
	"resources",
	"timeoutSeconds",
	"ttlSecondsAfterFinished",
	"backoffLimit",
	"compat",
	"phase",
	"status",
	"uid",
	"finishedAt",
	"logsCapturedAt",
	"owner",
	"members",
];

/** moleculer-db's and the membership mixin's actions: they would bypass the cluster, so this API has its own. */
const GENERIC_ACTIONS = ["list", "find", "count", "create", "insert", "get", "update", "remove", "addMember", "removeMember", "transfer"];

const JOB_SELECTOR = `${MANAGED_SELECTOR},app.kubernetes.io/component=job`;

interface JobsMethods {
	createJob(ctx: Context<unknown, CallerMeta>, params: Omit<CreateJobParams, "namespace">, ns: NamespaceRef, compat: boolean): Promise<{ entity: JobEntity; job: V1Job }>;
	findJob(ctx: Context<unknown, CallerMeta>, ref: string, opts?: { compat?: boolean }): Promise<StoredJob>;
	findRaw(query: Record<string, unknown>): Promise<StoredJob[]>;
	publicView(doc: StoredJob): JobEntity;
	lookupNamespace(ctx: Context<unknown, CallerMeta>, ref: string): Promise<NamespaceRef>;
	compatNamespace(ctx: Context<unknown, CallerMeta>): Promise<NamespaceRef>;
	confinementQuery(ctx: Context<unknown, CallerMeta>): Record<string, unknown> | undefined;
	readLogs(namespace: string, name: string): Promise<string>;
	logsOf(doc: StoredJob): Promise<string>;
	syncJob(key: string): Promise<void>;
	claim(query: Record<string, unknown>, update: Record<string, unknown>): Promise<number>;
}

type JobsLocals = ControllerLocals;

type JobsThis = DbBackedService<JobsMethods & MembershipMethods & ControllerMethods & JobsLocals & { settings: JobsSettings }>;

/** `$statusCode`/`$location` shape the REST answer (moleculer-web). */
type Meta = CallerMeta & { $statusCode?: number; $location?: string };

function keyOf(namespace: string, name: string): string {
	return `${namespace}/${name}`;
}

function text(ctx: Context<unknown, Record<string, unknown>>, body: string): string {
	ctx.meta.$responseType = "text/plain; charset=utf-8";
	return body;
}

/** The caller's `env` as Kubernetes wants it; names follow Kubernetes' rules for env names. */
function normalizeEnv(env: EnvInput | undefined): { name: string; value: string }[] {
	if (!env) return [];
	const pairs = Array.isArray(env) ? env.map(e => [e.name, e.value ?? ""] as const) : Object.entries(env);
	const out: { name: string; value: string }[] = [];
	const errors: FieldError[] = [];
	pairs.forEach(([name, value], i) => {
		if (typeof name !== "string" || !/^[-._a-zA-Z][-._a-zA-Z0-9]*$/.test(name) || name.length > 256)
			errors.push({ field: `env[${i}].name`, message: "An environment variable name is letters, digits, '_', '-' and '.', not starting with a digit", type: "invalid", actual: name });
		else if (typeof value !== "string") errors.push({ field: `env.${name}`, message: "An environment variable value is a string", type: "invalid", actual: value });
		else out.push({ name, value });
	});
	if (out.length > 100) errors.push({ field: "env", message: "At most 100 environment variables", type: "invalid" });
	if (Buffer.byteLength(JSON.stringify(out)) > 64 * 1024) errors.push({ field: "env", message: "Environment variables may total at most 64 KiB", type: "invalid" });
	if (errors.length) throw invalid("Invalid environment variables", errors);
	return out;
}

/** Requests and limits with defaults filled in; each a valid quantity, under the cap, requests ≤ limits. */
function normalizeResources(input: ResourcesInput | undefined, settings: JobsSettings): JobResources {
	const d = settings.defaultResources;
	const res: JobResources = {
		requests: { cpu: input?.requests?.cpu ?? d.requests.cpu, memory: input?.requests?.memory ?? d.requests.memory },
		limits: { cpu: input?.limits?.cpu ?? d.limits.cpu, memory: input?.limits?.memory ?? d.limits.memory },
	};
	// A request above the default limit raises the limit with it, rather than failing a valid ask.
	if (!input?.limits?.cpu && isQuantity(res.requests.cpu) && parseQuantity(res.requests.cpu) > parseQuantity(res.limits.cpu)) res.limits.cpu = res.requests.cpu;
	if (!input?.limits?.memory && isQuantity(res.requests.memory) && parseQuantity(res.requests.memory) > parseQuantity(res.limits.memory)) res.limits.memory = res.requests.memory;
	const errors: FieldError[] = [];
	for (const kind of ["requests", "limits"] as const) {
		for (const r of ["cpu", "memory"] as const) {
			const q = res[kind][r];
			const field = `resources.${kind}.${r}`;
			if (!isQuantity(q) || parseQuantity(q) <= 0) errors.push({ field, message: `${field} must be a positive Kubernetes quantity (e.g. "500m", "256Mi")`, type: "invalid", actual: q });
			else if (parseQuantity(q) > parseQuantity(settings.maxResources[r])) errors.push({ field, message: `${field} may be at most ${settings.maxResources[r]}`, type: "invalid", actual: q });
		}
	}
	if (!errors.length)
		for (const r of ["cpu", "memory"] as const)
			if (parseQuantity(res.requests[r]) > parseQuantity(res.limits[r]))
				errors.push({ field: `resources.requests.${r}`, message: `resources.requests.${r} may not exceed resources.limits.${r}`, type: "invalid", actual: res.requests[r] });
	if (errors.length) throw invalid("Invalid resources", errors);
	return res;
}

/** Exactly one of cmd and command, not blank, not huge. */
function checkCommand(params: { cmd?: string; command?: string[] }): void {
	const hasCmd = params.cmd !== undefined && params.cmd !== null;
	const hasCommand = params.command !== undefined && params.command !== null;
	if (hasCmd && hasCommand)
		throw invalid("Give either cmd (a shell string) or command (an argv array), not both", [
			{ field: "cmd", message: "cmd and command are exclusive", type: "exclusive" },
			{ field: "command", message: "cmd and command are exclusive", type: "exclusive" },
		]);
	if (!hasCmd && !hasCommand) throw invalidField("cmd", "Give cmd (a shell string) or command (an argv array)");
	if (hasCmd) {
		if (params.cmd!.trim().length === 0) throw invalidField("cmd", "cmd is empty", params.cmd);
		if (Buffer.byteLength(params.cmd!) > MAX_CMD_BYTES) throw invalidField("cmd", `cmd is longer than ${MAX_CMD_BYTES} bytes`, `${Buffer.byteLength(params.cmd!)} bytes`);
	} else {
		const argv = params.command!;
		if (argv.length === 0 || argv[0].trim().length === 0) throw invalidField("command", "command needs a program as its first element", argv);
		const size = argv.reduce((n, a) => n + Buffer.byteLength(a), 0);
		if (size > MAX_CMD_BYTES) throw invalidField("command", `command is longer than ${MAX_CMD_BYTES} bytes in total`, `${size} bytes`);
	}
}

/** Cuts captured logs to their last `max` bytes, at a line start when one is near. */
function tailBytes(logs: string, max: number): string {
	const buf = Buffer.from(logs);
	if (buf.length <= max) return logs;
	let tail = buf.subarray(buf.length - max).toString();
	const nl = tail.indexOf("\n");
	if (nl >= 0 && nl < 1024) tail = tail.slice(nl + 1);
	return `[berth: earlier output truncated, ${buf.length} bytes in all]\n${tail}`;
}

const cmdRule = { type: "string", max: MAX_CMD_BYTES, optional: true } as const;
const idRule = { type: "string", min: 1, max: 64 } as const;

/**
 * Ad-hoc commands run as Kubernetes Jobs, in the caller's namespace (v1.k8s.namespaces.lookup).
 * Status comes from a Job informer; when a Job finishes its logs are captured into the DB, so they
 * outlive the pods. Also serves the orchestrate seed's `/jobs` routes, in a shared namespace.
 */
const JobsService: ServiceSchema<JobsSettings, JobsMethods, JobsLocals, JobsThis> = {
	name: "k8s.jobs",
	version: 1,
	// The first mixin wins: it drops the generic actions before this schema defines its own, so
	// moleculer's merge does not blend moleculer-db's params into them.
	mixins: [
		createControllerMixin<JobsThis>({
			name: "k8s.jobs",
			watch: [{ kind: Kinds.Job, selector: JOB_SELECTOR, keyOf: job => (job.metadata?.namespace && job.metadata?.name ? keyOf(job.metadata.namespace, job.metadata.name) : undefined) }],
			reconcile: (self, key) => self.syncJob(key),
			listKeys: async self => (await self.findRaw({ finished: { $ne: true } })).map(d => keyOf(d.namespaceName, d.name)),
			// Finishing a job captures its logs once: one node does it, the one that watches.
			everyNode: false,
		}),
		{ actions: Object.fromEntries(GENERIC_ACTIONS.map(a => [a, false])) },
		createDbMixin({ collection: "jobs", fields: PUBLIC_FIELDS, unique: [["name"]] }),
		createMembershipMixin({ entityName: "Job" }),
	],
	settings: { rest: "/v1/k8s/jobs" } as JobsSettings,
	actions: {
		create: {
			retryPolicy: NOT_RETRIED,
			rest: "POST /",
			params: {
				cmd: cmdRule,
				command: { type: "array", items: { type: "string", max: MAX_CMD_BYTES }, min: 1, max: 256, optional: true },
				image: { type: "string", min: 1, max: 512, pattern: /^[A-Za-z0-9][A-Za-z0-9._\-/:@]*$/, optional: true },
				namespace: { type: "string", min: 1, max: 64 },
				env: {
					type: "multi",
					optional: true,
					rules: [
						{ type: "record", key: { type: "string" }, value: { type: "string", max: 32 * 1024 } },
						{ type: "array", max: 100, items: { type: "object", props: { name: { type: "string", min: 1, max: 256 }, value: { type: "string", max: 32 * 1024, optional: true } } } },
					],
				},
				resources: {
					type: "object",
					optional: true,
					strict: "remove",
					props: {
						requests: { type: "object", optional: true, strict: "remove", props: { cpu: { type: "string", optional: true, max: 32 }, memory: { type: "string", optional: true, max: 32 } } },
						limits: { type: "object", optional: true, strict: "remove", props: { cpu: { type: "string", optional: true, max: 32 }, memory: { type: "string", optional: true, max: 32 } } },
					},
				},
				timeoutSeconds: { type: "number", integer: true, min: 1, max: 24 * 3600, optional: true, convert: true },
				ttlSecondsAfterFinished: { type: "number", integer: true, min: 10, max: 7 * 24 * 3600, optional: true, convert: true },
				backoffLimit: { type: "number", integer: true, min: 0, max: 10, optional: true, convert: true },
			},
			async handler(this: JobsThis, ctx: Context<CreateJobParams, Meta>): Promise<JobEntity> {
				checkCommand(ctx.params);
				const ns = await this.lookupNamespace(ctx, ctx.params.namespace);
				const { entity } = await this.createJob(ctx, ctx.params, ns, false);
				ctx.meta.$statusCode = 201;
				ctx.meta.$location = `/api/v1/k8s/jobs/${entity.id}`;
				return entity;
			},
		},
		list: {
			rest: "GET /",
			params: { namespace: { type: "string", min: 1, max: 64, optional: true } },
			async handler(this: JobsThis, ctx: Context<ListJobsParams, CallerMeta>): Promise<JobEntity[]> {
				const filters: Record<string, unknown>[] = [];
				if (ctx.params.namespace) filters.push({ namespace: (await this.lookupNamespace(ctx, ctx.params.namespace)).id });
				const confined = this.confinementQuery(ctx);
				if (confined) filters.push(confined);
				const query = this.scopedQuery(ctx, filters.length === 0 ? {} : filters.length === 1 ? filters[0] : { $and: filters });
				return (await this.findRaw(query)).map(doc => this.publicView(doc));
			},
		},
		get: {
			rest: "GET /:id",
			params: { id: idRule },
			async handler(this: JobsThis, ctx: Context<JobIdParams, CallerMeta>): Promise<JobEntity> {
				return this.publicView(await this.findJob(ctx, ctx.params.id));
			},
		},
		status: {
			rest: "GET /:id/status",
			params: { id: idRule },
			async handler(this: JobsThis, ctx: Context<JobIdParams, CallerMeta>): Promise<JobStatusView> {
				const doc = await this.findJob(ctx, ctx.params.id);
				return { phase: doc.phase, finishedAt: doc.finishedAt, ...(doc.status ?? {}) };
			},
		},
		logs: {
			rest: "GET /:id/logs",
			params: { id: idRule },
			async handler(this: JobsThis, ctx: Context<JobIdParams, CallerMeta & Record<string, unknown>>): Promise<string> {
				return text(ctx, await this.logsOf(await this.findJob(ctx, ctx.params.id)));
			},
		},
		remove: {
			rest: "DELETE /:id",
			params: { id: idRule },
			async handler(this: JobsThis, ctx: Context<JobIdParams, CallerMeta>): Promise<JobEntity> {
				const doc = await this.findJob(ctx, ctx.params.id);
				// Background propagation: the Job's pods go with it.
				await getKubeClient().delete({ apiVersion: "batch/v1", kind: "Job", name: doc.name, namespace: doc.namespaceName });
				await this.removeEntity(ctx, doc.id);
				this.reconciler?.forget(keyOf(doc.namespaceName, doc.name));
				return this.publicView(doc);
			},
		},

		// The orchestrate seed's routes, at the root, shapes unchanged. They act in the compat namespace.
		compatCreate: {
			rest: { method: "POST", fullPath: "/jobs" },
			params: { cmd: { type: "string", max: MAX_CMD_BYTES }, command: { type: "any", optional: true } },
			async handler(this: JobsThis, ctx: Context<CompatCreateParams, CallerMeta>): Promise<CompatObject> {
				checkCommand(ctx.params);
				const ns = await this.compatNamespace(ctx);
				const { job } = await this.createJob(ctx, { cmd: ctx.params.cmd }, ns, true);
				return compatJob(job as Record<string, unknown>);
			},
		},
		compatList: {
			rest: { method: "GET", fullPath: "/jobs" },
			params: {},
			async handler(this: JobsThis, ctx: Context<unknown, CallerMeta>): Promise<CompatJobListItem[]> {
				const docs = await this.findRaw(this.scopedQuery(ctx, { compat: true, namespaceName: this.settings.compatNamespace }));
				return docs.map(doc => compatListItem(doc.name, doc.status));
			},
		},
		compatGet: {
			rest: { method: "GET", fullPath: "/jobs/:job" },
			params: { job: idRule },
			async handler(this: JobsThis, ctx: Context<CompatJobParams, CallerMeta>): Promise<CompatObject> {
				const doc = await this.findJob(ctx, ctx.params.job, { compat: true });
				const live = await getKubeClient().get<V1Job>({ apiVersion: "batch/v1", kind: "Job", name: doc.name, namespace: doc.namespaceName });
				if (live) return compatJob(live as Record<string, unknown>);
				// The Job is gone (TTL or deleted): answer with the last state the watch saw.
				const last = doc.lastObject ? (JSON.parse(doc.lastObject) as Record<string, unknown>) : { apiVersion: "batch/v1", kind: "Job", metadata: { name: doc.name, namespace: doc.namespaceName } };
				return compatJob({ ...last, status: doc.status });
			},
		},
		compatStatus: {
			rest: { method: "GET", fullPath: "/jobs/:job/status" },
			params: { job: idRule },
			async handler(this: JobsThis, ctx: Context<CompatJobParams, CallerMeta>): Promise<CompatJobStatus> {
				return compatStatus((await this.findJob(ctx, ctx.params.job, { compat: true })).status);
			},
		},
		compatLogs: {
			rest: { method: "GET", fullPath: "/jobs/:job/logs" },
			params: { job: idRule },
			async handler(this: JobsThis, ctx: Context<CompatJobParams, CallerMeta & Record<string, unknown>>): Promise<string> {
				return text(ctx, await this.logsOf(await this.findJob(ctx, ctx.params.job, { compat: true })));
			},
		},
	},
	events: {
		/** A removed namespace takes its Jobs with it; their entities (and logs) go too. */
		"k8s.namespaces.removed": {
			async handler(this: JobsThis, ctx: Context<{ id?: string; name?: string }>) {
				const nsId = ctx.params?.id;
				if (!nsId) return;
				for (const doc of await this.findRaw({ namespace: nsId })) {
					await this.removeEntity(ctx, doc.id);
					this.reconciler?.forget(keyOf(doc.namespaceName, doc.name));
				}
			},
		},
	},
	methods: {
		async createJob(this: JobsThis, ctx: Context<unknown, CallerMeta>, params: Omit<CreateJobParams, "namespace">, ns: NamespaceRef, compat: boolean): Promise<{ entity: JobEntity; job: V1Job }> {
			const settings = this.settings;
			const run: Omit<JobRun, "id"> = {
				name: randomUUID(),
				command: argvOf(params),
				image: params.image ?? settings.defaultImage,
				env: normalizeEnv(params.env),
				resources: normalizeResources(params.resources, settings),
				timeoutSeconds: Math.min(params.timeoutSeconds ?? settings.defaultTimeoutSeconds, settings.maxTimeoutSeconds),
				backoffLimit: params.backoffLimit ?? 0,
				ttlSecondsAfterFinished: params.ttlSecondsAfterFinished ?? settings.defaultTtlSeconds,
			};
			// Everyone who shares the namespace may see its jobs; "system" owns the compat namespace and sees all anyway.
			const members = [ns.owner, ...(ns.members ?? [])].filter(m => m && m !== ctx.meta.userID && m !== SYSTEM_META.userID);
			const saved = (await this.insertEntity(ctx, {
				...run,
				cmd: params.cmd,
				namespace: ns.id,
				namespaceName: ns.name,
				compat,
				phase: "Pending",
				status: {},
				finished: false,
				owner: ctx.meta.userID,
				members: Array.from(new Set(members)),
			})) as unknown as JobEntity;
			let job: V1Job;
			try {
				job = await getKubeClient().apply(jobFor({ ...run, id: saved.id }, ns.name));
			} catch (err) {
				// Nothing runs, so nothing is recorded: the caller sees the apiserver's answer.
				await this.removeEntity(ctx, saved.id);
				throw err;
			}
			this.reconciler?.enqueue(keyOf(ns.name, run.name));
			return { entity: { ...saved, uid: job.metadata?.uid }, job };
		},

		/**
		 * A job the caller may see, else 404 (another tenant's job looks like a missing one). Berth's
		 * API names jobs by entity id; the seed's routes by the Job's name, in the compat namespace.
		 */
		async findJob(this: JobsThis, ctx: Context<unknown, CallerMeta>, ref: string, opts: { compat?: boolean } = {}): Promise<StoredJob> {
			const [doc] = opts.compat ? await this.findRaw({ name: ref, namespaceName: this.settings.compatNamespace }) : [(await this.findStored(ref)) as StoredJob | undefined];
			const confined = ctx.meta.namespaces;
			if (!doc || !(isAdmin(ctx.meta) || canSee(ctx.meta, doc)) || (confined && !confined.includes(doc.namespaceName))) throw notFound("Job", ref);
			return doc;
		},

		/** Stored documents (logs included) matching a query, oldest first. */
		async findRaw(this: JobsThis, query: Record<string, unknown>): Promise<StoredJob[]> {
			const rows = await this.adapter.find({ query, sort: ["createdAt"] });
			const docs: StoredJob[] = [];
			for (const row of rows) docs.push(this.adapter.afterRetrieveTransformID(await this.adapter.entityToObject(row), "id") as unknown as StoredJob);
			return docs;
		},

		publicView(this: JobsThis, doc: StoredJob): JobEntity {
			const out: Record<string, unknown> = {};
			for (const f of ["id", ...PUBLIC_FIELDS, "createdAt", "updatedAt"]) if ((doc as unknown as Record<string, unknown>)[f] !== undefined) out[f] = (doc as unknown as Record<string, unknown>)[f];
			return out as unknown as JobEntity;
		},

		async lookupNamespace(this: JobsThis, ctx: Context<unknown, CallerMeta>, ref: string): Promise<NamespaceRef> {
			return ctx.call<NamespaceRef, { ref: string }>("v1.k8s.namespaces.lookup", { ref });
		},

		/**
		 * The seed's routes share one namespace that Berth owns ("system"); it is created on first use.
		 * Each job in it belongs to its caller alone. A tenant's namespace of the same name is never used.
		 */
		async compatNamespace(this: JobsThis, ctx: Context<unknown, CallerMeta>): Promise<NamespaceRef> {
			const name = this.settings.compatNamespace;
			if (ctx.meta.namespaces && !ctx.meta.namespaces.includes(name)) throw forbidden(`This API key is confined to namespaces that do not include "${name}", where /jobs runs`);
			const system: CallerMeta & { keyID?: string } = { ...SYSTEM_META, namespaces: undefined, keyID: undefined };
			const resolve = async (): Promise<NamespaceRef | undefined> => {
				try {
					return await ctx.call<NamespaceRef, { name: string }>("v1.k8s.namespaces.resolveName", { name });
				} catch (err) {
					if ((err as { code?: number }).code === 404) return undefined;
					throw err;
				}
			};
			let ns = await resolve();
			if (!ns) {
				try {
					// broker.call, not ctx.call: moleculer merges a callee's meta back into the caller's,
					// which would leave this request running as "system" afterwards.
					ns = await this.broker.call<NamespaceRef, { name: string }>("v1.k8s.namespaces.create", { name }, { meta: system, parentCtx: ctx });
				} catch (err) {
					// Another request created it first; any other conflict (a namespace of that name
					// that Berth did not make) is the caller's answer.
					if ((err as { code?: number }).code !== 409) throw err;
					ns = await resolve();
					if (!ns) throw err;
				}
			}
			if (ns.owner !== SYSTEM_META.userID) throw conflict(`Namespace "${name}" (JOBS_COMPAT_NAMESPACE) belongs to a tenant; /jobs needs a namespace Berth owns`, { namespace: name });
			return ns;
		},

		/** API keys confined to some namespaces see only jobs there. */
		confinementQuery(this: JobsThis, ctx: Context<unknown, CallerMeta>): Record<string, unknown> | undefined {
			return ctx.meta.namespaces ? { namespaceName: { $in: ctx.meta.namespaces } } : undefined;
		},

		/**
		 * The logs of every pod of a Job, oldest pod first; with retries, each attempt under a header.
		 * A pod whose container never started has no logs and is skipped.
		 */
		async readLogs(this: JobsThis, namespace: string, name: string): Promise<string> {
			const kube = getKubeClient();
			const pods = (await kube.list<V1Pod>(Kinds.Pod, { namespace, labelSelector: jobPodSelector(name) })).sort(
				(a, b) => new Date(a.metadata?.creationTimestamp ?? 0).getTime() - new Date(b.metadata?.creationTimestamp ?? 0).getTime(),
			);
			const parts: { pod: string; logs: string }[] = [];
			for (const pod of pods) {
				const podName = pod.metadata?.name as string;
				try {
					parts.push({ pod: podName, logs: await kube.podLogs(namespace, podName, { container: JOB_CONTAINER }) });
				} catch (err) {
					if (isNotFound(err) || (err as { code?: number }).code === 422) continue;
					throw err;
				}
			}
			const logs = parts.length === 1 ? parts[0].logs : parts.map(p => `==> pod ${p.pod} <==\n${p.logs}`).join("\n");
			return tailBytes(logs, this.settings.maxLogBytes);
		},

		/** Updates the documents matching `query`; the count says whether this call won a race. */
		async claim(this: JobsThis, query: Record<string, unknown>, update: Record<string, unknown>): Promise<number> {
			const adapter = this.adapter as unknown as { updateMany(q: Record<string, unknown>, u: Record<string, unknown>): Promise<number> };
			return Number(await adapter.updateMany(query, update)) || 0;
		},

		/** Captured logs once the job has finished; until then, what its pods have written so far. */
		async logsOf(this: JobsThis, doc: StoredJob): Promise<string> {
			if (doc.logsCapturedAt) return doc.logs ?? "";
			return this.readLogs(doc.namespaceName, doc.name);
		},

		/**
		 * Level-based: reads the Job (informer cache, else the apiserver) and records its status. The
		 * first node to see it finished captures its logs and announces it, claimed atomically in the
		 * DB so several nodes watching the same Jobs emit one event.
		 */
		async syncJob(this: JobsThis, key: string): Promise<void> {
			const slash = key.indexOf("/");
			const namespace = key.slice(0, slash);
			const name = key.slice(slash + 1);
			const [doc] = await this.findRaw({ name });
			if (!doc || doc.finished) return;
			const kube = getKubeClient();
			const job = (this.syncedCaches()?.get("Job")?.get(name, namespace) as V1Job | undefined) ?? (await kube.get<V1Job>({ apiVersion: "batch/v1", kind: "Job", name, namespace }));
			const now = new Date().toISOString();
			if (!job) {
				// Gone before it finished (deleted outside Berth). Recent entities may not be applied yet.
				if (Date.now() - Date.parse(doc.createdAt) < 30_000) return;
				const logs = await this.readLogs(namespace, name).catch(() => "");
				const claimed = await this.claim({ name, finished: { $ne: true } }, { $set: { phase: "Deleted", finished: true, finishedAt: now, logs, logsCapturedAt: now, updatedAt: now } });
				if (claimed) this.broker.emit("k8s.jobs.failed", { ...this.publicView({ ...doc, phase: "Deleted", finishedAt: now, logsCapturedAt: now }), reason: "Deleted" });
				return;
			}
			const status = toWire(job.status ?? {}) as JobStatusLike;
			const phase = jobPhase(job.status);
			const lastObject = JSON.stringify(toWire(job));
			if (isFinished(phase)) {
				const logs = await this.readLogs(namespace, name);
				const changes = { status, phase, uid: job.metadata?.uid, lastObject, finished: true, finishedAt: now, logs, logsCapturedAt: now, updatedAt: now };
				const claimed = await this.claim({ name, finished: { $ne: true } }, { $set: changes });
				if (claimed) {
					const entity = this.publicView({ ...doc, ...changes });
					this.broker.emit(phase === "Complete" ? "k8s.jobs.completed" : "k8s.jobs.failed", entity);
				}
				return;
			}
			if (doc.phase !== phase || JSON.stringify(doc.status ?? {}) !== JSON.stringify(status) || doc.uid !== job.metadata?.uid)
				await this.claim({ name, finished: { $ne: true } }, { $set: { status, phase, uid: job.metadata?.uid, lastObject, updatedAt: now } });
		},
	},
	created(this: JobsThis) {
		// Read when the broker creates the service, so each broker sees the environment of its time.
		Object.assign(this.settings, jobsSettings());
	},
};

export default JobsService;
