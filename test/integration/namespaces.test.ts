import type { V1LimitRange, V1Namespace, V1ResourceQuota } from "../../lib/k8s";
import { kube, uniqueName } from "../helpers/cluster";
import { backends as dbBackends, dropStore, useStore } from "../helpers/backends";
import { eventually } from "../helpers/eventually";
import { keyFor, request, startMesh, type Mesh } from "../helpers/mesh";

const backends = dbBackends();

const nsRef = (name: string) => ({ apiVersion: "v1", kind: "Namespace", name });

describe.each(backends)("v1.k8s.namespaces on %s against the real apiserver", (_backend, pickMongo) => {
	let mesh: Mesh;
	let alice: string;
	let bob: string;
	let uri: string | undefined;
	const made: string[] = [];
	const users = { alice: uniqueName("alice"), bob: uniqueName("bob") };

	const api = (path: string, init: { method?: string; key?: string; body?: unknown } = {}) => request(`${mesh.url}/api/v1/k8s/namespaces${path}`, { key: alice, ...init });
	const createNs = async (body: Record<string, unknown>, key = alice) => {
		if (typeof body.name === "string") made.push(body.name);
		return api("", { method: "POST", key, body });
	};

	beforeAll(async () => {
		uri = pickMongo();
		useStore(uri);
		mesh = await startMesh(["api", "keys", "k8s.namespaces", "k8s.volumes"]);
		alice = await keyFor(mesh, users.alice);
		bob = await keyFor(mesh, users.bob);
	});
	afterAll(async () => {
		await mesh?.stop();
		await Promise.all(made.map(name => kube().delete(nsRef(name)).catch(() => undefined)));
		await dropStore(uri);
	});

	it("creates the Namespace with labels and annotations mapping back, a ResourceQuota and a LimitRange", async () => {
		const name = uniqueName("it-ns");
		const res = await createNs({ name, quota: { cpu: "1500m", memory: "3Gi", storage: "5Gi", pods: 7, gpu: 0 } });
		expect(res.status).toBe(201);
		expect(res.body).toMatchObject({ name, owner: users.alice, members: [], quota: { cpu: "1500m", memory: "3Gi", storage: "5Gi", pods: 7, gpu: 0 }, phase: "Active" });
		const id = res.body.id as string;

		const live = await kube().get<V1Namespace>(nsRef(name));
		expect(live?.metadata?.labels).toMatchObject({ "app.kubernetes.io/managed-by": "berth", "app.kubernetes.io/component": "namespace", "berth.dev/id": id });
		expect(live?.metadata?.annotations).toMatchObject({ "berth.dev/id": id, "berth.dev/kind": "namespace", "berth.dev/owner": users.alice });
		expect(res.body.uid).toBe(live?.metadata?.uid);

		const rq = await kube().get<V1ResourceQuota>({ apiVersion: "v1", kind: "ResourceQuota", name: "berth-quota", namespace: name });
		expect(rq?.spec?.hard).toEqual({ "requests.cpu": "1500m", "limits.cpu": "1500m", "requests.memory": "3Gi", "limits.memory": "3Gi", "requests.storage": "5Gi", pods: "7", "requests.nvidia.com/gpu": "0" });
		const lr = await kube().get<V1LimitRange>({ apiVersion: "v1", kind: "LimitRange", name: "berth-limits", namespace: name });
		expect(lr?.spec?.limits[0]).toMatchObject({ type: "Container", _default: { cpu: "500m", memory: "512Mi" }, defaultRequest: { cpu: "100m", memory: "128Mi" } });

		expect((await api(`/${id}`)).body).toMatchObject({ id, name, phase: "Active" });
		expect((await api("")).body.map((n: { id: string }) => n.id)).toContain(id);
	});

	it("refuses invalid and reserved names with 422 naming the field, and creates nothing", async () => {
		const before = (await api("")).body;
		for (const name of ["Upper-Case", "under_score", "-dash", "a".repeat(64), "dots.in.it", ""]) {
			const res = await createNs({ name });
			expect(res.status).toBe(422);
			expect(res.body).toMatchObject({ code: 422, type: "VALIDATION_ERROR", data: expect.arrayContaining([expect.objectContaining({ field: "name" })]) });
		}
		for (const name of ["default", "kube-system", "kube-public", "berth"]) {
			const res = await createNs({ name });
			expect(res.status).toBe(422);
			expect(res.body.data).toEqual([expect.objectContaining({ field: "name", type: "reserved" })]);
		}
		expect((await api("")).body).toEqual(before);
	});

	it("refuses an invalid quota with the field", async () => {
		const res = await createNs({ name: uniqueName("it-quota"), quota: { cpu: "a lot", memory: "12 GB" } });
		expect(res.status).toBe(422);
		expect(res.body.data.map((f: { field: string }) => f.field).sort()).toEqual(["quota.cpu", "quota.memory"]);
		expect((await createNs({ name: uniqueName("it-quota"), quota: { pods: -1 } })).body.data).toEqual([expect.objectContaining({ field: "quota.pods" })]);
	});

	it("refuses a duplicate name and a name the cluster already has (409)", async () => {
		const name = uniqueName("it-dup");
		expect((await createNs({ name })).status).toBe(201);
		const again = await createNs({ name }, bob);
		expect(again.status).toBe(409);
		expect(again.body.type).toBe("CONFLICT");

		const foreign = uniqueName("it-foreign");
		made.push(foreign);
		await kube().apply({ apiVersion: "v1", kind: "Namespace", metadata: { name: foreign } });
		const res = await createNs({ name: foreign });
		expect(res.status).toBe(409);
		expect(res.body.message).toContain("in the cluster");
		// Berth did not touch what it does not own.
		expect((await kube().get<V1Namespace>(nsRef(foreign)))?.metadata?.labels?.["app.kubernetes.io/managed-by"]).toBeUndefined();
	});

	it("answers whether a name is available", async () => {
		const taken = uniqueName("it-avail");
		await createNs({ name: taken });
		expect((await api(`/available/${uniqueName("free")}`)).body).toMatchObject({ available: true });
		expect((await api(`/available/${taken}`)).body).toMatchObject({ available: false, reason: expect.stringContaining("exists") });
		expect((await api("/available/kube-system")).body).toMatchObject({ available: false, reason: expect.stringContaining("reserved") });
	});

	it("hides another tenant's namespace as 404 on every route", async () => {
		const name = uniqueName("it-private");
		const id = (await createNs({ name })).body.id as string;
		for (const [method, path, body] of [
			["GET", `/${id}`],
			["PUT", `/${id}`, { quota: { pods: 1 } }],
			["DELETE", `/${id}`],
			["GET", `/${id}/status`],
			["GET", `/${id}/resourcequota`],
			["POST", `/${id}/members`, { member: users.bob }],
		] as [string, string, unknown?][]) {
			const res = await api(path, { method, key: bob, body });
			expect([method, path, res.status, res.body.type]).toEqual([method, path, 404, "NOT_FOUND"]);
		}
		expect((await api("", { key: bob })).body).toEqual([]);
		expect(await kube().get(nsRef(name))).toBeDefined();
	});

	it("reports status and the quota's hard and used from the cluster", async () => {
		const name = uniqueName("it-usage");
		const id = (await createNs({ name, quota: { pods: 4 } })).body.id as string;
		const status = await api(`/${id}/status`);
		expect(status.body).toMatchObject({ id, name, exists: true, phase: "Active", uid: expect.any(String) });
		// The quota controller fills `used` in shortly after the quota is made.
		const rq = await eventually(async () => {
			const res = await api(`/${id}/resourcequota`);
			expect(res.status).toBe(200);
			expect(res.body.used.pods).toBe("0");
			return res.body;
		});
		expect(rq.hard).toMatchObject({ pods: "4", "requests.storage": "10Gi" });
	});

	it("changes the quota in the cluster on update; members read but cannot change it", async () => {
		const name = uniqueName("it-update");
		const id = (await createNs({ name })).body.id as string;
		const res = await api(`/${id}`, { method: "PUT", body: { quota: { cpu: "3", pods: 30 } } });
		expect(res.status).toBe(200);
		expect(res.body.quota).toMatchObject({ cpu: "3", pods: 30, memory: "4Gi" });
		await eventually(async () => {
			const rq = await kube().get<V1ResourceQuota>({ apiVersion: "v1", kind: "ResourceQuota", name: "berth-quota", namespace: name });
			expect(rq?.spec?.hard).toMatchObject({ "requests.cpu": "3", "limits.cpu": "3", pods: "30" });
		});
		expect((await api(`/${id}`, { method: "PUT", body: { quota: { storage: "lots" } } })).status).toBe(422);

		expect((await api(`/${id}/members`, { method: "POST", body: { member: users.bob } })).status).toBe(200);
		expect((await api(`/${id}`, { key: bob })).status).toBe(200);
		expect((await api(`/${id}`, { method: "PUT", key: bob, body: { quota: { pods: 100 } } })).status).toBe(403);
		expect((await api(`/${id}`, { method: "DELETE", key: bob })).status).toBe(403);
	});

	it("records the phase the watch sees when the Namespace is deleted behind Berth's back", async () => {
		const name = uniqueName("it-watch");
		const id = (await createNs({ name })).body.id as string;
		await kube().delete(nsRef(name));
		const entity = await eventually(async () => {
			const res = await api(`/${id}`);
			expect(["Terminating", "Missing"]).toContain(res.body.phase);
			return res.body;
		});
		expect(entity.id).toBe(id);
	});

	it("removes the Namespace and the volumes in it", async () => {
		const name = uniqueName("it-remove");
		const id = (await createNs({ name })).body.id as string;
		const volume = await request(`${mesh.url}/api/v1/k8s/volumes`, { method: "POST", key: alice, body: { namespace: id, name: "data", mountPath: "/data" } });
		expect(volume.status).toBe(201);
		const res = await api(`/${id}`, { method: "DELETE" });
		expect(res.status).toBe(200);
		expect(res.body).toMatchObject({ id, name });
		expect((await api(`/${id}`)).status).toBe(404);
		await eventually(async () => {
			const live = await kube().get<V1Namespace>(nsRef(name));
			expect(live === undefined || Boolean(live.metadata?.deletionTimestamp)).toBe(true);
		});
		await eventually(async () => expect((await request(`${mesh.url}/api/v1/k8s/volumes/${volume.body.id}`, { key: alice })).status).toBe(404));
	});

	it("cleans the caller's own namespaces only", async () => {
		const carol = (await request(`${mesh.url}/api/v1/keys`, { method: "POST", key: mesh.adminKey, body: { name: "carol", userID: uniqueName("carol") } })).body.key as string;
		const mine = [uniqueName("it-clean"), uniqueName("it-clean")];
		for (const name of mine) expect((await createNs({ name }, carol)).status).toBe(201);
		const kept = uniqueName("it-kept");
		await createNs({ name: kept });
		const res = await api("/clean", { method: "POST", key: carol });
		expect(res.status).toBe(200);
		expect(res.body.removed).toHaveLength(2);
		expect((await api("", { key: carol })).body).toEqual([]);
		expect((await api("")).body.map((n: { name: string }) => n.name)).toContain(kept);
	});

	it("resolves names over the mesh without a caller, as the seed does", async () => {
		const name = uniqueName("it-resolve");
		const id = (await createNs({ name })).body.id as string;
		await expect(mesh.broker.call("v1.k8s.namespaces.resolveName", { name })).resolves.toMatchObject({ id, owner: users.alice });
	});
});
