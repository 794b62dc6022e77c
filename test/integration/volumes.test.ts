import { Kinds, type V1Deployment, type V1PersistentVolumeClaim } from "../../lib/k8s";
import { kube, uniqueName } from "../helpers/cluster";
import { backends as dbBackends, dropStore, useStore } from "../helpers/backends";
import { eventually } from "../helpers/eventually";
import { keyFor, request, startMesh, type Mesh } from "../helpers/mesh";

const backends = dbBackends();

const pvcRef = (name: string, namespace: string) => ({ apiVersion: "v1", kind: "PersistentVolumeClaim", name, namespace });

describe.each(backends)("v1.k8s.volumes on %s against the real apiserver", (_backend, pickMongo) => {
	let mesh: Mesh;
	let alice: string;
	let bob: string;
	let uri: string | undefined;
	const made: string[] = [];
	let ns: { id: string; name: string };

	const volumes = (path: string, init: { method?: string; key?: string; body?: unknown } = {}) => request(`${mesh.url}/api/v1/k8s/volumes${path}`, { key: alice, ...init });
	const newNamespace = async (quota?: Record<string, unknown>) => {
		const name = uniqueName("it-vol");
		made.push(name);
		const res = await request(`${mesh.url}/api/v1/k8s/namespaces`, { method: "POST", key: alice, body: { name, quota } });
		expect(res.status).toBe(201);
		return res.body as { id: string; name: string };
	};
	const create = (body: Record<string, unknown>, key = alice) => volumes("", { method: "POST", key, body: { namespace: ns.id, type: "persistentVolumeClaim", mountPath: "/var/www/html", ...body } });

	beforeAll(async () => {
		uri = pickMongo();
		useStore(uri);
		mesh = await startMesh(["api", "keys", "k8s.namespaces", "k8s.volumes", "k8s.images", "k8s.deployments", "k8s.envs"]);
		alice = await keyFor(mesh, uniqueName("alice"));
		bob = await keyFor(mesh, uniqueName("bob"));
		ns = await newNamespace({ storage: "20Gi" });
	});
	afterAll(async () => {
		await mesh?.stop();
		await Promise.all(made.map(name => kube().delete({ apiVersion: "v1", kind: "Namespace", name }).catch(() => undefined)));
		await dropStore(uri);
	});

	it("creates a PVC of the requested size and keeps its status current from the watch", async () => {
		const res = await create({ name: "php-data", size: "2Gi" });
		expect(res.status).toBe(201);
		expect(res.body).toMatchObject({ namespace: ns.id, name: "php-data", type: "persistentVolumeClaim", mountPath: "/var/www/html", size: "2Gi", accessModes: ["ReadWriteOnce"] });
		const pvc = await kube().get<V1PersistentVolumeClaim>(pvcRef("php-data", ns.name));
		expect(pvc?.spec?.resources?.requests).toEqual({ storage: "2Gi" });
		expect(pvc?.metadata?.labels).toMatchObject({ "app.kubernetes.io/managed-by": "berth", "app.kubernetes.io/component": "volume", "berth.dev/id": res.body.id });
		expect(pvc?.metadata?.annotations).toMatchObject({ "berth.dev/id": res.body.id });
		// The local provisioner binds every claim of the default class.
		await eventually(async () => expect((await volumes(`/${res.body.id}`)).body.status).toEqual({ phase: "Bound", capacity: "2Gi" }));
	});

	it("takes sizes in Mi, other access modes and a storage class", async () => {
		const res = await create({ name: "scratch", size: "300Mi", accessModes: ["ReadWriteMany"], storageClass: "standard" });
		expect(res.status).toBe(201);
		const pvc = await kube().get<V1PersistentVolumeClaim>(pvcRef("scratch", ns.name));
		expect(pvc?.spec).toMatchObject({ accessModes: ["ReadWriteMany"], storageClassName: "standard", resources: { requests: { storage: "300Mi" } } });
		await eventually(async () => expect((await volumes(`/${res.body.id}`)).body.status).toEqual({ phase: "Bound", capacity: "300Mi" }));
	});

	it("refuses sizes outside 1–999 Gi or Mi, and bad names, with 422 naming the field", async () => {
		for (const size of ["0Gi", "1000Gi", "5Ti", "1.5Gi", "512", "-1Gi"]) {
			const res = await create({ name: uniqueName("bad"), size });
			expect([size, res.status]).toEqual([size, 422]);
			expect(res.body.data).toEqual([expect.objectContaining({ field: "size" })]);
		}
		const badName = await create({ name: "Not_A_Name" });
		expect(badName.status).toBe(422);
		expect(badName.body.data).toEqual([expect.objectContaining({ field: "name" })]);
		expect((await create({ name: "rel", mountPath: "data" })).body.data).toEqual([expect.objectContaining({ field: "mountPath" })]);
		const claims = await kube().list<V1PersistentVolumeClaim>(Kinds.PersistentVolumeClaim, { namespace: ns.name });
		expect(claims.map(c => c.metadata?.name)).not.toContain("rel");
	});

	it("refuses a duplicate name in the namespace (409) but allows it in another", async () => {
		expect((await create({ name: "twice" })).status).toBe(201);
		const again = await create({ name: "twice" });
		expect(again.status).toBe(409);
		expect(again.body.type).toBe("CONFLICT");
		const other = await newNamespace();
		expect((await create({ namespace: other.name, name: "twice" })).status).toBe(201);
	});

	it("refuses a volume the storage quota cannot hold, and leaves nothing behind", async () => {
		const small = await newNamespace({ storage: "1Gi" });
		const res = await create({ namespace: small.id, name: "too-big", size: "2Gi" });
		expect(res.status).toBe(422);
		expect(res.body).toMatchObject({ type: "QUOTA_EXCEEDED", data: { hard: "1Gi", requested: "2Gi" } });
		expect(await kube().get(pvcRef("too-big", small.name))).toBeUndefined();
		expect((await volumes(`?namespace=${small.id}`)).body).toEqual([]);
	});

	it("hides other tenants' volumes and namespaces as 404", async () => {
		const mine = (await create({ name: "private" })).body;
		expect((await volumes(`/${mine.id}`, { key: bob })).status).toBe(404);
		expect((await volumes(`/${mine.id}`, { method: "DELETE", key: bob })).status).toBe(404);
		expect((await create({ name: "intruder" }, bob)).status).toBe(404);
		expect((await volumes("", { key: bob })).body).toEqual([]);
		expect(await kube().get(pvcRef("private", ns.name))).toBeDefined();
	});

	it("refuses to remove a volume a Deployment mounts (409), then removes the claim", async () => {
		const vol = (await create({ name: "mounted" })).body;
		const dep = uniqueName("web");
		await kube().apply<V1Deployment>({
			apiVersion: "apps/v1",
			kind: "Deployment",
			metadata: { name: dep, namespace: ns.name },
			spec: {
				replicas: 1,
				selector: { matchLabels: { app: dep } },
				template: {
					metadata: { labels: { app: dep } },
					spec: { containers: [{ name: "web", image: "nginx:1.27", volumeMounts: [{ name: "d", mountPath: "/d" }] }], volumes: [{ name: "d", persistentVolumeClaim: { claimName: "mounted" } }] },
				},
			},
		});
		const refused = await volumes(`/${vol.id}`, { method: "DELETE" });
		expect(refused.status).toBe(409);
		expect(refused.body).toMatchObject({ type: "CONFLICT", data: { deployments: [dep] } });
		expect(await kube().get(pvcRef("mounted", ns.name))).toBeDefined();

		await kube().delete({ apiVersion: "apps/v1", kind: "Deployment", name: dep, namespace: ns.name });
		await eventually(async () => expect((await volumes(`/${vol.id}`, { method: "DELETE" })).status).toBe(200));
		expect((await volumes(`/${vol.id}`)).status).toBe(404);
		await eventually(async () => {
			const pvc = await kube().get<V1PersistentVolumeClaim>(pvcRef("mounted", ns.name));
			expect(pvc === undefined || Boolean(pvc.metadata?.deletionTimestamp)).toBe(true);
		});
	});

	it("refuses to remove a volume a Berth deployment mounts (409), as docs/CONTRACTS.md says", async () => {
		const vol = (await create({ name: "php-data-2" })).body;
		const dep = await request(`${mesh.url}/api/v1/k8s/deployments`, {
			method: "POST",
			key: alice,
			body: { name: "php", namespace: ns.id, image: "php-8-1-0-fpm", volumes: [{ name: "php-data", type: "persistentVolumeClaim", mountPath: "/var/www/html", persistentVolumeClaim: { claimName: vol.name } }] },
		});
		expect(dep.status).toBeLessThan(300);
		const refused = await volumes(`/${vol.id}`, { method: "DELETE" });
		expect(refused.status).toBe(409);
		expect(refused.body.data.deployments).toEqual(["php"]);
		expect((await request(`${mesh.url}/api/v1/k8s/deployments/${dep.body.id}`, { method: "DELETE", key: alice })).status).toBe(200);
		await eventually(async () => expect((await volumes(`/${vol.id}`, { method: "DELETE" })).status).toBe(200));
	});

	it("lists the caller's volumes, by namespace id or name", async () => {
		const other = await newNamespace();
		expect((await create({ namespace: other.id, name: "listed" })).status).toBe(201);
		const byId = await volumes(`?namespace=${other.id}`);
		const byName = await volumes(`?namespace=${other.name}`);
		expect(byId.body.map((v: { name: string }) => v.name)).toEqual(["listed"]);
		expect(byName.body.map((v: { id: string }) => v.id)).toEqual(byId.body.map((v: { id: string }) => v.id));
		expect((await volumes(`?namespace=${other.id}`, { key: bob })).status).toBe(404);
	});
});
