import { run } from "../../lib/cli/main";
import { age, cell, details, pairs, quotaRows, table, truncate } from "../../lib/cli/format";
import { canAnimate } from "../../lib/cli/progress";
import { connection, duration, expiry, integer, keyValue, looseValue, volumeSpec } from "../../lib/cli/parse";

type Answer = { status?: number; body?: unknown } | Error | ((url: URL, init: RequestInit) => { status?: number; body?: unknown });

/** Runs `berth` in-process against a fake gateway answering by "METHOD /path" (first match wins). */
async function cli(argv: string[], routes: Record<string, Answer | Answer[]> = {}, env: Record<string, string> = {}) {
	let stdout = "";
	let stderr = "";
	const calls: { method: string; url: URL; headers: Record<string, string>; body?: any }[] = [];
	const fetchImpl = (async (input: string | URL, init: RequestInit = {}) => {
		const url = new URL(String(input));
		const method = init.method ?? "GET";
		calls.push({ method, url, headers: init.headers as Record<string, string>, body: init.body ? JSON.parse(String(init.body)) : undefined });
		const key = `${method} ${url.pathname}`;
		const route = routes[key];
		if (route === undefined) return new Response(JSON.stringify({ message: `no fake for ${key}`, type: "NOT_FOUND", code: 404 }), { status: 404, headers: { "content-type": "application/json" } });
		let answer = Array.isArray(route) ? (route.length > 1 ? route.shift()! : route[0]) : route;
		if (answer instanceof Error) throw answer;
		if (typeof answer === "function") answer = answer(url, init);
		const text = typeof answer.body === "string" ? answer.body : JSON.stringify(answer.body ?? null);
		return new Response(text, { status: answer.status ?? 200, headers: { "content-type": typeof answer.body === "string" ? "text/plain" : "application/json" } });
	}) as typeof fetch;
	const code = await run(argv, {
		stdout: { write: (s: string) => (stdout += s) },
		stderr: { write: (s: string) => (stderr += s), isTTY: false },
		// No profiles: a developer's own ~/.config/berth must not reach these runs.
		env: { BERTH_API_KEY: "test-key", BERTH_CONFIG: "/nonexistent/berth/config.json", ...env },
		fetch: fetchImpl,
	});
	return { code, stdout, stderr, calls };
}

const ns = (name: string, id = `id-${name}`) => ({ id, name, phase: "Active", owner: "alice", members: [], quota: { cpu: "2", memory: "4Gi", storage: "10Gi", pods: 20, gpu: 0 }, uid: "u", createdAt: new Date().toISOString(), updatedAt: "" });
const dep = { id: "d1", name: "web", namespace: "id-team-a", namespaceName: "team-a", image: "img1", imageName: "nginx", replicas: 1, vHosts: [], volumes: [], owner: "alice", members: [] };
const status = (phase: string, ready: number, replicas = 1) => ({ id: "d1", name: "web", namespace: "team-a", hosts: ["web.team-a.berth.local"], phase, replicas, readyReplicas: ready, availableReplicas: ready, updatedReplicas: ready, conditions: [{ type: "Applied", status: "True" }] });

describe("option parsers", () => {
	it("reads KEY=VALUE with = in the value", () => {
		expect(keyValue("A=b=c")).toEqual(["A", "b=c"]);
		expect(keyValue("EMPTY=")).toEqual(["EMPTY", ""]);
		expect(() => keyValue("=x")).toThrow(/KEY=VALUE/);
		expect(() => keyValue("novalue")).toThrow(/KEY=VALUE/);
	});
	it("reads durations", () => {
		expect(duration("90")).toBe(90);
		expect(duration("90s")).toBe(90);
		expect(duration("5m")).toBe(300);
		expect(duration("2h")).toBe(7200);
		expect(() => duration("soon")).toThrow(/duration/);
		expect(() => duration("0")).toThrow(/duration/);
	});
	it("reads bounded integers", () => {
		expect(integer(0, 10)("7")).toBe(7);
		expect(() => integer(0, 10)("11")).toThrow(/between 0 and 10/);
		expect(() => integer(0, 10)("1.5")).toThrow(/whole number/);
	});
	it("reads a volume mount", () => {
		expect(volumeSpec("data:/var/www/html")).toEqual({ name: "data", type: "persistentVolumeClaim", mountPath: "/var/www/html", persistentVolumeClaim: { claimName: "data" } });
		expect(volumeSpec("data:/srv:ro")).toMatchObject({ mountPath: "/srv", readOnly: true });
		expect(() => volumeSpec("data")).toThrow(/CLAIM:\/mount\/path/);
	});
	it("reads an expiry as a date or a duration from now", () => {
		expect(expiry("2030-01-02T03:04:05Z")).toBe("2030-01-02T03:04:05.000Z");
		expect(expiry("1d", Date.parse("2030-01-01T00:00:00Z"))).toBe("2030-01-02T00:00:00.000Z");
		expect(() => expiry("tomorrow-ish")).toThrow(/ISO date/);
	});
	it("types loose values", () => {
		expect(looseValue("3")).toBe(3);
		expect(looseValue("true")).toBe(true);
		expect(looseValue('{"a":1}')).toEqual({ a: 1 });
		expect(looseValue("team-a")).toBe("team-a");
	});
	it("takes the connection from flags, then BERTH_* variables, then defaults", () => {
		expect(connection({}, {})).toEqual({ host: "127.0.0.1", port: 3000, apiKey: undefined });
		expect(connection({}, { BERTH_HOST: "h", BERTH_PORT: "8080", BERTH_API_KEY: "k" })).toEqual({ host: "h", port: 8080, apiKey: "k" });
		expect(connection({ host: "f", port: 1, apiKey: "fk" }, { BERTH_HOST: "h", BERTH_PORT: "8080", BERTH_API_KEY: "k" })).toEqual({ host: "f", port: 1, apiKey: "fk" });
		expect(connection({}, { BERTH_HOST: "https://berth.example.com" })).toEqual({ host: "https://berth.example.com", port: undefined, apiKey: undefined });
		expect(() => connection({}, { BERTH_PORT: "http" })).toThrow(/BERTH_PORT/);
	});
});

describe("progress", () => {
	it("animates only on a terminal for both streams, not in CI or a dumb terminal", () => {
		const tty = { write: () => true, isTTY: true };
		const pipe = { write: () => true, isTTY: false };
		expect(canAnimate(tty, tty, { TERM: "xterm" })).toBe(true);
		expect(canAnimate(pipe, tty, { TERM: "xterm" })).toBe(false);
		expect(canAnimate(tty, pipe, {})).toBe(false);
		expect(canAnimate(tty, tty, { TERM: "dumb" })).toBe(false);
		expect(canAnimate(tty, tty, { CI: "" })).toBe(false);
	});
});

describe("formatting", () => {
	it("prints borderless tables with upper-case headers", () => {
		const out = table([{ a: "x", b: 1 }, { a: "longer", b: undefined }], [
			{ header: "name", value: r => r.a },
			{ header: "n", value: r => r.b },
		]);
		expect(out).toBe("NAME    N\nx       1\nlonger  -\n");
		expect(table([], [{ header: "name", value: () => "" }], "No things.")).toBe("No things.\n");
	});
	it("prints details as aligned fields", () => {
		expect(details([["name", "web"], ["hosts", ["a", "b"]], ["none", undefined]])).toBe("name:   web\nhosts:  a,b\nnone:   -\n");
	});
	it("shows cells, pairs, ages, quota rows and truncated text", () => {
		expect(cell({ a: 1 })).toBe('{"a":1}');
		expect(cell([])).toBe("-");
		expect(pairs({ cpu: "2", pods: 20, gpu: undefined })).toBe("cpu=2 pods=20");
		const now = Date.parse("2030-01-01T12:00:00Z");
		expect(age("2030-01-01T11:59:30Z", now)).toBe("30s");
		expect(age("2030-01-01T10:00:00Z", now)).toBe("2h");
		expect(age("2029-12-25T12:00:00Z", now)).toBe("7d");
		expect(age(undefined, now)).toBe("-");
		expect(quotaRows({ hard: { pods: "20", "limits.cpu": "2" }, used: { pods: "3" } })).toEqual([
			{ resource: "limits.cpu", used: "0", hard: "2" },
			{ resource: "pods", used: "3", hard: "20" },
		]);
		expect(truncate("abcdef", 4)).toBe("abc…");
		expect(truncate("one\ntwo")).toBe("one");
	});
});

describe("berth (in-process, fake gateway)", () => {
	it("prints help and version with exit 0, and usage errors with exit 2", async () => {
		const help = await cli(["--help"]);
		expect(help.code).toBe(0);
		expect(help.stdout).toContain("Usage: berth");
		expect(help.stdout).toContain("BERTH_API_KEY");
		expect((await cli(["--version"])).stdout).toBe("0.1.0\n");
		const unknown = await cli(["frobnicate"]);
		expect(unknown.code).toBe(2);
		expect(unknown.stderr).toContain("unknown command 'frobnicate'");
		const bad = await cli(["deployments", "scale", "web", "many"]);
		expect(bad.code).toBe(2);
		expect(bad.stderr).toContain("Not a whole number");
		expect(bad.calls.filter(c => c.url.pathname.endsWith("/scale"))).toEqual([]);
		expect((await cli(["env", "set", "web", "NOEQUALS"], { "GET /api/v1/k8s/deployments": { body: [dep] } })).code).toBe(2);
		expect((await cli([])).code).toBe(2);
	});

	it("uses BERTH_HOST, BERTH_PORT and BERTH_API_KEY, and the flags over them", async () => {
		const fromEnv = await cli(["namespaces", "list"], { "GET /api/v1/k8s/namespaces": { body: [] } }, { BERTH_HOST: "berth.test", BERTH_PORT: "8123", BERTH_API_KEY: "env-key" });
		expect(fromEnv.calls[0].url.origin).toBe("http://berth.test:8123");
		expect(fromEnv.calls[0].headers.authorization).toBe("Bearer env-key");
		const fromFlags = await cli(["--host", "other.test", "--port", "9000", "--api-key", "flag-key", "namespaces", "list"], { "GET /api/v1/k8s/namespaces": { body: [] } }, { BERTH_HOST: "berth.test", BERTH_API_KEY: "env-key" });
		expect(fromFlags.calls[0].url.origin).toBe("http://other.test:9000");
		expect(fromFlags.calls[0].headers.authorization).toBe("Bearer flag-key");
		// Global options work after the subcommand too.
		const after = await cli(["namespaces", "list", "--port", "9001"], { "GET /api/v1/k8s/namespaces": { body: [] } });
		expect(after.calls[0].url.port).toBe("9001");
	});

	it("lists namespaces as a table, or as JSON with --json", async () => {
		const routes = { "GET /api/v1/k8s/namespaces": { body: [ns("team-a")] } };
		const human = await cli(["ns", "list"], routes);
		expect(human.code).toBe(0);
		expect(human.stdout.split("\n")[0]).toMatch(/^NAME\s+PHASE\s+CPU\s+MEMORY\s+STORAGE\s+PODS\s+GPU\s+OWNER\s+AGE\s+ID$/);
		expect(human.stdout).toMatch(/team-a\s+Active\s+2\s+4Gi\s+10Gi\s+20\s+0\s+alice/);
		const asJson = await cli(["ns", "list", "--json"], routes);
		expect(JSON.parse(asJson.stdout)).toEqual([ns("team-a")].map(n => ({ ...n, createdAt: expect.any(String) })));
	});

	it("creates a namespace with a quota and changes a quota", async () => {
		const created = await cli(["ns", "create", "team-b", "--cpu", "4", "--pods", "40"], { "POST /api/v1/k8s/namespaces": { status: 201, body: ns("team-b") } });
		expect(created.code).toBe(0);
		expect(created.calls[0].body).toEqual({ name: "team-b", quota: { cpu: "4", pods: 40 } });
		expect(created.stdout).toContain("Namespace team-b created.");
		const quota = await cli(["ns", "quota", "team-b", "--memory", "8Gi"], {
			"GET /api/v1/k8s/namespaces": { body: [ns("team-b")] },
			"PUT /api/v1/k8s/namespaces/id-team-b": { body: ns("team-b") },
			"GET /api/v1/k8s/namespaces/id-team-b/resourcequota": { body: { hard: { pods: "40" }, used: { pods: "1" } } },
		});
		expect(quota.calls.find(c => c.method === "PUT")?.body).toEqual({ quota: { memory: "8Gi" } });
		expect(quota.stdout).toMatch(/RESOURCE\s+USED\s+HARD\npods\s+1\s+40/);
	});

	it("reports API errors with their fields and exits 1", async () => {
		const res = await cli(["ns", "create", "Bad_Name"], {
			"POST /api/v1/k8s/namespaces": { status: 422, body: { name: "ValidationError", message: "Parameters validation error!", code: 422, type: "VALIDATION_ERROR", data: [{ field: "name", message: "The 'name' field fails to match the required pattern!" }] } },
		});
		expect(res.code).toBe(1);
		expect(res.stderr).toBe("Error: Parameters validation error! (422 VALIDATION_ERROR)\n  name: The 'name' field fails to match the required pattern!\n");
		const unauthorized = await cli(["keys", "list"], { "GET /api/v1/keys": { status: 401, body: { message: "Missing API key", type: "UNAUTHORIZED" } } });
		expect(unauthorized.code).toBe(1);
		expect(unauthorized.stderr).toContain("--api-key or BERTH_API_KEY");
	});

	it("exits 4 when the gateway cannot be reached", async () => {
		const refused = Object.assign(new TypeError("fetch failed"), { cause: { code: "ECONNREFUSED", message: "connect ECONNREFUSED 127.0.0.1:3000" } });
		const res = await cli(["ns", "list"], { "GET /api/v1/k8s/namespaces": refused });
		expect(res.code).toBe(4);
		expect(res.stderr).toContain("Cannot reach Berth at http://127.0.0.1:3000: connect ECONNREFUSED");
	});

	it("deploys into your only namespace, shows progress on stderr and the outcome on stdout", async () => {
		const res = await cli(["deploy", "nginx", "--env", "MODE=prod", "--secret", "TOKEN=s3cret", "--volume", "data:/srv:ro"], {
			"GET /api/v1/k8s/namespaces": { body: [ns("team-a")] },
			"GET /api/v1/k8s/images/name/nginx": { body: { id: "img1", name: "nginx" } },
			"POST /api/v1/k8s/deployments": { status: 201, body: dep },
			"GET /api/v1/k8s/deployments/d1/status": [{ body: status("Progressing", 0) }, { body: status("Running", 1) }],
		});
		expect(res.code).toBe(0);
		expect(res.calls.find(c => c.method === "POST")?.body).toEqual({
			name: "nginx",
			namespace: "team-a",
			image: "nginx",
			env: [{ key: "MODE", value: "prod" }, { key: "TOKEN", value: "s3cret", type: "secret" }],
			volumes: [{ name: "data", type: "persistentVolumeClaim", mountPath: "/srv", persistentVolumeClaim: { claimName: "data" }, readOnly: true }],
		});
		expect(res.stderr).toBe(
			["… Rolling out web in team-a…", "… Rolling out web in team-a: 0/1 ready (Progressing)", "… Rolling out web in team-a: 1/1 ready (Running)", "✔ web in team-a is running: 1/1 ready at web.team-a.berth.local", ""].join("\n"),
		);
		expect(res.stdout).toMatch(/phase:\s+Running/);
	}, 10_000);

	it("asks for -n when you have several namespaces", async () => {
		const res = await cli(["deploy", "nginx"], { "GET /api/v1/k8s/namespaces": { body: [ns("a"), ns("b")] } });
		expect(res.code).toBe(2);
		expect(res.stderr).toBe("Error: You have 2 namespaces (a, b): name one with -n or BERTH_NAMESPACE.\n");
	});

	it("exits 1 when a rollout fails and 3 when it does not finish in time", async () => {
		const failing = { ...status("Failed", 0), conditions: [{ type: "Progressing", status: "False", reason: "ProgressDeadlineExceeded", message: "ReplicaSet web-1 has timed out progressing." }] };
		const failed = await cli(["deploy", "nginx", "-n", "team-a", "--name", "web"], {
			"POST /api/v1/k8s/deployments": { status: 201, body: dep },
			"GET /api/v1/k8s/deployments/d1/status": { body: failing },
		});
		expect(failed.code).toBe(1);
		expect(failed.stderr).toContain("✖ Rollout of web in team-a failed: 0/1 ready: ReplicaSet web-1 has timed out progressing.");
		const slow = await cli(["deploy", "nginx", "-n", "team-a", "--name", "web", "--timeout", "1"], {
			"POST /api/v1/k8s/deployments": { status: 201, body: dep },
			"GET /api/v1/k8s/deployments/d1/status": { body: status("Progressing", 0) },
		});
		expect(slow.code).toBe(3);
		expect(slow.stderr).toContain("✖ Rollout of web in team-a not done after 1 s: 0/1 ready (Progressing)");
	}, 10_000);

	it("runs a job: waits, prints its output, and exits 1 when it failed", async () => {
		const job = { id: "j1", name: "uuid-1", namespace: "id-team-a", namespaceName: "team-a", command: ["sh", "-c", "exit 3"], cmd: "exit 3", phase: "Pending", timeoutSeconds: 600 };
		const res = await cli(["jobs", "run", "-n", "team-a", "exit 3"], {
			"POST /api/v1/k8s/jobs": { status: 201, body: job },
			"GET /api/v1/k8s/jobs/j1/status": [{ body: { phase: "Running", active: 1 } }, { body: { phase: "Failed", failed: 1, conditions: [{ type: "Failed", status: "True", reason: "BackoffLimitExceeded", message: "Job has reached the specified backoff limit" }] } }],
			"GET /api/v1/k8s/jobs/j1/logs": { body: "about to fail\n" },
		});
		expect(res.calls[0].body).toEqual({ namespace: "team-a", cmd: "exit 3" });
		expect(res.code).toBe(1);
		expect(res.stdout).toBe("about to fail\n");
		expect(res.stderr).toContain("✖ Job uuid-1 failed (BackoffLimitExceeded: Job has reached the specified backoff limit)");
		const argv = await cli(["jobs", "run", "-n", "team-a", "--no-wait", "--", "python3", "-c", "print(1)"], { "POST /api/v1/k8s/jobs": { status: 201, body: job } });
		expect(argv.code).toBe(0);
		expect(argv.calls[0].body).toEqual({ namespace: "team-a", command: ["python3", "-c", "print(1)"] });
	}, 10_000);

	it("launches an application and waits for its location", async () => {
		const res = await cli(["apps", "launch", "jupyter-notebook", "--json"], {
			"POST /applications/jupyter-notebook": { body: { id: "a".repeat(32) } },
			"GET /applications/jupyter-notebook/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa": [
				{ body: { id: "a".repeat(32), "template-name": "jupyter-notebook", location: null, status: "deploying" } },
				{ body: { id: "a".repeat(32), "template-name": "jupyter-notebook", location: "berth.local/user/aaaa", status: "running" } },
			],
		});
		expect(res.code).toBe(0);
		expect(JSON.parse(res.stdout)).toMatchObject({ status: "running", location: "berth.local/user/aaaa" });
		expect(res.stderr).toContain("✔ jupyter-notebook aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa is running at berth.local/user/aaaa");
	}, 10_000);

	it("sets and unsets env vars of a deployment found by name", async () => {
		const res = await cli(["env", "set", "web", "A=1", "B=two", "--secret"], {
			"GET /api/v1/k8s/deployments": { body: [dep] },
			"POST /api/v1/k8s/envs": (url, init) => ({ status: 201, body: { ...JSON.parse(String(init.body)), id: "e" } }),
		});
		expect(res.code).toBe(0);
		expect(res.calls.filter(c => c.method === "POST").map(c => c.body)).toEqual([
			{ namespace: "id-team-a", deployment: "d1", key: "A", value: "1", type: "secret" },
			{ namespace: "id-team-a", deployment: "d1", key: "B", value: "two", type: "secret" },
		]);
		expect(res.stdout).toBe("A set on web (secret).\nB set on web (secret).\n");
		const unset = await cli(["env", "unset", "web", "A"], {
			"GET /api/v1/k8s/deployments": { body: [dep] },
			"GET /api/v1/k8s/envs/resolve": { body: { id: "e1", key: "A" } },
			"DELETE /api/v1/k8s/envs/e1": { body: { id: "e1", key: "A" } },
		});
		expect(unset.code).toBe(0);
		expect(unset.stdout).toBe("A removed from web.\n");
	});

	it("watches a deployment's health until it is removed", async () => {
		const health = (phase: string, ready: number) => ({ id: "d1", name: "web", namespace: "team-a", phase, reason: phase === "Running" ? "Ready" : "PodsStarting", message: phase === "Running" ? "" : "0 of 1 pod ready", replicas: { desired: 1, current: 1, ready, available: ready, updated: 1 } });
		const stream = [`event: status\nid: 1\ndata: ${JSON.stringify(health("Progressing", 0))}\n\n`, ": heartbeat\n\n", `event: status\nid: 2\ndata: ${JSON.stringify(health("Running", 1))}\n\n`, 'event: removed\nid: 3\ndata: {"id":"d1"}\n\n'].join("");
		const res = await cli(["status", "web", "--watch"], { "GET /api/v1/k8s/deployments": { body: [dep] }, "GET /api/v1/k8s/deployments/d1/stream": { body: stream } });
		expect(res.code).toBe(0);
		expect(res.stdout.replace(/^\d\d:\d\d:\d\d {2}/gm, "")).toBe("Progressing  0/1 ready  PodsStarting: 0 of 1 pod ready\nRunning  1/1 ready  Ready\nweb was removed.\n");
	});

	it("prints a new key once, prominently", async () => {
		const res = await cli(["keys", "create", "ci", "--namespace", "team-a", "--namespace", "team-b", "--role", "user"], {
			"POST /api/v1/keys": { status: 201, body: { id: "k1", name: "ci", userID: "alice", roles: ["user"], namespaces: ["team-a", "team-b"], prefix: "abc", createdAt: "", key: "berth_abc_secret" } },
		});
		expect(res.calls[0].body).toEqual({ name: "ci", roles: ["user"], namespaces: ["team-a", "team-b"] });
		expect(res.stdout).toContain("\n  berth_abc_secret\n");
		expect((await cli(["keys", "create", "x", "--role", "root"])).code).toBe(2);
	});

	it("shows the audit trail with its filters, --since as a duration back from now", async () => {
		const record = { id: "a1", at: new Date().toISOString(), actor: "alice", keyID: "k1", via: "rest", action: "v1.k8s.deployments.create", entity: "d1", namespace: "id-team-a", namespaceName: "team-a", status: 422, error: "VALIDATION_ERROR" };
		const before = Date.now();
		const res = await cli(["audit", "-n", "team-a", "--actor", "alice", "--since", "1h", "--limit", "5"], { "GET /api/v1/audit": { body: [record] } });
		expect(res.code).toBe(0);
		const query = Object.fromEntries(res.calls[0].url.searchParams);
		expect(query).toMatchObject({ namespace: "team-a", actor: "alice", limit: "5" });
		expect(Date.parse(query.since)).toBeLessThanOrEqual(before - 3_600_000 + 1000);
		expect(res.stdout).toMatch(/ACTOR\s+ACTION/);
		expect(res.stdout).toMatch(/alice\s+v1\.k8s\.deployments\.create\s+d1\s+team-a\s+422 VALIDATION_ERROR\s+rest/);
		expect((await cli(["audit", "--since", "whenever"])).code).toBe(2);
		expect((await cli(["audit", "--limit", "5000"])).code).toBe(2);
	});
});
