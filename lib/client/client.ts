import { BerthApiError, BerthConnectionError, BerthTimeoutError, BerthWaitError, isRetryable } from "./errors";
import { parseEventStream, type ServerSentEvent } from "./sse";
import { buildRequest, OPERATIONS, type HttpMethod, type Operation, type OperationName } from "./routes";
import type * as T from "./types";

export interface BerthClientOptions {
	/** The gateway's base URL (`https://berth.example.com`); wins over host and port. */
	url?: string;
	/** Host name or address, optionally with a scheme (`https://berth.example.com`). Default 127.0.0.1. */
	host?: string;
	/** Default 3000. */
	port?: number;
	/** Sent as `Authorization: Bearer <key>`; public routes work without one. */
	apiKey?: string;
	/** Per request (not for log streams). Default 30 s. */
	timeoutMs?: number;
	/** Another fetch (tests, proxies). */
	fetch?: typeof fetch;
	/** Extra headers for every request. */
	headers?: Record<string, string>;
}

export interface RequestOptions {
	query?: Record<string, unknown>;
	body?: unknown;
	signal?: AbortSignal;
	timeoutMs?: number;
}

export interface WaitOptions<S> {
	/** Give up after this long. */
	timeoutMs?: number;
	/** Between two polls. Default 1 s. */
	intervalMs?: number;
	signal?: AbortSignal;
	/** Called with every state polled: progress for a spinner. */
	onProgress?: (state: S) => void;
}

/** `http://127.0.0.1:3000` from the options, without a trailing slash. */
export function baseUrlOf(opts: Pick<BerthClientOptions, "url" | "host" | "port"> = {}): string {
	if (opts.url) return opts.url.replace(/\/+$/, "");
	const host = (opts.host || "127.0.0.1").replace(/\/+$/, "");
	const withScheme = /^[a-z][a-z0-9+.-]*:\/\//i.test(host) ? host : `http://${host}`;
	if (opts.port === undefined) {
		// A bare host gets the gateway's default port; a URL given as host keeps its own.
		return withScheme === host ? host : `${withScheme}:3000`;
	}
	const url = new URL(withScheme);
	url.port = String(opts.port);
	return url.toString().replace(/\/+$/, "");
}

/** `a=1&b=x&b=y`: arrays repeat the key, objects go as JSON, undefined is left out. */
export function queryString(query: Record<string, unknown> | undefined): string {
	if (!query) return "";
	const search = new URLSearchParams();
	for (const [key, value] of Object.entries(query)) {
		if (value === undefined || value === null) continue;
		if (Array.isArray(value)) for (const v of value) search.append(key, String(v));
		else if (typeof value === "object") search.append(key, JSON.stringify(value));
		else search.append(key, String(value));
	}
	const s = search.toString();
	return s ? `?${s}` : "";
}

const sleep = (ms: number, signal?: AbortSignal) =>
	new Promise<void>((resolve, reject) => {
		if (signal?.aborted) return reject(signal.reason);
		const timer = setTimeout(() => {
			signal?.removeEventListener("abort", onAbort);
			resolve();
		}, ms);
		const onAbort = () => {
			clearTimeout(timer);
			reject(signal?.reason);
		};
		signal?.addEventListener("abort", onAbort, { once: true });
	});

/**
 * Polls `read` until `done` says it is over. Transient failures (5xx, 429, the network) are polled
 * through, up to five in a row; any other error ends the wait with that error.
 */
export async function poll<S>(read: () => Promise<S>, done: (state: S) => "ok" | "failed" | false, what: string, opts: WaitOptions<S> = {}): Promise<S> {
	const deadline = Date.now() + (opts.timeoutMs ?? 300_000);
	let last: S | undefined;
	let failures = 0;
	for (;;) {
		try {
			last = await read();
			failures = 0;
			opts.onProgress?.(last);
			const verdict = done(last);
			if (verdict === "ok") return last;
			if (verdict === "failed") throw new BerthWaitError(`${what} failed`, last);
		} catch (err) {
			if (!isRetryable(err) || ++failures > 5) throw err;
		}
		if (Date.now() >= deadline) throw new BerthTimeoutError(`${what}: still not done after ${Math.round((opts.timeoutMs ?? 300_000) / 1000)} s`, last);
		await sleep(Math.min(opts.intervalMs ?? 1000, Math.max(0, deadline - Date.now())), opts.signal);
	}
}

/** Whether a deployment's rollout is over: every wanted replica updated and ready (or scaled to zero). */
export function rolloutVerdict(status: T.StatusView, expectReplicas?: number): "ok" | "failed" | false {
	if (status.phase === "Failed") return "failed";
	if (expectReplicas !== undefined && status.replicas !== expectReplicas) return false;
	return status.phase === "Running" || status.phase === "Scaled to zero" ? "ok" : false;
}

export function jobVerdict(status: Pick<T.JobStatusView, "phase">): "ok" | "failed" | false {
	if (status.phase === "Complete") return "ok";
	if (status.phase === "Failed" || status.phase === "Deleted") return "failed";
	return false;
}

export function applicationVerdict(app: T.Application): "ok" | "failed" | false {
	if (app.status === "running" && app.location) return "ok";
	if (app.status === "failed" || app.status === "deleted") return "failed";
	return false;
}

interface OpenApiDocument {
	paths: Record<string, Record<string, { operationId?: string; parameters?: { name: string; in: string }[] }>>;
}

/**
 * A typed client for Berth's REST API: one method per route, grouped by service, plus waits for the
 * long operations (a rollout, a job, an application launch) and `operation()` for any route the
 * live OpenAPI document lists, including ones newer than this client.
 *
 * ```ts
 * const berth = new BerthClient({ host: "127.0.0.1", port: 3000, apiKey: process.env.BERTH_API_KEY });
 * const dep = await berth.deployments.create({ name: "web", namespace: "team-a", image: "nginx" });
 * await berth.deployments.waitForRollout(dep.id);
 * ```
 */
export class BerthClient {
	readonly baseUrl: string;
	private readonly apiKey?: string;
	private readonly timeoutMs: number;
	private readonly fetchImpl: typeof fetch;
	private readonly headers: Record<string, string>;
	private openapiDoc?: Promise<OpenApiDocument>;

	constructor(opts: BerthClientOptions = {}) {
		this.baseUrl = baseUrlOf(opts);
		this.apiKey = opts.apiKey || undefined;
		this.timeoutMs = opts.timeoutMs ?? 30_000;
		this.fetchImpl = opts.fetch ?? fetch;
		this.headers = opts.headers ?? {};
	}

	// -------------------------------------------------------------------------------------------
	// Transport

	/** One HTTP request; JSON answers are parsed, text answers returned as text, errors thrown as BerthApiError. */
	async request<R = unknown>(method: HttpMethod, path: string, opts: RequestOptions = {}): Promise<R> {
		const res = await this.send(method, path, opts, false);
		return (await this.parse(res)) as R;
	}

	/** Calls one operation of the route table with its params (path segments, then query or body). */
	call<R = unknown>(name: OperationName, params?: object, opts: Omit<RequestOptions, "query" | "body"> = {}): Promise<R> {
		return this.callRoute<R>(OPERATIONS[name], params, opts);
	}

	/**
	 * Calls any operation of the live `/api/openapi.json` by its operationId (`v1.k8s.jobs.create`),
	 * routes added after this client was written included.
	 */
	async operation<R = unknown>(operationId: string, params: Record<string, unknown> = {}, opts: Omit<RequestOptions, "query" | "body"> = {}): Promise<R> {
		const route = (await this.operations()).find(o => o.operationId === operationId);
		if (!route) throw new BerthApiError(404, "NOT_FOUND", `No operation "${operationId}" in ${this.baseUrl}/api/openapi.json`);
		return this.callRoute<R>(route, params, opts);
	}

	/** Every operation the gateway serves right now, from its OpenAPI document. */
	async operations(): Promise<(Operation & { operationId: string })[]> {
		this.openapiDoc ??= this.request<OpenApiDocument>("GET", "/api/openapi.json").catch(err => {
			this.openapiDoc = undefined;
			throw err;
		});
		const doc = await this.openapiDoc;
		const out: (Operation & { operationId: string })[] = [];
		for (const [path, ops] of Object.entries(doc.paths ?? {}))
			for (const [method, op] of Object.entries(ops))
				if (op?.operationId) out.push({ operationId: op.operationId, method: method.toUpperCase() as HttpMethod, path: path.replace(/\{([^}]+)\}/g, ":$1") });
		return out;
	}

	/** A text stream (a `follow` log), chunk by chunk, until the server ends it or `signal` aborts. */
	async *stream(method: HttpMethod, path: string, opts: Omit<RequestOptions, "timeoutMs"> = {}): AsyncGenerator<string> {
		const res = await this.send(method, path, opts, true);
		if (!res.body) return;
		const decoder = new TextDecoder();
		const reader = res.body.getReader();
		try {
			for (;;) {
				const { done, value } = await reader.read();
				if (done) break;
				const text = decoder.decode(value, { stream: true });
				if (text) yield text;
			}
			const rest = decoder.decode();
			if (rest) yield rest;
		} catch (err) {
			if (opts.signal?.aborted) return;
			throw err;
		} finally {
			reader.releaseLock();
		}
	}

	private callRoute<R>(op: Operation, params: object | undefined, opts: Omit<RequestOptions, "query" | "body">): Promise<R> {
		const req = buildRequest(op, params as Record<string, unknown> | undefined);
		return this.request<R>(req.method, req.path, { ...opts, query: req.query, body: req.body });
	}

	private async send(method: HttpMethod, path: string, opts: RequestOptions, streaming: boolean): Promise<Response> {
		const url = `${this.baseUrl}${path}${queryString(opts.query)}`;
		const headers: Record<string, string> = { accept: "application/json, text/plain;q=0.9", ...this.headers };
		if (this.apiKey) headers.authorization = `Bearer ${this.apiKey}`;
		let body: string | undefined;
		if (opts.body !== undefined) {
			headers["content-type"] = "application/json";
			body = JSON.stringify(opts.body);
		}
		const signals = [opts.signal, streaming ? undefined : AbortSignal.timeout(opts.timeoutMs ?? this.timeoutMs)].filter((s): s is AbortSignal => s !== undefined);
		let res: Response;
		try {
			res = await this.fetchImpl(url, { method, headers, body, signal: signals.length ? AbortSignal.any(signals) : undefined });
		} catch (err) {
			if (opts.signal?.aborted) throw err;
			if ((err as Error)?.name === "TimeoutError") throw new BerthConnectionError(this.baseUrl, new Error(`no answer to ${method} ${path} within ${opts.timeoutMs ?? this.timeoutMs} ms`));
			throw new BerthConnectionError(this.baseUrl, err);
		}
		if (!res.ok) throw await this.errorOf(res, `${method} ${path}`);
		return res;
	}

	private async parse(res: Response): Promise<unknown> {
		const text = await res.text();
		if (!text) return undefined;
		if ((res.headers.get("content-type") ?? "").includes("json")) {
			try {
				return JSON.parse(text);
			} catch {
				return text;
			}
		}
		return text;
	}

	private async errorOf(res: Response, request: string): Promise<BerthApiError> {
		const body = (await this.parse(res).catch(() => undefined)) as { message?: string; type?: string; data?: unknown } | string | undefined;
		const retryAfter = Number(res.headers.get("retry-after")) || undefined;
		if (body && typeof body === "object") return new BerthApiError(res.status, body.type ?? `HTTP_${res.status}`, body.message ?? res.statusText, body.data, request, retryAfter);
		return new BerthApiError(res.status, `HTTP_${res.status}`, (typeof body === "string" && body.trim()) || res.statusText || `HTTP ${res.status}`, undefined, request, retryAfter);
	}

	// -------------------------------------------------------------------------------------------
	// The API, by service

	readonly health = {
		live: () => this.call<{ status: string }>("health.live"),
		ready: () => this.call<T.Readiness>("health.ready"),
	};

	/** The OpenAPI 3.1 document of every route the gateway serves right now. */
	openapi(): Promise<Record<string, unknown>> {
		return this.call("api.openapi");
	}

	readonly keys = {
		list: () => this.call<T.KeyEntity[]>("keys.list"),
		get: (id: string) => this.call<T.KeyEntity>("keys.get", { id }),
		/** The answer carries `key`, shown this once. */
		create: (params: T.CreateKeyParams) => this.call<T.CreatedKey>("keys.create", params),
		revoke: (id: string) => this.call<T.KeyEntity>("keys.revoke", { id }),
	};

	readonly namespaces = {
		list: () => this.call<T.NamespaceEntity[]>("namespaces.list"),
		get: (id: string) => this.call<T.NamespaceEntity>("namespaces.get", { id }),
		create: (params: T.CreateNamespaceParams) => this.call<T.NamespaceEntity>("namespaces.create", params),
		update: (id: string, body: T.UpdateNamespaceBody) => this.call<T.NamespaceEntity>("namespaces.update", { ...body, id }),
		remove: (id: string) => this.call<T.NamespaceEntity>("namespaces.remove", { id }),
		available: (name: string) => this.call<T.Availability>("namespaces.available", { name }),
		status: (id: string) => this.call<T.NamespaceStatus>("namespaces.status", { id }),
		resourceQuota: (id: string) => this.call<T.ResourceQuotaReport>("namespaces.resourcequota", { id }),
		clean: () => this.call<T.CleanReport>("namespaces.clean"),
		addMember: (id: string, member: string) => this.call<T.NamespaceEntity>("namespaces.addMember", { id, member }),
		removeMember: (id: string, member: string) => this.call<T.NamespaceEntity>("namespaces.removeMember", { id, member }),
		transfer: (id: string, owner: string) => this.call<T.NamespaceEntity>("namespaces.transfer", { id, owner }),
		/**
		 * Live status of the namespace's apps (Server-Sent Events): `snapshot` ({namespace, phase, counts,
		 * apps}) first, then `status` per changed app and `removed` ({id}) per app gone; until `signal` aborts.
		 */
		watch: (id: string, opts: { signal?: AbortSignal } = {}): AsyncGenerator<ServerSentEvent<T.NamespaceStatusView | T.AppHealth | { id: string }>> =>
			parseEventStream(this.stream("GET", `/api/v1/k8s/namespaces/${encodeURIComponent(id)}/stream`, { signal: opts.signal })) as AsyncGenerator<ServerSentEvent<T.NamespaceStatusView | T.AppHealth | { id: string }>>,
		/** A namespace of yours by id or name (listing them; the API reads namespaces by id). */
		find: async (ref: string): Promise<T.NamespaceEntity> => {
			const match = (await this.namespaces.list()).find(ns => ns.id === ref || ns.name === ref);
			if (!match) throw new BerthApiError(404, "NOT_FOUND", `Namespace "${ref}" not found`);
			return match;
		},
	};

	readonly images = {
		list: (query: T.ListImagesQuery = {}) => this.call<T.ImageEntity[]>("images.list", query),
		get: (id: string) => this.call<T.ImageEntity>("images.get", { id }),
		/** By catalog name or image reference (`nginx`, `nginx:1.27`). */
		getByName: (name: string) => this.call<T.ImageEntity>("images.getByName", { name }),
		load: () => this.call<T.LoadReport>("images.load"),
		clean: () => this.call<{ removed: number }>("images.clean"),
		deploy: (id: string, body: T.DeployImageBody = {}) => this.call<T.DeploymentEntity>("images.deploy", { ...body, id }),
	};

	readonly volumes = {
		list: (query: T.ListVolumesQuery = {}) => this.call<T.VolumeEntity[]>("volumes.list", query),
		get: (id: string) => this.call<T.VolumeEntity>("volumes.get", { id }),
		create: (params: T.CreateVolumeParams) => this.call<T.VolumeEntity>("volumes.create", params),
		remove: (id: string) => this.call<T.VolumeEntity>("volumes.remove", { id }),
		addMember: (id: string, member: string) => this.call<T.VolumeEntity>("volumes.addMember", { id, member }),
		removeMember: (id: string, member: string) => this.call<T.VolumeEntity>("volumes.removeMember", { id, member }),
		transfer: (id: string, owner: string) => this.call<T.VolumeEntity>("volumes.transfer", { id, owner }),
	};

	readonly deployments = {
		list: (query: T.ListDeploymentsQuery = {}) => this.call<T.DeploymentEntity[]>("deployments.list", query),
		get: (id: string) => this.call<T.DeploymentEntity>("deployments.get", { id }),
		/** Answers once the objects are applied; `waitForRollout` waits for the pods. */
		create: (params: T.CreateDeploymentParams) => this.call<T.DeploymentEntity>("deployments.create", params),
		update: (id: string, body: T.UpdateDeploymentBody) => this.call<T.DeploymentEntity>("deployments.update", { ...body, id }),
		replace: (id: string, body: T.UpdateDeploymentBody) => this.call<T.DeploymentEntity>("deployments.replace", { ...body, id }),
		remove: (id: string) => this.call<T.DeploymentEntity>("deployments.remove", { id }),
		generate: (params: T.CreateDeploymentParams) => this.call<T.GenerateView>("deployments.generate", params),
		manifests: (id: string) => this.call<T.GenerateView>("deployments.manifests", { id }),
		apply: (id: string) => this.call<T.ApplyView>("deployments.apply", { id }),
		status: (id: string) => this.call<T.StatusView>("deployments.status", { id }),
		state: (id: string) => this.call<T.StateView>("deployments.state", { id }),
		pods: (id: string) => this.call<T.PodState[]>("deployments.pods", { id }),
		logs: (id: string, query: T.DeploymentLogsQuery = {}) => this.call<T.PodLogs[]>("deployments.logs", { ...query, id }),
		/** The pods' logs as they are written, until they end, `maxSeconds` pass or `signal` aborts. */
		followLogs: (id: string, query: T.DeploymentLogsQuery = {}, opts: { signal?: AbortSignal } = {}): AsyncGenerator<string> => {
			const req = buildRequest(OPERATIONS["deployments.logs"], { ...query, id, follow: true });
			return this.stream(req.method, req.path, { query: req.query, signal: opts.signal });
		},
		events: (id: string) => this.call<T.EventView[]>("deployments.events", { id }),
		scale: (id: string, replicas: number) => this.call<T.DeploymentEntity>("deployments.scale", { id, replicas }),
		restart: (id: string) => this.call<T.DeploymentEntity>("deployments.restart", { id }),
		top: (id: string) => this.call<T.TopView>("deployments.top", { id }),
		addMember: (id: string, member: string) => this.call<T.DeploymentEntity>("deployments.addMember", { id, member }),
		removeMember: (id: string, member: string) => this.call<T.DeploymentEntity>("deployments.removeMember", { id, member }),
		transfer: (id: string, owner: string) => this.call<T.DeploymentEntity>("deployments.transfer", { id, owner }),
		/**
		 * Live health of the deployment (Server-Sent Events): `status` with its AppHealth now and on every
		 * change, `removed` when nothing of it is left; until then or until `signal` aborts.
		 */
		watch: (id: string, opts: { signal?: AbortSignal } = {}): AsyncGenerator<ServerSentEvent<T.AppHealth>> =>
			parseEventStream(this.stream("GET", `/api/v1/k8s/deployments/${encodeURIComponent(id)}/stream`, { signal: opts.signal })) as AsyncGenerator<ServerSentEvent<T.AppHealth>>,
		/** Polls the status until every wanted replica is updated and ready; rejects when the rollout fails or time runs out. */
		waitForRollout: (id: string, opts: WaitOptions<T.StatusView> & { expectReplicas?: number } = {}) =>
			poll(() => this.deployments.status(id), s => rolloutVerdict(s, opts.expectReplicas), `Rollout of deployment ${id}`, opts),
		/** A deployment of yours by id, or by name (in `namespace`, a namespace id or name, when given). */
		find: async (ref: string, namespace?: string): Promise<T.DeploymentEntity> => {
			const all = await this.deployments.list(namespace ? { namespace } : {});
			const byId = all.find(d => d.id === ref);
			if (byId) return byId;
			const named = all.filter(d => d.name === ref);
			if (named.length === 1) return named[0];
			if (named.length > 1) throw new BerthApiError(409, "AMBIGUOUS", `${named.length} deployments are named "${ref}" (in ${named.map(d => d.namespaceName).join(", ")}); name the namespace`);
			throw new BerthApiError(404, "NOT_FOUND", `Deployment "${ref}" not found${namespace ? ` in namespace ${namespace}` : ""}`);
		},
	};

	readonly envs = {
		list: (query: T.ListEnvParams = {}) => this.call<T.EnvEntity[]>("envs.list", query),
		get: (id: string) => this.call<T.EnvEntity>("envs.get", { id }),
		create: (params: T.CreateEnvParams) => this.call<T.EnvEntity>("envs.create", params),
		update: (id: string, body: T.UpdateEnvBody) => this.call<T.EnvEntity>("envs.update", { ...body, id }),
		replace: (id: string, body: T.UpdateEnvBody) => this.call<T.EnvEntity>("envs.replace", { ...body, id }),
		remove: (id: string) => this.call<T.EnvEntity>("envs.remove", { id }),
		clean: (params: Partial<T.TargetParams>) => this.call<{ removed: number }>("envs.clean", params),
		resolve: (params: T.ResolveEnvParams) => this.call<T.EnvEntity>("envs.resolve", params),
		pack: (params: T.PackParams) => this.call<Record<string, string>>("envs.pack", params),
		patch: (params: T.TargetParams) => this.call<T.PatchResult>("envs.patch", params),
		repatch: (params: T.TargetParams) => this.call<T.PatchResult>("envs.repatch", params),
		fromImage: (params: T.CreateFromImageParams) => this.call<T.EnvEntity[]>("envs.fromImage", params),
		/** Sets a variable: updates it when the key exists, creates it otherwise. */
		set: async (params: T.CreateEnvParams): Promise<T.EnvEntity> => {
			try {
				return await this.envs.create(params);
			} catch (err) {
				if (!(err instanceof BerthApiError) || err.status !== 409) throw err;
				const current = await this.envs.resolve({ namespace: params.namespace, deployment: params.deployment, key: params.key });
				return this.envs.update(current.id, { value: params.value, ...(params.type ? { type: params.type } : {}) });
			}
		},
		/** Removes a variable by key. */
		unset: async (params: T.ResolveEnvParams): Promise<T.EnvEntity> => this.envs.remove((await this.envs.resolve(params)).id),
	};

	readonly jobs = {
		list: (query: T.ListJobsParams = {}) => this.call<T.JobEntity[]>("jobs.list", query),
		get: (id: string) => this.call<T.JobEntity>("jobs.get", { id }),
		create: (params: T.CreateJobParams) => this.call<T.JobEntity>("jobs.create", params),
		remove: (id: string) => this.call<T.JobEntity>("jobs.remove", { id }),
		status: (id: string) => this.call<T.JobStatusView>("jobs.status", { id }),
		/** The output: live while the job runs, stored once it finished. */
		logs: async (id: string) => (await this.call<string | undefined>("jobs.logs", { id })) ?? "",
		/** Polls until the job is Complete (resolves) or Failed or Deleted (rejects with BerthWaitError). */
		wait: (id: string, opts: WaitOptions<T.JobStatusView> = {}) => poll(() => this.jobs.status(id), jobVerdict, `Job ${id}`, opts),
	};

	/** The orchestrate seed's `/jobs` routes, shapes unchanged (snake_case). */
	readonly orchestrate = {
		create: (cmd: string) => this.call<T.CompatObject>("orchestrate.create", { cmd }),
		list: () => this.call<T.CompatJobListItem[]>("orchestrate.list"),
		get: (job: string) => this.call<T.CompatObject>("orchestrate.get", { job }),
		status: (job: string) => this.call<T.CompatJobStatus>("orchestrate.status", { job }),
		logs: async (job: string) => (await this.call<string | undefined>("orchestrate.logs", { job })) ?? "",
	};

	/** KITeGG service specs: a multi-container service from YAML (v1.k8s.services). */
	readonly services = {
		list: (query: { namespace?: string } = {}) => this.call<T.ServiceEntity[]>("services.list", query),
		get: (id: string) => this.call<T.ServiceEntity>("services.get", { id }),
		create: (params: T.CreateServiceParams) => this.call<T.ServiceEntity>("services.create", params),
		update: (id: string, body: T.UpdateServiceBody) => this.call<T.ServiceEntity>("services.update", { ...body, id }),
		replace: (id: string, body: T.UpdateServiceBody) => this.call<T.ServiceEntity>("services.replace", { ...body, id }),
		/** Deletes the objects (the claims too unless keepVolumes), then the entity. */
		remove: (id: string, opts: { keepVolumes?: boolean } = {}) => this.call<T.UndeployView>("services.remove", { ...opts, id }),
		validate: (params: T.ValidateParams) => this.call<T.ValidateView>("services.validate", params),
		manifests: (id: string) => this.call<T.ManifestsView>("services.manifests", { id }),
		deploy: (id: string) => this.call<T.DeployView>("services.deploy", { id }),
		status: (id: string) => this.call<T.SpecStatus>("services.status", { id }),
		undeploy: (id: string, opts: { keepVolumes?: boolean } = {}) => this.call<T.UndeployView>("services.undeploy", { ...opts, id }),
	};

	/** The KITeGG seed's `/kubernetes/services` routes, shapes unchanged. */
	readonly kitegg = {
		deploy: (id: string) => this.call<Record<string, unknown>>("kitegg.deploy", { id }),
		status: (id: string) => this.call<T.SpecStatus>("kitegg.status", { id }),
		remove: (id: string, opts: { keepVolumes?: boolean } = {}) => this.call<T.UndeployView>("kitegg.remove", { ...opts, id }),
	};

	/** What runs in the namespaces your key may see, managed by Berth or not (v1.k8s.inventory). */
	readonly inventory = {
		summary: () => this.call<T.SummaryView>("inventory.summary"),
		list: (params: T.InventoryListParams) => this.call<T.InventoryPage>("inventory.list", params),
		get: (params: T.InventoryGetParams) => this.call<T.InventoryView>("inventory.get", params),
		namespace: (name: string) => this.call<T.NamespaceSummary>("inventory.namespace", { name }),
		/** Without `confirm` it only shows what adoption would do. */
		adopt: (params: T.AdoptParams) => this.call<T.AdoptionPlan>("inventory.adopt", params),
	};

	/** Ephemeral applications through Berth's own routes (the binder routes are `apps`). */
	readonly applications = {
		list: (query: { template?: string; status?: T.ApplicationStatus } = {}) => this.call<T.ApplicationView[]>("applications.list", query),
		get: (id: string) => this.call<T.ApplicationView>("applications.get", { id }),
		create: (params: T.LaunchParams) => this.call<T.ApplicationView>("applications.create", params),
		remove: (id: string) => this.call<T.ApplicationView>("applications.remove", { id }),
		keepalive: (id: string) => this.call<T.ApplicationView>("applications.keepalive", { id }),
		/** Launchable templates (public ones without a key). */
		templates: () => this.call<T.TemplateView[]>("applications.templates", {}),
		template: (name: string) => this.call<T.TemplateView>("applications.template", { name }),
	};

	/** The binder seed's ephemeral applications: launch a template, poll for its location. */
	readonly apps = {
		launch: (template: string) => this.call<T.LaunchedApplication>("apps.launch", { template }),
		/** binder-protocol's launch: `cull-timeout` (seconds) is the instance's idle limit, within the operator's bounds. */
		deploy: (params: T.DeployParams) => this.call<T.LaunchedApplication>("apps.deploy", params),
		list: (template: string) => this.call<T.Application[]>("apps.list", { template }),
		get: (template: string, id: string) => this.call<T.Application>("apps.get", { template, id }),
		keepalive: (template: string, id: string) => this.call<unknown>("apps.keepalive", { template, id }),
		/** Polls until the instance runs and has a location; rejects if it fails or is deleted first. */
		waitForLocation: (template: string, id: string, opts: WaitOptions<T.Application> = {}) =>
			poll(() => this.apps.get(template, id), applicationVerdict, `Application ${template}/${id}`, opts),
	};
}
