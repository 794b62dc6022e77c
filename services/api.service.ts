import * as fs from "node:fs";
import type { IncomingMessage, ServerResponse } from "node:http";
import * as path from "node:path";
import type { Context, Service, ServiceSchema } from "moleculer";
import { Errors } from "moleculer";
import ApiGateway, { type Alias, type ApiSettingsSchema } from "moleculer-web";
import { accessLogArgs, accessLogLevel, pathOf, requestIdOf, type AccessEntry } from "../lib/api/access-log";
import { corsSettings, errorBody, gatewayEnv, sanitizeParams, type ErrorBody, type RateLimitSettings } from "../lib/api/gateway";
import type { Identity } from "../lib/api/keys";
import { anonymousCaller, type AnonymousCaller } from "../lib/compat/anonymous";
import { binderErrorBody } from "../lib/compat/binder";
import { loadConfig, type BerthConfig } from "../lib/config";
import { ErrorTypes, unauthorized } from "../lib/errors";
import { IdentityCache, keyFromHeaders } from "../lib/keys";
import { buildOpenApi, type ActionInfo, type JsonSchema, type RestAlias } from "../lib/openapi";
import { DOCS_PATH, serveDocs } from "../lib/openapi/page";
import { isPlainAnswer, JSON_TYPE, serializedBody } from "../lib/api/serialized";
import { FixedWindowLimiter } from "../lib/rate-limit";
import { clientAddress, trustedProxies, type TrustedProxies } from "../lib/client-address";
import type { CallerMeta } from "../mixins/membership.mixin";
import { deploymentStream, namespaceStream } from "../lib/status/streams";
import { pokeAccessWatches } from "../lib/access-watch";

type Req = IncomingMessage & { originalUrl?: string; $action?: { name?: string; public?: boolean }; $alias?: Alias & { fullPath?: string }; $params?: Record<string, unknown>; $ctx?: Context };

/** What the gateway puts in ctx.meta for an authenticated request. */
export interface GatewayMeta extends CallerMeta {
	keyID?: string;
	/** The presenting key's expiry: keys it creates may not outlive it. */
	keyExpiresAt?: string;
}

export interface GatewaySettings extends ApiSettingsSchema {
	keyRateLimit: RateLimitSettings;
	/** How long a checked key is taken as valid without asking v1.keys again (a revocation is heard at once). */
	authCacheMs: number;
	bodyLimit: string;
	/** TRUSTED_PROXIES: the proxies whose X-Forwarded-For names the client (lib/client-address.ts). */
	trustedProxies: string[];
}

/** The gateway's methods (moleculer-web's hooks among them): `this.checkKey(…)` jumps to the code. */
type ApiMethods = typeof methods;

/** A bare OPTIONS (no CORS preflight) would otherwise run the GET handler of the path. */
function refuseBareOptions(req: IncomingMessage): void {
	if (req.method === "OPTIONS") throw new Errors.MoleculerClientError("Not found", 404, ErrorTypes.NotFound);
}

/** The built dashboard: dist/ui beside the compiled services, or under dist/ when run from the sources. UI_DIR overrides. */
export function uiDir(env: NodeJS.ProcessEnv = process.env): string {
	if (env.UI_DIR) return path.resolve(env.UI_DIR);
	const root = path.resolve(__dirname, "..");
	return path.basename(root) === "dist" ? path.join(root, "ui") : path.join(root, "dist", "ui");
}

/** Serves the dashboard's files under /ui; hashed assets are cached for good, index.html never. */
function serveUi() {
	const servers = new Map<string, ReturnType<typeof import("serve-static")>>();
	const serverFor = (dir: string) => {
		let serve = servers.get(dir);
		if (!serve) {
			serve = (ApiGateway as unknown as { serveStatic: typeof import("serve-static") }).serveStatic(dir, {
				index: ["index.html"],
				setHeaders(res, file) {
					res.setHeader("Cache-Control", file.endsWith("index.html") ? "no-cache" : "public, max-age=31536000, immutable");
				},
			});
			servers.set(dir, serve);
		}
		return serve;
	};
	return (req: IncomingMessage & { originalUrl?: string }, res: ServerResponse, next: (err?: unknown) => void) => {
		// The route's prefix match would also take /uiother.
		if (!/^\/ui(\/|\?|$)/.test(req.originalUrl ?? "")) return next();
		res.setHeader("X-Content-Type-Options", "nosniff");
		res.setHeader("X-Frame-Options", "DENY");
		res.setHeader("Referrer-Policy", "no-referrer");
		res.setHeader("Content-Security-Policy", "default-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'");
		const dir = uiDir();
		if (!fs.existsSync(path.join(dir, "index.html"))) {
			res.writeHead(503, { "Content-Type": "text/plain; charset=utf-8" });
			res.end(`The dashboard is not built (no ${path.join(dir, "index.html")}): run \`npm run build\`.\n`);
			return;
		}
		serverFor(dir)(req as never, res as never, next);
	};
}

/** `this` in the gateway: moleculer-web's service plus what Berth adds. */
interface ApiThis extends Service<GatewaySettings>, ApiMethods {
	limiter: FixedWindowLimiter;
	proxies: TrustedProxies;
	identities: IdentityCache;
	/** COMPAT_ANONYMOUS_USER/_NAMESPACES, read when the gateway is created. */
	compatAnonymous: BerthConfig["compatAnonymous"];
	/** moleculer-web's registered aliases, auto-generated ones included. */
	aliases: Array<{ method: string; fullPath: string; action?: string; route: { opts: { authentication?: unknown } } }>;
}

type Registry = { getActionList(opts: Record<string, unknown>): Array<{ name: string; action?: ActionInfo }> };

const env = gatewayEnv();
const config = loadConfig();


const gatewayMethods = (ApiGateway as unknown as { methods: Record<"httpHandler" | "sendError", (this: ApiThis, req: Req, res: ServerResponse, arg?: unknown) => unknown> }).methods;

const methods = {
	/** Every request, however it ends (an answer, an error, a dropped stream), leaves one access-log line. */
	httpHandler(this: ApiThis, req: Req, res: ServerResponse, next?: unknown): unknown {
		const started = process.hrtime.bigint();
		res.once("close", () => this.logAccess(req, res, started));
		return gatewayMethods.httpHandler.call(this, req, res, next);
	},
	logAccess(this: ApiThis, req: Req, res: ServerResponse, started: bigint): void {
		const ctx = req.$ctx as Context<unknown, GatewayMeta> | undefined;
		const entry: AccessEntry = {
			method: req.method ?? "-",
			path: pathOf(req.originalUrl ?? req.url),
			status: res.statusCode,
			ms: Number((process.hrtime.bigint() - started) / 1_000_000n),
			key: ctx?.meta?.keyID ?? "-",
			client: clientAddress(req.socket.remoteAddress, req.headers["x-forwarded-for"], this.proxies),
			requestID: ctx?.requestID ?? "-",
			...(res.writableFinished ? {} : { aborted: true }),
		};
		this.logger[accessLogLevel(entry)](...accessLogArgs(entry, config.logFormat));
	},
	/**
	 * A service with no endpoint it can call right now (its nodes unreachable, its circuit breaker
	 * open) is "try again": 503, as docs/api/README.md says, not moleculer's 404 SERVICE_NOT_AVAILABLE.
	 */
	sendError(this: ApiThis, req: Req, res: ServerResponse, err: Error & { type?: unknown }): void {
		const unavailable = err?.type === "SERVICE_NOT_AVAILABLE" ? new Errors.MoleculerRetryableError("The service is not available right now; try again", 503, "SERVICE_UNAVAILABLE") : err;
		gatewayMethods.sendError.call(this, req, res, unavailable);
	},
	reformatError(this: ApiThis, err: Error & { code?: unknown; type?: unknown; data?: unknown }, req: Req, res: ServerResponse): ErrorBody {
		// The binder routes' errors also carry binder-protocol's `{type, error}`.
		return binderErrorBody(req.$action?.name, errorBody(err, res.statusCode >= 400 ? res.statusCode : 500, this.settings.bodyLimit));
	},
	/**
	 * Resolves the API key into ctx.meta (public actions may go without one) and applies the
	 * rate limit: per key when the key is valid, per client address otherwise, so a stream of
	 * made-up keys is limited as one caller. Without a key, the seeds' root routes act as
	 * COMPAT_ANONYMOUS_USER when the operator set one (lib/compat/anonymous.ts).
	 */
	async authenticate(this: ApiThis, ctx: Context<unknown, GatewayMeta>, route: unknown, req: Req, res: ServerResponse): Promise<Identity | AnonymousCaller | null> {
		const address = `addr:${clientAddress(req.socket.remoteAddress, req.headers["x-forwarded-for"], this.proxies)}`;
		const key = keyFromHeaders(req.headers);
		if (!key) {
			this.enforceRateLimit(address, res);
			const anonymous = anonymousCaller(this.compatAnonymous, req.$alias?.fullPath);
			if (anonymous) {
				Object.assign(ctx.meta, anonymous);
				return anonymous;
			}
			if (req.$action?.public) return null;
			throw unauthorized();
		}
		return this.identify(ctx, key, address, res);
	},
	/** The caller a presented key names, into ctx.meta; rate-limited per key. */
	async identify(this: ApiThis, ctx: Context<unknown, GatewayMeta>, key: string, address: string, res: ServerResponse): Promise<Identity> {
		const identity = this.identities.get(key) ?? (await this.checkKey(ctx, key, address, res));
		this.enforceRateLimit(`key:${identity.keyID}`, res);
		ctx.meta.userID = identity.userID;
		ctx.meta.roles = identity.roles;
		ctx.meta.namespaces = identity.namespaces;
		ctx.meta.keyID = identity.keyID;
		ctx.meta.keyExpiresAt = identity.expiresAt;
		return identity;
	},
	/** Asks v1.keys who a presented key belongs to, and remembers a valid one for a few seconds. */
	async checkKey(this: ApiThis, ctx: Context<unknown, GatewayMeta>, key: string, address: string, res: ServerResponse): Promise<Identity> {
		try {
			const identity = await ctx.call<Identity, { key: string }>("v1.keys.authenticate", { key: key.slice(0, 512) });
			this.identities.set(key, identity);
			return identity;
		} catch (err) {
			this.enforceRateLimit(address, res);
			const e = err as { code?: number; type?: string };
			if (e.code === 422) throw unauthorized("Invalid API key");
			if (e.type === "SERVICE_NOT_FOUND" || (e.code ?? 500) >= 500) throw new Errors.MoleculerRetryableError("API keys cannot be checked right now", 503, "SERVICE_UNAVAILABLE");
			throw err;
		}
	},
	/** Counts a request; over the limit, 429 with Retry-After. */
	enforceRateLimit(this: ApiThis, subject: string, res: ServerResponse): void {
		const { allowed, remaining, retryAfter } = this.limiter.hit(subject);
		res.setHeader("X-RateLimit-Limit", String(this.limiter.limit));
		res.setHeader("X-RateLimit-Remaining", String(remaining));
		if (!allowed) {
			res.setHeader("Retry-After", String(retryAfter));
			throw new Errors.MoleculerClientError("Too many requests for this API key; retry later", 429, ErrorTypes.RateLimited, { retryAfter });
		}
	},
	openApiDocument(this: ApiThis): JsonSchema {
		const actions = new Map<string, ActionInfo>();
		for (const item of (this.broker.registry as unknown as Registry).getActionList({ skipInternal: true })) if (item.action) actions.set(item.name, item.action);
		// Function aliases (the status streams) never end: no operation a fuzzer or a client contract could hold.
		const aliases: RestAlias[] = this.aliases
			.filter(a => a.action)
			.map(a => ({ method: a.method, fullPath: a.fullPath, action: a.action, authenticated: Boolean(a.route.opts.authentication), keyOptional: Boolean(anonymousCaller(this.compatAnonymous, a.fullPath)) }));
		return buildOpenApi(aliases, actions, {
			title: "Berth",
			version: process.env.npm_package_version ?? "0.1.0",
			description: "Self-service platform on Kubernetes. Authenticate with `Authorization: Bearer <key>`, `Authorization: <key>` or `X-API-Key: <key>`.",
		});
	},
};

/**
 * The REST gateway. `/api/...` routes come from the services' `rest` settings (auto-aliases);
 * every request there presents an API key unless its action is `public`.
 */
const ApiService: ServiceSchema<GatewaySettings, ApiMethods & Record<string, unknown>, Record<string, unknown>, ApiThis> = {
	name: "api",
	mixins: [ApiGateway as unknown as Partial<ServiceSchema>],
	settings: {
		port: config.port,
		ip: config.host,
		cors: corsSettings(env.corsOrigins),
		keyRateLimit: env.rateLimit,
		authCacheMs: env.authCacheMs,
		trustedProxies: env.trustedProxies,
		bodyLimit: env.bodyLimit,
		// The request id: the caller's X-Request-ID when well formed, a new one otherwise; answered in X-Request-ID.
		// (moleculer-web calls a function here, although its typings allow only an object.)
		rootCallOptions: ((options: { requestID?: string }, req: Req) => {
			options.requestID = requestIdOf(req.headers);
		}) as unknown as ApiSettingsSchema["rootCallOptions"],
		logRequest: "debug",
		logResponse: "debug",
		// Never: a request's params hold env and secret values (moleculer-web logs them at debug by default).
		logRequestParams: null,
		logResponseData: null,
		logRouteRegistration: "debug",
		log4XXResponses: false,
		routes: [
			{
				path: "/",
				mappingPolicy: "restrict",
				authentication: false,
				bodyParsers: false,
				// Probes go keyless and unlimited; a key, when one comes, tells readiness who asks (details are for admins).
				async onBeforeCall(this: ApiThis, ctx: Context<unknown, GatewayMeta>, route: unknown, req: Req, res: ServerResponse) {
					refuseBareOptions(req);
					const key = req.$alias?.action === "health.ready" && keyFromHeaders(req.headers);
					if (key) await this.identify(ctx, key, `addr:${clientAddress(req.socket.remoteAddress, req.headers["x-forwarded-for"], this.proxies)}`, res);
				},
				aliases: {
					"GET /": "health.live",
					"GET /health/live": "health.live",
					"GET /health/ready": "health.ready",
					"GET /health/serving": "health.serving",
					"GET /health/metrics": "health.metrics",
				},
			},
			{
				// The dashboard (ui/, built into dist/ui): static files; it signs in with an API key itself.
				path: "/ui",
				mappingPolicy: "restrict",
				authentication: false,
				bodyParsers: false,
				use: [serveUi()],
				aliases: {},
			},
			{
				// The API reference (Swagger UI over /api/openapi.json), public like the document; before /api, which asks for a key.
				path: DOCS_PATH,
				mappingPolicy: "restrict",
				authentication: false,
				bodyParsers: false,
				use: [serveDocs()],
				aliases: {},
			},
			{
				path: "/api",
				autoAliases: true,
				mappingPolicy: "restrict",
				authentication: true,
				aliases: {
					"GET /openapi.json": "api.openapi",
					// Server-Sent Events of live status (services/k8s.status.service.ts); access as `get` answers.
					"GET /v1/k8s/deployments/:id/stream": deploymentStream,
					"GET /v1/k8s/namespaces/:id/stream": namespaceStream,
				},
				bodyParsers: { json: { limit: env.bodyLimit, strict: false }, urlencoded: { extended: false, limit: env.bodyLimit } },
				onBeforeCall(this: unknown, ctx: Context, route: unknown, req: Req) {
					refuseBareOptions(req);
					if (req.$params) sanitizeParams(req.$params);
				},
				// A GET's JSON is made once per answer object (a cached page: once until a write), with an ETag: If-None-Match gets a 304.
				onAfterCall(this: unknown, ctx: Context<unknown, { $responseType?: string }>, route: unknown, req: Req, res: ServerResponse, data: unknown) {
					if (req.method !== "GET" || ctx.meta.$responseType || !isPlainAnswer(data)) return data;
					const { body, etag } = serializedBody(data);
					res.setHeader("ETag", etag);
					ctx.meta.$responseType = JSON_TYPE;
					return body;
				},
			},
		],
	},
	actions: {
		/** The OpenAPI 3.1 document of every REST route this gateway serves right now. */
		openapi: {
			public: true,
			params: {},
			handler(this: ApiThis): JsonSchema {
				return this.openApiDocument();
			},
		},
		// moleculer-web publishes this as `GET /api/api/list-aliases`; the OpenAPI document says the same, publicly.
		listAliases: { visibility: "public" },
		// The calls a request makes are retried by the broker's retry policy; retrying the whole HTTP
		// exchange as well re-ran it on a request already consumed, and a cluster that was unreachable
		// (a retryable 503) came out as 404 Not found.
		rest: { retryPolicy: { enabled: false } },
	},
	events: {
		"keys.revoked"(this: ApiThis, ctx: Context<{ keyID?: string }>) {
			this.identities.forget(ctx.params?.keyID);
			pokeAccessWatches();
		},
		/** Membership changed somewhere: open status streams on this node re-check their caller's access now. */
		"access.changed": () => pokeAccessWatches(),
		// moleculer-web regenerates auto-aliases 500 ms after the registry settles; once the local
		// services are all up, do it at once so the first requests already find their routes.
		"$broker.started"(this: ApiThis & { routes: Array<{ opts: { autoAliases?: boolean } }>; regenerateAutoAliases(route: unknown): void }) {
			for (const route of this.routes) if (route.opts.autoAliases) this.regenerateAutoAliases(route);
		},
	},
	methods,
	created(this: ApiThis) {
		this.limiter = new FixedWindowLimiter(this.settings.keyRateLimit.limit, this.settings.keyRateLimit.windowMs);
		this.identities = new IdentityCache(this.settings.authCacheMs);
		this.proxies = trustedProxies(this.settings.trustedProxies);
		this.compatAnonymous = loadConfig().compatAnonymous;
		const asked = process.env.COMPAT_ANONYMOUS_USER?.trim();
		if (asked && !this.compatAnonymous) this.logger.warn(`COMPAT_ANONYMOUS_USER="${asked}" is a user ID Berth reserves for itself; the seeds' routes keep requiring a key`);
	},
};

export default ApiService as unknown as ServiceSchema<ApiSettingsSchema>;
