import type { AddressInfo } from "node:net";
import type * as http from "node:http";
import { ServiceBroker, type ServiceSchema } from "moleculer";
import brokerConfig from "../../moleculer.config";
import ApiService from "../../services/api.service";
import { corsSettings } from "../../lib/api/gateway";
import HealthService from "../../services/health.service";
import KeysService from "../../services/keys.service";
import { eventually } from "../helpers/eventually";
import { request } from "../helpers/mesh";

/** A service the gateway learns about after it started, as later services will be. */
const EchoService: ServiceSchema = {
	name: "echo",
	version: 1,
	settings: { rest: "/v1/echo" },
	actions: {
		echo: { rest: "POST /", params: { text: { type: "string", max: 100 }, scope: { type: "any", optional: true } }, handler: ctx => ctx.params },
		scope: { rest: "POST /scope", handler: ctx => ({ scope: ctx.params.scope === undefined ? "absent" : ctx.params.scope }) },
		whoami: { rest: "GET /whoami", handler: ctx => ({ userID: ctx.meta.userID, roles: ctx.meta.roles, namespaces: ctx.meta.namespaces }) },
		fail: { rest: "GET /fail", handler: () => Promise.reject(new Error("an unexpected bug")) },
		open: { rest: "GET /open", public: true, handler: ctx => ({ userID: ctx.meta.userID ?? null }) },
		internal: { visibility: "public", rest: "GET /internal", handler: () => "hidden" },
	},
};

interface Gateway {
	broker: ServiceBroker;
	url: string;
	adminKey: string;
}

/** A real broker with the gateway (its settings overridden as an operator would through the environment), keys and health. */
async function startGateway(settings: Record<string, unknown> = {}): Promise<Gateway> {
	process.env.DATA_DIR ??= ":memory:";
	process.env.BERTH_ADMIN_KEY ??= "berth_000000000000_integration-admin-key-0000000000";
	const broker = new ServiceBroker({ ...brokerConfig, logger: process.env.TEST_LOGS ? brokerConfig.logger : false });
	broker.createService({ name: "api", mixins: [ApiService], settings: { port: 0, ip: "127.0.0.1", ...settings } } as ServiceSchema);
	broker.createService(HealthService);
	broker.createService(KeysService as unknown as ServiceSchema);
	await broker.start();
	const server = (broker.getLocalService("api") as unknown as { server: http.Server }).server;
	return { broker, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, adminKey: process.env.BERTH_ADMIN_KEY };
}

describe("the gateway", () => {
	let gw: Gateway;
	let userKey: string;
	const errorShape = { name: expect.any(String), message: expect.any(String), code: expect.any(Number), type: expect.any(String) };

	beforeAll(async () => {
		gw = await startGateway();
		await gw.broker.createService(EchoService);
		await eventually(async () => expect((await request(`${gw.url}/api/v1/echo/whoami`, { key: gw.adminKey })).status).toBe(200), { timeoutMs: 10_000 });
		const created = await request(`${gw.url}/api/v1/keys`, { method: "POST", key: gw.adminKey, body: { name: "gateway-test", userID: "gw-user", namespaces: ["gw-team"] } });
		expect(created.status).toBe(201);
		userKey = created.body.key;
	});
	afterAll(() => gw.broker.stop());

	describe("authentication", () => {
		it.each<[string, (key: string) => Record<string, string>]>([
			["Authorization: Bearer <key>", k => ({ authorization: `Bearer ${k}` })],
			["Authorization: <key>", k => ({ authorization: k })],
			["X-API-Key: <key>", k => ({ "x-api-key": k })],
		])("accepts %s and puts the key's identity in ctx.meta", async (_, headers) => {
			const res = await request(`${gw.url}/api/v1/echo/whoami`, { headers: headers(userKey) });
			expect(res.status).toBe(200);
			expect(res.body).toEqual({ userID: "gw-user", roles: ["user"], namespaces: ["gw-team"] });
		});

		it("answers 401 without a key or with a wrong one, in the error shape", async () => {
			const attempts: Record<string, string>[] = [{}, { authorization: "Bearer berth_0123456789ab_not-a-real-key-at-all-xxxxxxxx" }, { "x-api-key": "garbage" }, { authorization: "Bearer" }];
			for (const headers of attempts) {
				const res = await request(`${gw.url}/api/v1/echo/whoami`, { headers });
				expect(res.status).toBe(401);
				expect(res.body).toEqual({ ...errorShape, code: 401, type: "UNAUTHORIZED" });
			}
		});

		it("lets public actions through without a key", async () => {
			expect(await request(`${gw.url}/api/v1/echo/open`)).toMatchObject({ status: 200, body: { userID: null } });
			expect(await request(`${gw.url}/api/openapi.json`)).toMatchObject({ status: 200, body: { openapi: "3.1.0" } });
			expect(await request(`${gw.url}/`)).toMatchObject({ status: 200, body: { status: "alive" } });
		});
	});

	describe("routes", () => {
		it("serves routes of services that joined after the gateway started", async () => {
			const res = await request(`${gw.url}/api/v1/echo`, { method: "POST", key: userKey, body: { text: "hi" } });
			expect(res).toMatchObject({ status: 200, body: { text: "hi" } });
		});

		it("never lets a REST caller pass the mesh-internal `scope`", async () => {
			const res = await request(`${gw.url}/api/v1/echo?scope=false`, { method: "POST", key: userKey, body: { text: "hi", scope: false } });
			expect(res.status).toBe(200);
			expect(res.body).toEqual({ text: "hi" });
		});

		it("keeps `scope` out even when smuggled in as a JSON __proto__", async () => {
			const res = await request(`${gw.url}/api/v1/echo/scope`, { method: "POST", key: userKey, body: '{"__proto__": {"scope": false}, "nested": {"__proto__": {"x": 1}}}' });
			expect(res).toMatchObject({ status: 200, body: { scope: "absent" } });
		});

		it("does not treat a bare OPTIONS as a GET", async () => {
			const res = await request(`${gw.url}/api/v1/keys`, { method: "OPTIONS", key: gw.adminKey });
			expect(res.status).toBe(404);
			expect((await request(`${gw.url}/health/live`, { method: "OPTIONS" })).status).toBe(404);
		});

		it("answers unknown routes, unknown methods and unpublished actions with a JSON 404", async () => {
			for (const [method, path] of [["GET", "/api/nothing-here"], ["PATCH", "/api/v1/keys"], ["GET", "/api/v1/echo/internal"], ["GET", "/api/api/list-aliases"], ["GET", "/nothing"]]) {
				const res = await request(`${gw.url}${path}`, { method, key: gw.adminKey });
				expect([method, path, res.status]).toEqual([method, path, 404]);
				expect(res.body).toEqual({ ...errorShape, code: 404, type: "NOT_FOUND" });
			}
		});

		it("answers validation failures with 422 naming the field", async () => {
			const res = await request(`${gw.url}/api/v1/echo`, { method: "POST", key: userKey, body: { text: 42 } });
			expect(res.status).toBe(422);
			expect(res.body).toMatchObject({ ...errorShape, code: 422, type: "VALIDATION_ERROR", data: [expect.objectContaining({ field: "text" })] });
		});

		it("answers malformed JSON with 400 INVALID_JSON", async () => {
			const res = await request(`${gw.url}/api/v1/echo`, { method: "POST", key: userKey, body: "{not json" });
			expect(res.status).toBe(400);
			expect(res.body).toEqual({ ...errorShape, code: 400, type: "INVALID_JSON" });
		});

		it("answers an unexpected failure with a JSON 500 in the same shape", async () => {
			const res = await request(`${gw.url}/api/v1/echo/fail`, { key: userKey });
			expect(res.status).toBe(500);
			expect(res.body).toEqual({ ...errorShape, code: 500, type: "INTERNAL_ERROR" });
		});
	});

	describe("limits", () => {
		it("refuses a body over 1 MiB with 413", async () => {
			const res = await request(`${gw.url}/api/v1/echo`, { method: "POST", key: userKey, body: { text: "x".repeat(1024 * 1024 + 10) } });
			expect(res.status).toBe(413);
			expect(res.body).toEqual({ ...errorShape, code: 413, type: "PAYLOAD_TOO_LARGE" });
		});

		it("accepts a body just under the limit (and validates it)", async () => {
			const res = await request(`${gw.url}/api/v1/echo`, { method: "POST", key: userKey, body: { text: "x".repeat(1000 * 1000) } });
			expect(res.status).toBe(422);
		});
	});
});

describe("the gateway's access log and request ids", () => {
	let gw: Gateway;
	let lines: string[];
	beforeAll(async () => {
		gw = await startGateway();
		const api = gw.broker.getLocalService("api") as unknown as { logger: { info(...args: unknown[]): void } };
		lines = [];
		api.logger.info = (...args: unknown[]) => void lines.push(args.map(String).join(" "));
	});
	afterAll(() => gw.broker.stop());
	const accessLines = (requestID: string) => eventually(async () => {
		const found = lines.filter(l => l.includes(`req=${requestID}`));
		expect(found).toHaveLength(1);
		return found[0];
	});

	it("answers with the caller's X-Request-ID and logs one line with method, path, status, time and the key's id, never the key", async () => {
		const res = await request(`${gw.url}/api/v1/keys?limit=5`, { key: gw.adminKey, headers: { "x-request-id": "trace-abc-1" } });
		expect(res.status).toBe(200);
		expect(res.headers.get("x-request-id")).toBe("trace-abc-1");
		const line = await accessLines("trace-abc-1");
		expect(line).toMatch(/^GET \/api\/v1\/keys 200 \d+ms key=\S+ client=127\.0\.0\.1 req=trace-abc-1$/);
		expect(line).not.toContain(gw.adminKey);
		expect(line).not.toContain("limit=5");
	});

	it("replaces a request id a log line could be forged with, and logs refused calls too", async () => {
		const res = await request(`${gw.url}/api/v1/keys`, { key: "made-up", headers: { "x-request-id": "x req=forged" } });
		expect(res.status).toBe(401);
		const id = res.headers.get("x-request-id") as string;
		expect(id).toMatch(/^[0-9a-f-]{36}$/);
		expect(await accessLines(id)).toMatch(/^GET \/api\/v1\/keys 401 \d+ms key=- /);
	});
});

describe("the gateway's rate limit", () => {
	let gw: Gateway;
	beforeAll(async () => {
		gw = await startGateway({ keyRateLimit: { limit: 5, windowMs: 60_000 } });
	});
	afterAll(() => gw.broker.stop());

	it("answers 429 with Retry-After once a key is over its limit, and counts keys apart", async () => {
		const other = await request(`${gw.url}/api/v1/keys`, { method: "POST", key: gw.adminKey, body: { name: "second", userID: "rl-user" } });
		expect(other.status).toBe(201);
		const statuses: number[] = [];
		let last;
		for (let i = 0; i < 6; i++) {
			last = await request(`${gw.url}/api/v1/keys`, { key: gw.adminKey });
			statuses.push(last.status);
		}
		// The admin already spent one request creating the second key.
		expect(statuses).toEqual([200, 200, 200, 200, 429, 429]);
		expect(Number(last!.headers.get("retry-after"))).toBeGreaterThanOrEqual(1);
		expect(Number(last!.headers.get("retry-after"))).toBeLessThanOrEqual(60);
		expect(last!.body).toMatchObject({ code: 429, type: "RATE_LIMITED", data: { retryAfter: expect.any(Number) } });
		expect((await request(`${gw.url}/api/v1/keys`, { key: other.body.key })).status).toBe(200);
	});

	it("limits made-up keys per client address, so guessing keys is throttled too", async () => {
		const statuses = new Set<number>();
		for (let i = 0; i < 8; i++) statuses.add((await request(`${gw.url}/api/v1/keys`, { headers: { "x-api-key": `made-up-key-${i}` } })).status);
		expect([...statuses].sort()).toEqual([401, 429]);
	});
});

describe("the gateway's CORS", () => {
	let gw: Gateway;
	beforeAll(async () => {
		gw = await startGateway({ cors: corsSettings(["https://console.example"]) });
	});
	afterAll(() => gw.broker.stop());

	it("answers a preflight from an allowed origin without a key", async () => {
		const res = await fetch(`${gw.url}/api/v1/keys`, { method: "OPTIONS", headers: { origin: "https://console.example", "access-control-request-method": "POST", "access-control-request-headers": "authorization,content-type" } });
		expect(res.status).toBe(204);
		expect(res.headers.get("access-control-allow-origin")).toBe("https://console.example");
		expect(res.headers.get("access-control-allow-methods")).toContain("POST");
		expect(res.headers.get("access-control-allow-headers")?.toLowerCase()).toContain("authorization");
	});

	it("marks real responses for the allowed origin, and refuses others", async () => {
		const ok = await request(`${gw.url}/api/v1/keys`, { key: gw.adminKey, headers: { origin: "https://console.example" } });
		expect(ok.status).toBe(200);
		expect(ok.headers.get("access-control-allow-origin")).toBe("https://console.example");
		const refused = await request(`${gw.url}/api/v1/keys`, { key: gw.adminKey, headers: { origin: "https://evil.example" } });
		expect(refused.status).toBe(403);
		expect(refused.headers.get("access-control-allow-origin")).toBeNull();
	});
});

describe("the gateway without CORS_ORIGINS", () => {
	let gw: Gateway;
	beforeAll(async () => {
		gw = await startGateway();
	});
	afterAll(() => gw.broker.stop());

	it("sends no CORS headers", async () => {
		const res = await request(`${gw.url}/api/v1/keys`, { key: gw.adminKey, headers: { origin: "https://console.example" } });
		expect(res.status).toBe(200);
		expect(res.headers.get("access-control-allow-origin")).toBeNull();
	});
});

describe("the gateway's rate limit behind a trusted proxy (TRUSTED_PROXIES)", () => {
	const keyless = (gw: Gateway, forwardedFor: string) => request(`${gw.url}/api/v1/keys`, { headers: { "x-api-key": "made-up-key", "x-forwarded-for": forwardedFor } });
	/** How many keyless requests a client gets before its 429, at a limit of 3 per window. */
	async function allowedBefore429(gw: Gateway, forwardedFor: string): Promise<number> {
		for (let i = 0; i < 5; i++) if ((await keyless(gw, forwardedFor)).status === 429) return i;
		return 5;
	}

	it("counts each forwarded client apart when the peer is a trusted proxy", async () => {
		const gw = await startGateway({ keyRateLimit: { limit: 3, windowMs: 60_000 }, trustedProxies: ["127.0.0.1/32"] });
		try {
			expect(await allowedBefore429(gw, "203.0.113.1")).toBe(3);
			// Another client behind the same proxy has its own window; a forged leftmost entry changes nothing.
			expect(await allowedBefore429(gw, "203.0.113.1, 203.0.113.2")).toBe(3);
		} finally {
			await gw.broker.stop();
		}
	});

	it("ignores X-Forwarded-For from a peer it does not trust: every such caller shares the peer's window", async () => {
		const gw = await startGateway({ keyRateLimit: { limit: 3, windowMs: 60_000 }, trustedProxies: [] });
		try {
			expect(await allowedBefore429(gw, "203.0.113.1")).toBe(3);
			expect(await allowedBefore429(gw, "203.0.113.2")).toBe(0);
		} finally {
			await gw.broker.stop();
		}
	});
});
