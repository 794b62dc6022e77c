import * as http from "node:http";
import { uniqueName } from "../helpers/cluster";
import { envBackends } from "../helpers/backends";
import { eventually } from "../helpers/eventually";
import { createNamespace, keyFor, request, startMesh, type Mesh } from "../helpers/mesh";

// Bounded reads (issue #19): LOG_LIMIT_BYTES as the apiserver's limitBytes, tail's ceiling, stream
// slots per key, and what /health/ready tells whom. The pods' logs are kwok's fixture
// (test/fixtures/cluster/pod.log, a few hundred bytes); a tiny LOG_LIMIT_BYTES shows the cap.

const SERVICES = ["api", "health", "keys", "k8s.namespaces", "k8s.images", "k8s.volumes", "k8s.deployments", "k8s.envs"];

/** A followed log: the response once its headers came, and a way to end it. */
async function follow(url: string, key: string): Promise<{ status: number; body: any; abort(): void }> {
	const controller = new AbortController();
	const res = await fetch(url, { headers: { authorization: `Bearer ${key}` }, signal: controller.signal });
	const body = res.status === 200 ? undefined : await res.json();
	return { status: res.status, body, abort: () => controller.abort() };
}

/**
 * A GET with If-None-Match through node:http: fetch() adds `Cache-Control: no-cache` to a
 * conditional request (the Fetch standard), which rightly makes any server answer in full.
 */
function conditionalGet(url: string, key: string, etag: string): Promise<{ status: number; etag: string | undefined; body: string }> {
	return new Promise((resolve, reject) => {
		http.get(url, { headers: { authorization: `Bearer ${key}`, "if-none-match": etag } }, res => {
			let body = "";
			res.setEncoding("utf8");
			res.on("data", chunk => (body += chunk));
			res.on("end", () => resolve({ status: res.statusCode ?? 0, etag: res.headers.etag, body }));
		}).on("error", reject);
	});
}

/** The whole text of a (followed) log response, until the server ends it. */
async function readToEnd(url: string, key: string): Promise<string> {
	const res = await fetch(url, { headers: { authorization: `Bearer ${key}` } });
	expect(res.status).toBe(200);
	return res.text();
}

describe.each(envBackends)("bounded reads against the real control plane, stored in %s", (_backend, useBackend) => {
	let mesh: Mesh;
	let alice: string;
	let aliceID: string;
	let nsId: string;
	let id: string;
	let pods: string[];
	const api = (path: string) => `${mesh.url}/api/v1/k8s/deployments${path}`;

	beforeAll(async () => {
		useBackend();
		mesh = await startMesh(SERVICES);
		aliceID = uniqueName("alice");
		alice = await keyFor(mesh, aliceID);
		({ id: nsId } = await createNamespace(mesh, alice, uniqueName("it-reads"), { cpu: "2", memory: "2Gi", pods: 10 }));
		const ns = (await request(`${mesh.url}/api/v1/k8s/namespaces/${nsId}`, { key: alice })).body.name as string;
		const res = await request(api("/"), { method: "POST", key: alice, body: { name: "web", namespace: ns, image: "nginx", replicas: 2 } });
		expect(res.status).toBe(201);
		id = res.body.id;
		pods = await eventually(async () => {
			const logs = await request(api(`/${id}/logs`), { key: alice });
			expect(logs.body).toHaveLength(2);
			for (const p of logs.body) expect(p.log).toContain("berth simulated log line");
			return logs.body.map((p: { pod: string }) => p.pod);
		});
	});

	afterEach(() => {
		delete process.env.LOG_LIMIT_BYTES;
	});

	afterAll(async () => {
		await request(`${mesh.url}/api/v1/k8s/namespaces/${nsId}`, { method: "DELETE", key: alice });
		await mesh.stop();
	});

	it("caps a log read at LOG_LIMIT_BYTES: one pod gets it all, several pods share it", async () => {
		const whole = (await request(api(`/${id}/logs?pod=${pods[0]}`), { key: alice })).body[0].log as string;
		expect(Buffer.byteLength(whole)).toBeGreaterThan(60);
		process.env.LOG_LIMIT_BYTES = "60";
		const one = await request(api(`/${id}/logs?pod=${pods[0]}`), { key: alice });
		expect(one.status).toBe(200);
		// The apiserver's limitBytes: the log's first 60 bytes.
		expect(one.body[0].log).toBe(Buffer.from(whole).subarray(0, 60).toString());
		const both = await request(api(`/${id}/logs`), { key: alice });
		expect(both.body).toHaveLength(2);
		expect(both.body.map((p: { log: string }) => Buffer.byteLength(p.log))).toEqual([30, 30]);
	});

	it("caps a followed log too: the stream ends once the pod sent LOG_LIMIT_BYTES", async () => {
		process.env.LOG_LIMIT_BYTES = "60";
		const text = await readToEnd(api(`/${id}/logs?follow=true&pod=${pods[0]}`), alice);
		// The last, cut line is ended with a newline.
		expect(Buffer.byteLength(text)).toBeLessThanOrEqual(61);
		expect(text).toContain("berth simulated log line 1");
	});

	it("takes tail up to 10000 lines and answers 422 naming tail above it", async () => {
		expect((await request(api(`/${id}/logs?tail=10000`), { key: alice })).status).toBe(200);
		const res = await request(api(`/${id}/logs?tail=10001`), { key: alice });
		expect(res.status).toBe(422);
		expect(res.body).toMatchObject({ type: "VALIDATION_ERROR", data: [expect.objectContaining({ field: "tail" })] });
	});

	it("refuses a key's 11th open follow with 429 TOO_MANY_STREAMS, and a closed one frees a slot", async () => {
		const url = api(`/${id}/logs?follow=true&pod=${pods[0]}`);
		const open = [];
		for (let i = 0; i < 10; i++) open.push(await follow(url, alice));
		try {
			expect(open.map(f => f.status)).toEqual(Array(10).fill(200));
			const refused = await follow(url, alice);
			expect(refused.status).toBe(429);
			expect(refused.body).toMatchObject({ code: 429, type: "TOO_MANY_STREAMS", data: { limit: 10 } });
			// Another key of the same user has slots of its own.
			const second = await request(`${mesh.url}/api/v1/keys`, { method: "POST", key: mesh.adminKey, body: { name: "second", userID: aliceID } });
			expect(second.status).toBe(201);
			const other = await follow(url, second.body.key);
			expect(other.status).toBe(200);
			other.abort();
			open.shift()?.abort();
			const again = await eventually(async () => {
				const f = await follow(url, alice);
				expect(f.status).toBe(200);
				return f;
			});
			open.push(again);
		} finally {
			for (const f of open) f.abort();
		}
	});

	it("answers an unchanged GET with the same ETag, If-None-Match with 304 and no body, and a changed one with a new ETag", async () => {
		const url = `${mesh.url}/api/v1/keys`;
		const first = await request(url, { key: mesh.adminKey });
		expect(first.status).toBe(200);
		const etag = first.headers.get("etag") as string;
		expect(etag).toMatch(/^W\/"/);
		expect(first.headers.get("content-type")).toContain("application/json");
		expect((await request(url, { key: mesh.adminKey })).headers.get("etag")).toBe(etag);
		expect(await conditionalGet(url, mesh.adminKey, etag)).toEqual({ status: 304, etag, body: "" });
		// Someone else's key is no way in: the same tag with alice's key answers her own keys.
		const hers = await conditionalGet(url, alice, etag);
		expect(hers.status).toBe(200);
		expect(JSON.parse(hers.body).every((k: { userID: string }) => k.userID === aliceID)).toBe(true);
		await keyFor(mesh, uniqueName("bob"));
		const changed = await conditionalGet(url, mesh.adminKey, etag);
		expect(changed.status).toBe(200);
		expect(changed.etag).not.toBe(etag);
		expect(JSON.parse(changed.body).length).toBe(first.body.length + 1);
	});

	it("tells a caller without an admin key only whether it is ready and which checks fail", async () => {
		for (const key of [undefined, alice]) {
			const res = await request(`${mesh.url}/health/ready`, { key });
			expect(res.status).toBe(200);
			expect(res.body).toEqual({ status: "ready", failing: [] });
		}
		const admin = await request(`${mesh.url}/health/ready`, { key: mesh.adminKey });
		expect(admin.body).toMatchObject({ status: "ready", failing: [], checks: { services: { ok: true }, db: { ok: true }, transporter: { ok: true }, cluster: { ok: true, detail: expect.stringContaining("kube-apiserver") } } });
		expect((await request(`${mesh.url}/health/ready`, { key: "not-a-key-at-all-000000" })).status).toBe(401);
	});
});
