import type { IncomingMessage, ServerResponse } from "node:http";
import type { Context, ServiceSchema } from "moleculer";
import { Errors } from "moleculer";
import ApiGateway, { type ApiSettingsSchema } from "moleculer-web";
import { loadConfig } from "../lib/config";
import { ErrorTypes, unauthorized } from "../lib/errors";
import { keyFromHeaders } from "../lib/keys";
import { FixedWindowLimiter } from "../lib/rate-limit";
import type { CallerMeta } from "../mixins/membership.mixin";
import type { Identity } from "./keys.service";

type Req = IncomingMessage & { $action?: { public?: boolean }; $params?: Record<string, unknown>; $ctx?: Context };

const config = loadConfig();
const bodyLimit = process.env.BODY_LIMIT || "1mb";
const limiter = new FixedWindowLimiter(Number(process.env.RATE_LIMIT) > 0 ? Number(process.env.RATE_LIMIT) : 600, 60_000);
const corsOrigins = (process.env.CORS_ORIGINS ?? "").split(",").map(s => s.trim()).filter(Boolean);

/** Body-parser failures carry their own `type`s; clients get Berth's stable ones. */
const bodyErrorTypes: Record<string, string> = {
	"entity.too.large": ErrorTypes.PayloadTooLarge,
	"entity.parse.failed": "INVALID_JSON",
	"encoding.unsupported": "UNSUPPORTED_ENCODING",
	"charset.unsupported": "UNSUPPORTED_ENCODING",
};

/** Rate limiting keyed by the presented API key (or the client address without one). */
function rateLimit(req: Req, res: ServerResponse): void {
	const key = keyFromHeaders(req.headers) ?? req.socket.remoteAddress ?? "anonymous";
	const retryAfter = limiter.hit(key);
	if (retryAfter > 0) {
		res.setHeader("Retry-After", String(retryAfter));
		throw new Errors.MoleculerClientError("Too many requests", 429, ErrorTypes.RateLimited, { retryAfter });
	}
}

const ApiService: ServiceSchema<ApiSettingsSchema> = {
	name: "api",
	mixins: [ApiGateway as unknown as Partial<ServiceSchema>],
	settings: {
		port: config.port,
		ip: process.env.HOST || "0.0.0.0",
		cors: corsOrigins.length ? { origin: corsOrigins, methods: ["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"], credentials: false, maxAge: 3600 } : undefined,
		logRequest: "debug",
		logResponse: "debug",
		log4XXResponses: false,
		routes: [
			{
				path: "/",
				mappingPolicy: "restrict",
				authentication: false,
				bodyParsers: false,
				aliases: {
					"GET /": "health.live",
					"GET /health/live": "health.live",
					"GET /health/ready": "health.ready",
				},
			},
			{
				path: "/api",
				autoAliases: true,
				mappingPolicy: "restrict",
				authentication: true,
				bodyParsers: { json: { limit: bodyLimit, strict: false }, urlencoded: { extended: false, limit: bodyLimit } },
				onBeforeCall(this: unknown, ctx: Context, route: unknown, req: Req, res: ServerResponse) {
					rateLimit(req, res);
					// `scope: false` is the mesh-internal membership opt-out; it never comes from outside.
					if (req.$params) delete req.$params.scope;
				},
			},
		],
	},
	methods: {
		/** The error body clients get: `{name, message, code, type, data}` with Berth's stable types. */
		reformatError(err: Error & { code?: number; type?: string; data?: unknown }) {
			const type = err.type ? bodyErrorTypes[err.type] : undefined;
			if (type) return { name: err.name, message: err.code === 413 ? `Request body larger than ${bodyLimit}` : err.message, code: err.code, type, data: err.data };
			return { name: err.name, message: err.message, code: err.code, type: err.type, data: err.data };
		},
		/** Resolves the API key into ctx.meta; public actions may be called without one. */
		async authenticate(ctx: Context<unknown, CallerMeta & { keyID?: string }>, route: unknown, req: Req): Promise<Identity | null> {
			const key = keyFromHeaders(req.headers);
			if (!key) {
				if (req.$action?.public) return null;
				throw unauthorized();
			}
			const identity = await ctx.call<Identity, { key: string }>("v1.keys.authenticate", { key });
			ctx.meta.userID = identity.userID;
			ctx.meta.roles = identity.roles;
			ctx.meta.namespaces = identity.namespaces;
			ctx.meta.keyID = identity.keyID;
			return identity;
		},
	},
};

export default ApiService;
