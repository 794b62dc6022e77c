import { Errors } from "moleculer";
import { corsSettings, errorBody, gatewayEnv, sanitizeParams } from "../../lib/api/gateway";

describe("gateway error bodies", () => {
	it("keeps a mesh error's name, message, type and data, with the HTTP status as code", () => {
		const err = new Errors.MoleculerClientError("Namespace not found", 404, "NOT_FOUND", { id: "x" });
		expect(errorBody(err, 404, "1mb")).toEqual({ name: "MoleculerClientError", message: "Namespace not found", code: 404, type: "NOT_FOUND", data: { id: "x" } });
	});

	it("gives body-parser failures Berth's types", () => {
		const tooLarge = Object.assign(new Error("request entity too large"), { type: "entity.too.large", status: 413 });
		expect(errorBody(tooLarge, 413, "1mb")).toEqual({ name: "PayloadTooLarge", message: "Request body larger than 1mb", code: 413, type: "PAYLOAD_TOO_LARGE" });
		const badJson = Object.assign(new SyntaxError("Unexpected token"), { type: "entity.parse.failed", status: 400 });
		expect(errorBody(badJson, 400, "1mb")).toMatchObject({ code: 400, type: "INVALID_JSON" });
	});

	it("always has a type, and does not name internal actions", () => {
		expect(errorBody(new Error("boom"), 500, "1mb")).toEqual({ name: "Error", message: "boom", code: 500, type: "INTERNAL_ERROR" });
		expect(errorBody(new Errors.ServiceNotFoundError({ action: "v1.secret.internal" }), 404, "1mb")).toEqual({
			name: "ServiceNotFoundError",
			message: expect.any(String),
			code: 404,
			type: "NOT_FOUND",
		});
	});
});

describe("gateway settings from the environment", () => {
	it("defaults to 1mb bodies and 600 requests a minute per key, without CORS", () => {
		expect(gatewayEnv({})).toEqual({ bodyLimit: "1mb", rateLimit: { limit: 600, windowMs: 60_000 }, corsOrigins: [], authCacheMs: 5000, trustedProxies: [] });
		expect(corsSettings([])).toBeUndefined();
	});

	it("reads BODY_LIMIT, RATE_LIMIT, RATE_LIMIT_WINDOW, CORS_ORIGINS and AUTH_CACHE_SECONDS", () => {
		const env = gatewayEnv({ BODY_LIMIT: "2mb", RATE_LIMIT: "10", RATE_LIMIT_WINDOW: "5", CORS_ORIGINS: "https://a.example, https://b.example", AUTH_CACHE_SECONDS: "0" });
		expect(env).toEqual({ bodyLimit: "2mb", rateLimit: { limit: 10, windowMs: 5000 }, corsOrigins: ["https://a.example", "https://b.example"], authCacheMs: 0, trustedProxies: [] });
		expect(corsSettings(env.corsOrigins)).toMatchObject({ origin: ["https://a.example", "https://b.example"] });
		expect(corsSettings(["*"])).toMatchObject({ origin: "*" });
	});

	it("ignores nonsense limits", () => {
		expect(gatewayEnv({ RATE_LIMIT: "-1", RATE_LIMIT_WINDOW: "abc" }).rateLimit).toEqual({ limit: 600, windowMs: 60_000 });
	});
});

describe("request params", () => {
	it("lose a prototype smuggled in through a JSON __proto__, nested __proto__ keys, and scope", () => {
		const params: Record<string, any> = {};
		Object.assign(params, JSON.parse('{"name":"a","scope":false,"__proto__":{"scope":false},"spec":{"__proto__":{"admin":true}}}'));
		expect(params.scope).toBe(false);
		sanitizeParams(params);
		expect(params.scope).toBeUndefined();
		expect(Object.getPrototypeOf(params)).toBe(Object.prototype);
		expect(Object.prototype.hasOwnProperty.call(params.spec, "__proto__")).toBe(false);
		expect(params).toEqual({ name: "a", spec: {} });
	});
});
