import type { KubernetesObject, V1Deployment, V1Namespace, V1ResourceQuota } from "../../lib/k8s";
import { backends, dropStore, useStore } from "../helpers/backends";
import { kube, uniqueName } from "../helpers/cluster";
import { eventually } from "../helpers/eventually";
import { legacyDeployment, legacyServer } from "../helpers/legacy";
import { createNamespace, keyFor, request, startMesh, type Mesh } from "../helpers/mesh";

/**
 * POST /api/v1/k8s/namespaces/adopt: an admin makes a namespace Berth did not create (kubectl's,
 * Helm's) a Berth namespace with an owner, who then adopts its Deployments as for any Berth
 * namespace (docs/api/namespaces.md, "Adopting a namespace").
 */
const SERVICES = ["api", "keys", "k8s.namespaces", "k8s.images", "k8s.volumes", "k8s.deployments", "k8s.envs", "k8s.inventory"];
const SECONDS = { timeoutMs: 30_000, intervalMs: 200 };
const nsRef = (name: string) => ({ apiVersion: "v1", kind: "Namespace", name });

describe.each(backends("berth_it_nsadopt"))("adopting external namespaces on %s", (_backend, pickMongo) => {
	let uri: string | undefined;
	let mesh: Mesh;
	let alice: string;
	let bob: string;
	const users = { alice: uniqueName("alice"), bob: uniqueName("bob") };
	const made: string[] = [];
	const adopt = (body: Record<string, unknown>, key = mesh.adminKey) => request(`${mesh.url}/api/v1/k8s/namespaces/adopt`, { method: "POST", key, body });
	const inventoryAdopt = (namespace: string, key: string) => request(`${mesh.url}/api/v1/k8s/inventory/adopt`, { method: "POST", key, body: { namespace, name: "legacy", confirm: true } });

	/** A namespace made outside Berth (labels: Helm's, say), with the `legacy` Deployment of one pod and what `extra` adds. */
	async function external(prefix: string, labels: Record<string, string> = {}, extra: KubernetesObject[] = []): Promise<string> {
		const name = uniqueName(prefix);
		made.push(name);
		await kube().apply({ apiVersion: "v1", kind: "Namespace", metadata: { name, labels } });
		await kube().apply(legacyDeployment({ metadata: { namespace: name, labels: { app: "legacy", ...labels } }, replicas: 1, pod: { containers: [legacyServer()] } }) as KubernetesObject);
		for (const obj of extra) await kube().apply({ ...obj, metadata: { ...obj.metadata, namespace: name } });
		return name;
	}

	/** The owner adopts the `legacy` Deployment and then lists it among the namespace's deployments. */
	async function ownerAdoptsDeployment(name: string): Promise<void> {
		// The inventory has seen the Deployment and the namespace's new labels.
		await eventually(async () => expect((await request(`${mesh.url}/api/v1/k8s/inventory/deployments/${name}/legacy`, { key: alice })).status).toBe(200), SECONDS);
		const res = await inventoryAdopt(name, alice);
		expect([res.status, res.body.deployment?.name]).toEqual([201, "legacy"]);
		const list = await request(`${mesh.url}/api/v1/k8s/deployments?namespace=${name}`, { key: alice });
		expect(list.status).toBe(200);
		expect(JSON.stringify(list.body)).toContain(res.body.deployment.id);
		await eventually(async () => {
			const dep = await kube().get<V1Deployment>({ apiVersion: "apps/v1", kind: "Deployment", name: "legacy", namespace: name });
			expect(dep?.metadata?.labels).toMatchObject({ "app.kubernetes.io/managed-by": "berth", "berth.dev/id": res.body.deployment.id });
		}, SECONDS);
	}

	beforeAll(async () => {
		uri = pickMongo();
		useStore(uri);
		mesh = await startMesh(SERVICES);
		alice = await keyFor(mesh, users.alice);
		bob = await keyFor(mesh, users.bob);
	});

	afterAll(async () => {
		await mesh?.stop();
		await Promise.all(made.map(name => kube().delete(nsRef(name)).catch(() => undefined)));
		await dropStore(uri);
	});

	it("shows the external namespace to admins as a TrustDomain, then adopts it with an owner who adopts its Deployment", async () => {
		const name = await external("it-nsadopt");
		// Before: an external TrustDomain with its pod, for admins only.
		await eventually(async () => {
			const tree = await request(`${mesh.url}/api/v1/k8s/inventory/tree?namespace=${name}`, { key: mesh.adminKey });
			expect([tree.status, tree.body.trust_domain?.provenance, tree.body.instances?.length]).toEqual([200, "external", 1]);
		}, SECONDS);
		expect((await request(`${mesh.url}/api/v1/k8s/inventory/tree?namespace=${name}`, { key: alice })).status).toBe(404);
		expect((await inventoryAdopt(name, alice)).status).toBe(404);
		const uid = (await kube().get<V1Namespace>(nsRef(name)))?.metadata?.uid;

		const res = await adopt({ name, owner: users.alice });
		expect(res.status).toBe(201);
		expect(res.body).toMatchObject({ name, owner: users.alice, members: [], phase: "Active", uid, adoptedAt: expect.any(String), quota: { pods: 20 } });
		expect(res.headers.get("location")).toBe(`/api/v1/k8s/namespaces/${res.body.id}`);
		const live = await kube().get<V1Namespace>(nsRef(name));
		expect(live?.metadata?.labels).toMatchObject({ "app.kubernetes.io/managed-by": "berth", "berth.dev/id": res.body.id });
		expect(live?.metadata?.annotations).toMatchObject({ "berth.dev/id": res.body.id, "berth.dev/owner": users.alice, "berth.dev/adopted-at": res.body.adoptedAt });
		expect(await kube().get({ apiVersion: "v1", kind: "ResourceQuota", name: "berth-quota", namespace: name })).toBeDefined();

		// The owner has it now; others still do not.
		expect((await request(`${mesh.url}/api/v1/k8s/namespaces/${res.body.id}`, { key: alice })).body).toMatchObject({ name, owner: users.alice });
		expect((await request(`${mesh.url}/api/v1/k8s/namespaces/${res.body.id}`, { key: bob })).status).toBe(404);
		await ownerAdoptsDeployment(name);
		await eventually(async () => expect((await request(`${mesh.url}/api/v1/k8s/inventory/tree?namespace=${name}`, { key: alice })).body.trust_domain).toMatchObject({ provenance: "berth", entity: { id: res.body.id } }), SECONDS);
		expect((await request(`${mesh.url}/api/v1/k8s/inventory/tree?namespace=${name}`, { key: bob })).status).toBe(404);
	});

	it("adopts a Helm-made namespace, leaving the quota Helm made as it was, and its Deployments can be adopted", async () => {
		const helm = { "app.kubernetes.io/managed-by": "Helm" };
		const helmQuota = { apiVersion: "v1", kind: "ResourceQuota", metadata: { name: "helm-quota", labels: helm }, spec: { hard: { pods: "15" } } } as KubernetesObject;
		const name = await external("it-nsadopt-helm", helm, [helmQuota]);
		const res = await adopt({ name, owner: users.alice, quota: { cpu: "4", memory: "8Gi", pods: 12 } });
		expect([res.status, res.body.quota]).toEqual([201, expect.objectContaining({ cpu: "4", memory: "8Gi", pods: 12 })]);
		const quota = await kube().get<V1ResourceQuota>({ apiVersion: "v1", kind: "ResourceQuota", name: "helm-quota", namespace: name });
		expect([quota?.spec?.hard, quota?.metadata?.labels]).toEqual([{ pods: "15" }, helm]);
		expect((await kube().get<V1ResourceQuota>({ apiVersion: "v1", kind: "ResourceQuota", name: "berth-quota", namespace: name }))?.spec?.hard).toMatchObject({ pods: "12" });
		await ownerAdoptsDeployment(name);
	});

	it("refuses non-admins, missing, reserved, Berth's and unsafe namespaces, and stores nothing", async () => {
		const name = await external("it-nsadopt-no");
		// Non-admins: 403, whatever the name (nothing about it is told).
		for (const key of [alice, bob]) for (const n of [name, uniqueName("it-nsadopt-none")]) expect((await adopt({ name: n, owner: users.alice }, key)).status).toBe(403);
		expect((await adopt({ name: uniqueName("it-nsadopt-none"), owner: users.alice })).status).toBe(404);
		for (const reserved of ["kube-system", "kube-public", "kube-node-lease", "default", "berth-system", "berth-apps"]) {
			const res = await adopt({ name: reserved, owner: users.alice });
			expect([reserved, res.status, res.body.type, res.body.data?.[0]?.field]).toEqual([reserved, 422, "VALIDATION_ERROR", "name"]);
		}
		const strict = await adopt({ name, owner: users.alice, extra: 1 });
		expect([strict.status, strict.body.data?.map((d: { field: string }) => d.field)]).toEqual([422, ["extra"]]);
		expect((await adopt({ name, owner: "system" })).status).toBe(422);
		expect((await adopt({ name, owner: users.alice, quota: { cpu: "lots" } })).status).toBe(422);

		// Berth's already: made through Berth, or adopted once.
		const mine = await createNamespace(mesh, bob, uniqueName("it-nsadopt-berth"));
		made.push(mine.name);
		expect((await adopt({ name: mine.name, owner: users.alice })).status).toBe(409);
		expect((await adopt({ name, owner: users.alice })).status).toBe(201);
		expect((await adopt({ name, owner: users.bob })).status).toBe(409);

		// An object of the name Berth gives its quota, made by someone else: never overwritten.
		const foreign = await external("it-nsadopt-rq", {}, [{ apiVersion: "v1", kind: "ResourceQuota", metadata: { name: "berth-quota" }, spec: { hard: { pods: "3" } } } as KubernetesObject]);
		const refused = await adopt({ name: foreign, owner: users.alice });
		expect([refused.status, refused.body.data?.objects]).toEqual([409, ["ResourceQuota/berth-quota"]]);
		expect((await kube().get<V1Namespace>(nsRef(foreign)))?.metadata?.labels?.["app.kubernetes.io/managed-by"]).toBeUndefined();
		expect((await kube().get<V1ResourceQuota>({ apiVersion: "v1", kind: "ResourceQuota", name: "berth-quota", namespace: foreign }))?.spec?.hard).toEqual({ pods: "3" });
		const all = await request(`${mesh.url}/api/v1/k8s/namespaces`, { key: mesh.adminKey });
		expect(all.body.map((n: { name: string }) => n.name)).not.toContain(foreign);
	});
});
