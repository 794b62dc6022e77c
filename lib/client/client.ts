import { BerthApiError, BerthConnectionError } from "./errors";
import * as R from "./resources";
import { buildRequest, OPERATIONS, type HttpMethod, type Operation, type OperationName } from "./routes";
import { baseUrlOf, queryString, type BerthClientOptions, type RequestOptions, type Transport } from "./transport";

export { baseUrlOf, queryString, type BerthClientOptions, type RequestOptions } from "./transport";
export { applicationVerdict, jobVerdict, poll, rolloutVerdict, type WaitOptions } from "./wait";

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
export class BerthClient implements Transport {
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
	// The API, by service (lib/client/resources.ts)

	/** Liveness and readiness (public). */
	readonly health = R.healthApi(this);

	/** The OpenAPI 3.1 document of every route the gateway serves right now. */
	openapi(): Promise<Record<string, unknown>> {
		return this.call("api.openapi");
	}

	/** API keys (v1.keys). */
	readonly keys = R.keysApi(this);
	/** The audit trail of mutating calls (v1.audit). */
	readonly audit = R.auditApi(this);
	/** Tenant namespaces, their quota and members (v1.k8s.namespaces). */
	readonly namespaces = R.namespacesApi(this);
	/** The image catalog (v1.k8s.images). */
	readonly images = R.imagesApi(this);
	/** Persistent volumes, one claim each (v1.k8s.volumes). */
	readonly volumes = R.volumesApi(this);
	/** ConfigMaps with data, for deployments to mount (v1.k8s.configmaps). */
	readonly configmaps = R.configMapsApi(this);
	/** Secrets with write-only data, for deployments to mount (v1.k8s.secrets). */
	readonly secrets = R.secretsApi(this);
	/** Deployments, their rollout, pods, logs and events (v1.k8s.deployments). */
	readonly deployments = R.deploymentsApi(this);
	/** A deployment's environment variables (v1.k8s.envs). */
	readonly envs = R.envsApi(this);
	/** One-off commands run as Kubernetes Jobs (v1.k8s.jobs). */
	readonly jobs = R.jobsApi(this);
	/** Image builds from Git into a namespace's catalog (v1.k8s.builds). */
	readonly builds = R.buildsApi(this);
	/** Scheduled jobs: CronJobs and their runs (v1.k8s.cronjobs). */
	readonly cronjobs = R.cronJobsApi(this);
	/** The orchestrate seed's `/jobs` routes, shapes unchanged (snake_case). */
	readonly orchestrate = R.orchestrateApi(this);
	/** KITeGG service specs: a multi-container service from YAML (v1.k8s.services). */
	readonly services = R.servicesApi(this);
	/** The KITeGG seed's `/kubernetes/services` routes, shapes unchanged. */
	readonly kitegg = R.kiteggApi(this);
	/** What runs in the namespaces your key may see, managed by Berth or not (v1.k8s.inventory). */
	readonly inventory = R.inventoryApi(this);
	/** Ephemeral applications through Berth's own routes (the binder routes are `apps`). */
	readonly applications = R.applicationsApi(this);
	/** The binder seed's ephemeral applications: launch a template, poll for its location. */
	readonly apps = R.appsApi(this);
}
