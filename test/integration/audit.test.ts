import type { AuditRecord } from "../../lib/api/audit";
import { kube, uniqueName } from "../helpers/cluster";
import { backends as dbBackends, dropStore, useStore } from "../helpers/backends";
import { eventually } from "../helpers/eventually";
import { createNamespace, request, startMesh, type Mesh } from "../helpers/mesh";

const SERVICES = ["api", "keys", "k8s.namespaces", "k8s.images", "k8s.deployments", "k8s.envs", "audit"];

/** What the audit's store holds, raw: every field of every record. */
interface RawStore {
	adapter: { find(params: { query: Record<string, unknown> }): Promise<unknown[]> };
}

describe.each(dbBackends("berth_audit"))("the audit trail on %s, through the gateway", (_backend, pickMongo) => {
	let mesh: Mesh;
	let uri: string | undefined;
	const users = { alice: uniqueName("alice"), bob: uniqueName("bob"), carol: uniqueName("carol"), ops: uniqueName("ops") };
	const keys: Record<keyof typeof users, { key: string; id: string }> = {} as never;
	let ns: { id: string; name: string };
	let other: { id: string; name: string };
	const secret = `s3cr3t-${uniqueName("value")}`;
	const started = new Date().toISOString();
	let deploymentId = "";

	const audit = (query: string, key: string) => request<AuditRecord[]>(`${mesh.url}/api/v1/audit${query}`, { key });
	const newKey = async (body: Record<string, unknown>) => {
		const res = await request(`${mesh.url}/api/v1/keys`, { method: "POST", key: mesh.adminKey, body });
		expect(res.status).toBe(201);
		return { key: res.body.key as string, id: res.body.id as string };
	};

	beforeAll(async () => {
		uri = pickMongo();
		useStore(uri);
		mesh = await startMesh(SERVICES);
		for (const who of ["alice", "bob", "carol"] as const) keys[who] = await newKey({ name: who, userID: users[who] });
		ns = await createNamespace(mesh, keys.alice.key, uniqueName("it-audit"), { cpu: "2", memory: "2Gi", pods: 10 });
		other = await createNamespace(mesh, keys.carol.key, uniqueName("it-audit-other"));
		keys.ops = await newKey({ name: "ops", userID: users.ops, roles: ["admin"], namespaces: [other.name] });
		const added = await request(`${mesh.url}/api/v1/k8s/namespaces/${ns.id}/members`, { method: "POST", key: keys.alice.key, body: { member: users.bob, role: "view" } });
		expect(added.status).toBe(200);
	});

	afterAll(async () => {
		await mesh?.stop();
		await Promise.all([ns, other].filter(Boolean).map(n => kube().delete({ apiVersion: "v1", kind: "Namespace", name: n.name }).catch(() => undefined)));
		await dropStore(uri);
	});

	it("records a create, a refused create and a delete: who, what, when and the result", async () => {
		const env = [{ key: "TOKEN", value: secret, type: "secret" }];
		const created = await request(`${mesh.url}/api/v1/k8s/deployments`, { method: "POST", key: keys.alice.key, body: { name: "web", namespace: ns.name, image: "nginx", env } });
		expect(created.status).toBe(201);
		deploymentId = created.body.id;
		const refused = await request(`${mesh.url}/api/v1/k8s/deployments`, { method: "POST", key: keys.alice.key, body: { name: "Not_A_Name", namespace: ns.name, image: "nginx", env } });
		expect(refused.status).toBe(422);
		const removed = await request(`${mesh.url}/api/v1/k8s/deployments/${deploymentId}`, { method: "DELETE", key: keys.alice.key });
		expect(removed.status).toBe(200);

		const records = await eventually(async () => {
			const res = await audit(`?namespace=${ns.name}&actor=${users.alice}`, keys.alice.key);
			expect(res.status).toBe(200);
			expect(res.body.filter(r => r.action.startsWith("v1.k8s.deployments."))).toHaveLength(3);
			return res.body.filter(r => r.action.startsWith("v1.k8s.deployments."));
		});
		const who = { actor: users.alice, keyID: keys.alice.id, via: "rest", namespace: ns.id, namespaceName: ns.name };
		// Newest first.
		expect(records).toEqual([
			expect.objectContaining({ ...who, action: "v1.k8s.deployments.remove", entity: deploymentId, status: 200 }),
			expect.objectContaining({ ...who, action: "v1.k8s.deployments.create", status: 422, error: "VALIDATION_ERROR" }),
			expect.objectContaining({ ...who, action: "v1.k8s.deployments.create", entity: deploymentId, status: 201 }),
		]);
		for (const r of records) {
			expect(r.at >= started && r.at <= new Date().toISOString()).toBe(true);
			expect(r.requestID).toEqual(expect.any(String));
		}
		// The create's envs are part of the create: no record of their own.
		expect(records.map(r => r.action)).not.toContain("v1.k8s.envs.createEnv");
	});

	it("never stores a param's value: the secret env value is in no stored record", async () => {
		const service = mesh.broker.getLocalService("v1.audit") as unknown as RawStore;
		const stored = JSON.stringify(await service.adapter.find({ query: {} }));
		expect(stored).toContain(deploymentId);
		expect(stored).not.toContain(secret);
		expect(stored).not.toContain("TOKEN");
		expect(stored).not.toContain("Not_A_Name");
	});

	it("shows a namespace's trail to its owner, not to a viewer (403) or a stranger (404)", async () => {
		expect((await audit(`?namespace=${ns.id}`, keys.alice.key)).status).toBe(200);
		const viewer = await audit(`?namespace=${ns.name}`, keys.bob.key);
		expect(viewer.status).toBe(403);
		expect(viewer.body).toMatchObject({ type: "FORBIDDEN" });
		const stranger = await audit(`?namespace=${ns.name}`, keys.carol.key);
		expect(stranger.status).toBe(404);
		expect(stranger.body).toMatchObject({ type: "NOT_FOUND" });
		expect(stranger.text).not.toContain(users.alice);
		// Without a namespace: the records of the namespaces one owns or administers, nothing else.
		const carols = await audit("", keys.carol.key);
		expect(carols.status).toBe(200);
		expect(carols.body.every(r => r.namespace === other.id)).toBe(true);
		expect((await audit("", keys.bob.key)).body).toEqual([]);
	});

	it("shows everything to an admin, and only its namespaces to a confined admin key", async () => {
		const all = await eventually(async () => {
			const res = await audit(`?actor=admin&action=v1.keys.create`, mesh.adminKey);
			expect(res.status).toBe(200);
			expect(res.body.length).toBeGreaterThanOrEqual(4);
			return res.body;
		});
		// Key creations belong to no namespace; the answer names the key's id, never the key.
		expect(all[0]).toMatchObject({ action: "v1.keys.create", status: 201, via: "rest", entity: keys.ops.id });
		expect(JSON.stringify(all)).not.toContain(keys.ops.key);
		expect((await audit(`?namespace=${ns.name}&actor=${users.alice}`, mesh.adminKey)).body.length).toBeGreaterThanOrEqual(3);

		expect((await audit(`?namespace=${other.name}`, keys.ops.key)).status).toBe(200);
		expect((await audit(`?namespace=${ns.name}`, keys.ops.key)).status).toBe(404);
		expect((await audit("", keys.ops.key)).body.every(r => r.namespace === other.id)).toBe(true);
	});

	it("records calls made on the mesh (ctx.call) with the caller's identity and no key", async () => {
		const scaled = await mesh.broker.call("v1.k8s.namespaces.update", { id: ns.id, quota: { pods: 12 } }, { meta: { userID: users.alice } });
		expect(scaled).toMatchObject({ id: ns.id });
		const record = await eventually(async () => {
			const [last] = (await audit(`?namespace=${ns.id}&action=v1.k8s.namespaces.update&limit=1`, keys.alice.key)).body;
			expect(last).toBeDefined();
			return last;
		});
		expect(record).toMatchObject({ actor: users.alice, via: "mesh", entity: ns.id, namespace: ns.id, namespaceName: ns.name, status: 200 });
		expect(record.keyID).toBeUndefined();
	});

	it("bounds the list and refuses what it does not know with a 422 naming the field", async () => {
		const one = await audit(`?namespace=${ns.name}&limit=1`, keys.alice.key);
		expect(one.status).toBe(200);
		expect(one.body).toHaveLength(1);
		const later = await audit(`?namespace=${ns.name}&since=${encodeURIComponent(new Date(Date.now() + 60_000).toISOString())}`, keys.alice.key);
		expect(later.body).toEqual([]);
		for (const [query, field] of [
			["?user=alice", "user"],
			["?limit=0", "limit"],
			["?limit=1001", "limit"],
			["?since=yesterday", "since"],
			[`?actor=${"x".repeat(129)}`, "actor"],
			["?actor=a&actor=b", "actor"],
			["?namespace[$gt]=", "namespace"],
			["?since=", "since"],
			["?limit=ten", "limit"],
		]) {
			const res = await audit(query, keys.alice.key);
			expect(res.status).toBe(422);
			expect(res.body).toMatchObject({ type: "VALIDATION_ERROR", data: [expect.objectContaining({ field })] });
		}
	});

	it("prunes the records older than the retention, and only those", async () => {
		const old = new Date(Date.now() - 91 * 86_400_000).toISOString();
		await mesh.broker.call("v1.audit.record", { at: old, actor: users.carol, via: "mesh", action: "v1.k8s.deployments.scale", namespaceRef: other.id, status: 200 });
		const before = (await audit(`?namespace=${other.name}&limit=1000`, keys.carol.key)).body;
		expect(before.map(r => r.at)).toContain(old);
		const service = mesh.broker.getLocalService("v1.audit") as unknown as { pruneExpired(): Promise<number> };
		expect(await service.pruneExpired()).toBe(1);
		const after = (await audit(`?namespace=${other.name}&limit=1000`, keys.carol.key)).body;
		expect(after).toEqual(before.filter(r => r.at !== old));
	});

	it("is not a route for writing: the record action is mesh-only", async () => {
		const res = await request(`${mesh.url}/api/v1/audit`, { method: "POST", key: mesh.adminKey, body: { at: started, actor: "x", via: "rest", action: "v1.x.y", status: 200 } });
		expect(res.status).toBe(404);
	});
});
