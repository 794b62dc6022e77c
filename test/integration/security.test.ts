import { randomBytes } from "node:crypto";
import { hashKey } from "../../lib/keys";
import { kube, uniqueName } from "../helpers/cluster";
import { setEnv } from "./applications.fixtures";
import { request, startMesh, type Mesh } from "../helpers/mesh";
import { BodyMaker, callOp, fill, makeEntities, nameOf, operationsOf, queryFor, referencesTo, type Created, type Operation } from "../helpers/openapi-ops";

/**
 * The security matrix. Every REST route comes from /api/openapi.json, so routes that services add
 * later are covered without touching this file. Entities are made through the create routes
 * (POST on a collection path) with bodies built from the document's schemas.
 */

describe("security matrix over every REST route", () => {
	let mesh: Mesh;
	let ops: Operation[];
	const secret = `s3cr3t-${randomBytes(8).toString("hex")}`;
	const tenantA = uniqueName("tenant-a");
	const tenantB = uniqueName("tenant-b");
	let keyA: string;
	let keyB: string;
	const keyIds: string[] = [];
	const created: Created[] = [];
	const failedCreates: string[] = [];

	const call = (op: Operation, path: string, key?: string, body?: unknown, headers?: Record<string, string>) => callOp(mesh.url, op, path, key, body, headers);

	async function newKey(body: Record<string, unknown>): Promise<{ id: string; key: string }> {
		const res = await request(`${mesh.url}/api/v1/keys`, { method: "POST", key: mesh.adminKey, body });
		expect(res.status).toBe(201);
		keyIds.push(res.body.id);
		return res.body;
	}

	// Builds on (a registry that is never pushed to: kwok runs no builder), /jobs in a namespace of its own.
	const compatNs = uniqueName("it-security-orch");
	let restoreEnv: () => void = () => undefined;

	beforeAll(async () => {
		restoreEnv = setEnv({ BUILD_REGISTRY: "registry.example:5000", JOBS_COMPAT_NAMESPACE: compatNs });
		mesh = await startMesh([]);
		const doc = (await request(`${mesh.url}/api/openapi.json`)).body;
		ops = operationsOf(doc);
		keyA = (await newKey({ name: "tenant A", userID: tenantA })).key;
		keyB = (await newKey({ name: "tenant B", userID: tenantB })).key;

		// Tenant A makes one entity in every collection that has a create route.
		const made = await makeEntities(mesh.url, ops, keyA, secret);
		created.push(...made.created);
		failedCreates.push(...made.failures);
	});

	afterAll(async () => {
		if (!mesh) return;
		// Tenant A's entities go, newest first (a namespace last: it takes what is left with it).
		for (const c of [...created].reverse()) {
			const del = ops.find(o => o.method === "DELETE" && o.collection === c.collection && o.params.length === 1);
			if (del) await call(del, fill(del.path, del.params, c.id), mesh.adminKey).catch(() => undefined);
		}
		for (const id of keyIds) await request(`${mesh.url}/api/v1/keys/${id}`, { method: "DELETE", key: mesh.adminKey }).catch(() => undefined);
		await mesh.stop();
		restoreEnv();
		await kube().delete({ apiVersion: "v1", kind: "Namespace", name: compatNs }).catch(() => undefined);
	});

	it("finds the routes in the OpenAPI document", () => {
		expect(ops.length).toBeGreaterThan(5);
		expect(ops.map(o => `${o.method} ${o.path}`)).toEqual(expect.arrayContaining(["POST /api/v1/keys", "GET /api/v1/keys/{id}", "GET /api/openapi.json"]));
	});

	it("makes an entity as tenant A on every create route of a collection with {id} routes", () => {
		expect(failedCreates).toEqual([]);
		expect(created.length).toBeGreaterThan(0);
		console.log(`[security] ${ops.length} operations; tenant A made ${created.map(c => c.collection).join(", ")}`);
	});

	it("answers 401 to requests without a key, except on public routes", async () => {
		const wrong: string[] = [];
		for (const op of ops) {
			const res = await call(op, fill(op.path, op.params, "some-id"));
			const ok = op.isPublic ? res.status !== 401 && res.status < 500 : res.status === 401 && res.body?.type === "UNAUTHORIZED";
			if (!ok) wrong.push(`${op.method} ${op.path} (${op.isPublic ? "public" : "private"}) → ${res.status} ${res.text.slice(0, 200)}`);
		}
		expect(wrong).toEqual([]);
		expect(ops.filter(o => o.isPublic).map(o => `${o.method} ${o.path}`)).toEqual(expect.arrayContaining(["GET /", "GET /health/live", "GET /health/ready", "GET /api/openapi.json"]));
	});

	it("answers 401 on every route to a revoked key and to an expired key", async () => {
		const revoked = await newKey({ name: "revoked", userID: tenantA });
		expect((await request(`${mesh.url}/api/v1/keys/${revoked.id}`, { method: "DELETE", key: mesh.adminKey })).status).toBe(200);
		const expired = await newKey({ name: "expired", userID: tenantA, expiresAt: new Date(Date.now() + 1000).toISOString() });
		await new Promise(r => setTimeout(r, 1500));
		const wrong: string[] = [];
		let n = 0;
		for (const op of ops.filter(o => o.authenticated)) {
			for (const [label, key] of [["revoked", revoked.key], ["expired", expired.key]]) {
				// All three ways of presenting a key are refused alike.
				const headers: Record<string, string> = [{ authorization: `Bearer ${key}` }, { authorization: key }, { "x-api-key": key }][n++ % 3];
				const res = await call(op, fill(op.path, op.params, created[0]?.id ?? "some-id"), undefined, undefined, headers);
				if (res.status !== 401) wrong.push(`${label}: ${op.method} ${op.path} → ${res.status}`);
			}
		}
		expect(wrong).toEqual([]);
	});

	it("shows tenant B none of tenant A's entities: 404 on every {id} route, and absent from lists", async () => {
		const wrong: string[] = [];
		const withEntity = ops.filter(o => o.params.length && o.authenticated && created.some(c => c.collection === o.collection));
		expect(withEntity.length).toBeGreaterThan(0);
		console.log(`[security] tenant B tries ${withEntity.length} {id} routes on tenant A's entities`);
		for (const op of withEntity) {
			for (const c of created.filter(x => x.collection === op.collection)) {
				const body = new BodyMaker(new Map(), secret).body(op.op);
				const res = await call(op, fill(op.path, op.params, c.id), keyB, body);
				const leaks = res.text.includes(tenantA) || nameOf(c).some(n => res.text.includes(n));
				if (res.status !== 404 || leaks) wrong.push(`${op.method} ${op.path} with A's ${c.id} → ${res.status} ${res.text.slice(0, 200)}`);
			}
		}
		// Lists and lookups (GETs without path parameters) never show A's entities to B, even when
		// their query names them.
		const refsOfA = referencesTo(created);
		for (const op of ops.filter(o => o.method === "GET" && !o.params.length && o.authenticated)) {
			const query = queryFor(op.op, refsOfA, new BodyMaker(refsOfA, secret));
			const res = await call(op, op.path + query, keyB);
			// An id B itself sent may come back in a 404's data; any other of A's ids, A's user or names may not.
			const leaked = created.filter(c => (!query.includes(c.id) && res.text.includes(c.id)) || res.text.includes(tenantA) || nameOf(c).some(n => res.text.includes(n)));
			if (leaked.length) wrong.push(`${op.method} ${op.path} lists A's ${leaked.map(c => c.id).join(", ")}`);
		}
		// Routes with parameters that are not entity ids (name checks and the like) still give away nothing of A's.
		for (const op of ops.filter(o => o.params.length && o.authenticated && !created.some(c => c.collection === o.collection))) {
			for (const c of created) {
				const res = await call(op, fill(op.path, op.params, c.id), keyB, new BodyMaker(new Map(), secret).body(op.op));
				if (res.text.includes(tenantA) || res.status >= 500) wrong.push(`${op.method} ${op.path} with A's ${c.id} → ${res.status} ${res.text.slice(0, 200)}`);
			}
		}
		expect(wrong).toEqual([]);
	});

	it("left tenant A's entities in place after tenant B's attempts", async () => {
		for (const c of created) {
			const get = ops.find(o => o.method === "GET" && o.collection === c.collection && o.params.length === 1 && o.path.endsWith("}"));
			if (!get) continue;
			const res = await call(get, fill(get.path, get.params, c.id), keyA);
			expect([get.path, c.id, res.status]).toEqual([get.path, c.id, 200]);
		}
	});

	it("returns no secret value on any route by default: key material, key hashes, secret env values", async () => {
		const sentinels = [secret, mesh.adminKey, keyA, keyB, hashKey(mesh.adminKey), hashKey(keyA), hashKey(keyB)];
		const refsOfA = referencesTo(created);
		const wrong: string[] = [];
		for (const op of ops.filter(o => o.method === "GET")) {
			const targets = op.params.length ? created.filter(c => c.collection === op.collection).map(c => c.id) : [""];
			const query = queryFor(op.op, refsOfA, new BodyMaker(refsOfA, secret));
			for (const id of targets.length ? targets : ["some-id"]) {
				for (const key of [keyA, mesh.adminKey]) {
					const res = await call(op, fill(op.path, op.params, id) + query, key);
					const found = sentinels.filter(s => res.text.includes(s));
					if (found.length) wrong.push(`${op.method} ${op.path} (${id}) shows ${found.length} secret value(s)`);
				}
			}
		}
		expect(wrong).toEqual([]);
	});
});
