import { BerthApiError, BerthClient, BerthConnectionError, BerthTimeoutError, BerthWaitError, OPERATIONS, baseUrlOf, buildRequest, pathParams, poll, queryString, rolloutVerdict } from "../../lib";
import { parseEventStream, type StatusView } from "../../lib/client";

interface Recorded {
	method: string;
	url: URL;
	headers: Record<string, string>;
	body?: unknown;
}

/** A fetch that records each request and answers from a list (JSON bodies unless a string). */
function fakeFetch(answers: Array<{ status?: number; body?: unknown; headers?: Record<string, string> } | Error>) {
	const calls: Recorded[] = [];
	const impl = (async (input: string | URL, init?: RequestInit) => {
		calls.push({ method: init?.method ?? "GET", url: new URL(String(input)), headers: init?.headers as Record<string, string>, body: init?.body ? JSON.parse(String(init.body)) : undefined });
		const next = answers.length > 1 ? answers.shift()! : answers[0];
		if (next instanceof Error) throw next;
		const text = typeof next.body === "string" ? next.body : next.body === undefined ? "" : JSON.stringify(next.body);
		const type = typeof next.body === "string" ? "text/plain" : "application/json";
		return new Response(text, { status: next.status ?? 200, headers: { "content-type": type, ...(next.headers ?? {}) } });
	}) as typeof fetch;
	return { impl, calls };
}

describe("baseUrlOf", () => {
	it("defaults to the local gateway", () => {
		expect(baseUrlOf()).toBe("http://127.0.0.1:3000");
	});
	it("takes a host and a port", () => {
		expect(baseUrlOf({ host: "berth.internal", port: 8080 })).toBe("http://berth.internal:8080");
	});
	it("keeps a URL given as host, with its own port unless one is named", () => {
		expect(baseUrlOf({ host: "https://berth.example.com" })).toBe("https://berth.example.com");
		expect(baseUrlOf({ host: "https://berth.example.com/", port: 8443 })).toBe("https://berth.example.com:8443");
	});
	it("lets url win over host and port", () => {
		expect(baseUrlOf({ url: "http://10.1.2.3:9000/", host: "ignored", port: 1 })).toBe("http://10.1.2.3:9000");
	});
});

describe("queryString", () => {
	it("repeats array keys, drops undefined, encodes values", () => {
		expect(queryString({ a: 1, b: ["x", "y z"], c: undefined, d: true })).toBe("?a=1&b=x&b=y+z&d=true");
		expect(queryString({})).toBe("");
		expect(queryString(undefined)).toBe("");
	});
});

describe("the route table", () => {
	it("fills path params and sends the rest as query (GET) or body (POST)", () => {
		expect(buildRequest(OPERATIONS["deployments.logs"], { id: "a b", tail: 5, pod: undefined })).toEqual({ method: "GET", path: "/api/v1/k8s/deployments/a%20b/logs", query: { tail: 5 } });
		expect(buildRequest(OPERATIONS["deployments.scale"], { id: "d1", replicas: 3 })).toEqual({ method: "POST", path: "/api/v1/k8s/deployments/d1/scale", body: { replicas: 3 } });
		expect(buildRequest(OPERATIONS["apps.get"], { template: "jupyter-notebook", id: "abc" }).path).toBe("/applications/jupyter-notebook/abc");
	});
	it("refuses a missing path param instead of calling a wrong route", () => {
		expect(() => buildRequest(OPERATIONS["keys.get"], {})).toThrow(/"id" is required/);
	});
	it("names every path param", () => {
		expect(pathParams("/applications/:template/:id/keepalive")).toEqual(["template", "id"]);
	});
	it("has unique method and path pairs", () => {
		const seen = Object.values(OPERATIONS).map(o => `${o.method} ${o.path}`);
		expect(new Set(seen).size).toBe(seen.length);
	});
});

describe("BerthClient", () => {
	it("sends the key as a bearer token and JSON bodies", async () => {
		const { impl, calls } = fakeFetch([{ status: 201, body: { id: "n1", name: "team-a" } }]);
		const client = new BerthClient({ host: "h", port: 1234, apiKey: "k3y", fetch: impl });
		const ns = await client.namespaces.create({ name: "team-a", quota: { cpu: "1" } });
		expect(ns).toEqual({ id: "n1", name: "team-a" });
		expect(calls[0].method).toBe("POST");
		expect(calls[0].url.toString()).toBe("http://h:1234/api/v1/k8s/namespaces");
		expect(calls[0].headers.authorization).toBe("Bearer k3y");
		expect(calls[0].body).toEqual({ name: "team-a", quota: { cpu: "1" } });
	});

	it("sends no authorization header without a key", async () => {
		const { impl, calls } = fakeFetch([{ body: { id: "x" } }]);
		await new BerthClient({ fetch: impl }).apps.launch("jupyter-notebook");
		expect(calls[0].headers.authorization).toBeUndefined();
		expect(calls[0].url.pathname).toBe("/applications/jupyter-notebook");
	});

	it("turns an error body into a BerthApiError with status, type and data", async () => {
		const { impl } = fakeFetch([{ status: 422, body: { name: "ValidationError", message: "Parameters validation error!", code: 422, type: "VALIDATION_ERROR", data: [{ field: "name", message: "bad" }] } }]);
		const err = await new BerthClient({ fetch: impl }).namespaces.create({ name: "X" }).catch(e => e);
		expect(err).toBeInstanceOf(BerthApiError);
		expect(err).toMatchObject({ status: 422, type: "VALIDATION_ERROR", message: "Parameters validation error!", data: [{ field: "name", message: "bad" }], request: "POST /api/v1/k8s/namespaces" });
		expect(err.retryable).toBe(false);
	});

	it("reads Retry-After of a 429", async () => {
		const { impl } = fakeFetch([{ status: 429, body: { message: "slow down", type: "RATE_LIMITED" }, headers: { "retry-after": "17" } }]);
		const err = await new BerthClient({ fetch: impl }).keys.list().catch(e => e);
		expect(err).toMatchObject({ status: 429, retryAfter: 17, retryable: true });
	});

	it("wraps network failures in BerthConnectionError", async () => {
		const refused = Object.assign(new TypeError("fetch failed"), { cause: { code: "ECONNREFUSED", message: "connect ECONNREFUSED 127.0.0.1:1" } });
		const { impl } = fakeFetch([refused]);
		const err = await new BerthClient({ port: 1, fetch: impl }).keys.list().catch(e => e);
		expect(err).toBeInstanceOf(BerthConnectionError);
		expect(err.message).toBe("Cannot reach Berth at http://127.0.0.1:1: connect ECONNREFUSED 127.0.0.1:1");
	});

	it("answers text/plain as text (job logs) and an empty body as an empty log", async () => {
		const { impl } = fakeFetch([{ body: "line 1\nline 2\n" }, { body: undefined }]);
		const client = new BerthClient({ fetch: impl });
		await expect(client.jobs.logs("j1")).resolves.toBe("line 1\nline 2\n");
		await expect(client.jobs.logs("j1")).resolves.toBe("");
	});

	it("env set creates, and on 409 updates the existing key", async () => {
		const { impl, calls } = fakeFetch([{ status: 409, body: { message: "exists", type: "CONFLICT" } }, { body: { id: "e1", key: "A" } }, { body: { id: "e1", key: "A", value: "2" } }]);
		const env = await new BerthClient({ fetch: impl }).envs.set({ namespace: "ns", deployment: "web", key: "A", value: "2" });
		expect(env).toMatchObject({ value: "2" });
		expect(calls.map(c => `${c.method} ${c.url.pathname}${c.url.search}`)).toEqual([
			"POST /api/v1/k8s/envs",
			"GET /api/v1/k8s/envs/resolve?namespace=ns&deployment=web&key=A",
			"PATCH /api/v1/k8s/envs/e1",
		]);
		expect(calls[2].body).toEqual({ value: "2" });
	});

	it("finds a deployment by name, and says when a name is ambiguous", async () => {
		const deps = [
			{ id: "d1", name: "web", namespaceName: "a" },
			{ id: "d2", name: "web", namespaceName: "b" },
			{ id: "d3", name: "api", namespaceName: "a" },
		];
		const { impl } = fakeFetch([{ body: deps }]);
		const client = new BerthClient({ fetch: impl });
		await expect(client.deployments.find("api")).resolves.toMatchObject({ id: "d3" });
		await expect(client.deployments.find("d2")).resolves.toMatchObject({ id: "d2" });
		await expect(client.deployments.find("web")).rejects.toThrow(/2 deployments are named "web" \(in a, b\)/);
		await expect(client.deployments.find("nope")).rejects.toMatchObject({ status: 404 });
	});

	it("calls an operation of the live OpenAPI document by its id", async () => {
		const doc = { paths: { "/api/v1/things/{id}/poke": { post: { operationId: "v1.things.poke" } } } };
		const { impl, calls } = fakeFetch([{ body: doc }, { body: { poked: true } }]);
		const client = new BerthClient({ fetch: impl });
		await expect(client.operation("v1.things.poke", { id: "t1", hard: true })).resolves.toEqual({ poked: true });
		expect(calls[1]).toMatchObject({ method: "POST", body: { hard: true } });
		expect(calls[1].url.pathname).toBe("/api/v1/things/t1/poke");
		await expect(client.operation("v1.things.nope")).rejects.toMatchObject({ status: 404 });
	});

	it("streams a follow log chunk by chunk", async () => {
		const { impl, calls } = fakeFetch([{ body: "a\nb\n" }]);
		const chunks: string[] = [];
		for await (const c of new BerthClient({ fetch: impl }).deployments.followLogs("d1", { tail: 2 })) chunks.push(c);
		expect(chunks.join("")).toBe("a\nb\n");
		expect(calls[0].url.search).toBe("?tail=2&follow=true");
	});
});

describe("waits", () => {
	const status = (phase: StatusView["phase"], ready: number, replicas = 1): StatusView => ({ id: "d", name: "web", namespace: "a", hosts: [], phase, replicas, readyReplicas: ready, availableReplicas: ready, updatedReplicas: ready, conditions: [] });

	it("a rollout is over when Running or scaled to zero, failed when Failed", () => {
		expect(rolloutVerdict(status("Progressing", 0))).toBe(false);
		expect(rolloutVerdict(status("Running", 1))).toBe("ok");
		expect(rolloutVerdict(status("Scaled to zero", 0, 0))).toBe("ok");
		expect(rolloutVerdict(status("Failed", 0))).toBe("failed");
		// After a scale the status may still show the old count for a moment.
		expect(rolloutVerdict(status("Running", 1, 1), 3)).toBe(false);
	});

	it("polls through transient failures and reports progress", async () => {
		const states = [new BerthApiError(503, "SERVICE_UNAVAILABLE", "later"), status("Progressing", 0), status("Running", 1)];
		const seen: string[] = [];
		const result = await poll(
			async () => {
				const next = states.shift()!;
				if (next instanceof Error) throw next;
				return next;
			},
			s => rolloutVerdict(s),
			"Rollout",
			{ intervalMs: 1, onProgress: s => seen.push(s.phase) },
		);
		expect(result.phase).toBe("Running");
		expect(seen).toEqual(["Progressing", "Running"]);
	});

	it("stops at once on a client error", async () => {
		await expect(poll(() => Promise.reject(new BerthApiError(404, "NOT_FOUND", "gone")), () => false, "x", { intervalMs: 1 })).rejects.toMatchObject({ status: 404 });
	});

	it("rejects with the last state when it fails or runs out of time", async () => {
		const failed = await poll(async () => status("Failed", 0), s => rolloutVerdict(s), "Rollout of web", { intervalMs: 1 }).catch(e => e);
		expect(failed).toBeInstanceOf(BerthWaitError);
		expect(failed.last.phase).toBe("Failed");
		const late = await poll(async () => status("Progressing", 0), s => rolloutVerdict(s), "Rollout of web", { intervalMs: 5, timeoutMs: 20 }).catch(e => e);
		expect(late).toBeInstanceOf(BerthTimeoutError);
		expect(late.last.phase).toBe("Progressing");
	});
});

describe("parseEventStream", () => {
	async function* chunks(...parts: string[]) {
		for (const p of parts) yield p;
	}
	const collect = async (it: AsyncIterable<unknown>) => {
		const out: unknown[] = [];
		for await (const e of it) out.push(e);
		return out;
	};

	it("reads events split anywhere, skips heartbeats, parses JSON data", async () => {
		const events = await collect(parseEventStream(chunks("retry: 3000\n\nevent: sta", 'tus\nid: 1\ndata: {"phase":', '"Running"}\n\n: heartbeat 2030-01-01\n\n', "event: removed\r\nid: 2\r\ndata: {\"id\":\"d1\"}\r\n\r\n")));
		expect(events).toEqual([
			{ event: "status", id: "1", data: { phase: "Running" } },
			{ event: "removed", id: "2", data: { id: "d1" } },
		]);
	});

	it("joins multi-line data, keeps text that is not JSON, and names unnamed events message", async () => {
		expect(await collect(parseEventStream(chunks("data: line one\ndata: line two\n\n")))).toEqual([{ event: "message", data: "line one\nline two" }]);
	});

	it("drops an event the stream cut off before its blank line", async () => {
		expect(await collect(parseEventStream(chunks("event: status\ndata: {}\n")))).toEqual([]);
	});
});
