import { randomBytes } from "node:crypto";
import { Kinds, type KubernetesObject, type V1Pod, type V1Service } from "../../lib/k8s";
import { backends, dropStore, useStore } from "../helpers/backends";
import { kube, uniqueName } from "../helpers/cluster";
import { eventually } from "../helpers/eventually";
import { legacyDeployment, legacyServer } from "../helpers/legacy";
import { createNamespace, keyFor, request, startMesh, type Mesh } from "../helpers/mesh";

/**
 * GET /api/v1/k8s/inventory/tree?namespace=: a namespace as the XOS Kubernetes service models it,
 * from what the inventory's watches have seen, whoever made the objects (docs/api/inventory.md).
 */
const SERVICES = ["api", "keys", "k8s.namespaces", "k8s.images", "k8s.volumes", "k8s.deployments", "k8s.envs", "k8s.inventory"];
const SECONDS = { timeoutMs: 30_000, intervalMs: 200 };

describe.each(backends("berth_it_tree"))("the inventory's XOS tree on %s", (_backend, pickMongo) => {
	let uri: string | undefined;
	let mesh: Mesh;
	let alice: string;
	let bob: string;
	let ns: { id: string; name: string };
	const external = uniqueName("it-tree-ext");
	const password = `pw-${randomBytes(12).toString("hex")}`;
	const tree = (namespace: string, key: string) => request(`${mesh.url}/api/v1/k8s/inventory/tree?namespace=${namespace}`, { key });

	beforeAll(async () => {
		uri = pickMongo();
		useStore(uri);
		mesh = await startMesh(SERVICES);
		alice = await keyFor(mesh, uniqueName("alice"));
		bob = await keyFor(mesh, uniqueName("bob"));
		ns = await createNamespace(mesh, alice, uniqueName("it-tree"));
	});

	afterAll(async () => {
		await mesh?.stop();
		for (const name of [ns?.name, external]) if (name) await kube().delete({ apiVersion: "v1", kind: "Namespace", name }).catch(() => undefined);
		await dropStore(uri);
	});

	it("shows a Berth namespace's TrustDomain, Principals, Slices, Instances, ConfigMaps, Secrets by key name, and NodePorts", async () => {
		const dep = await request(`${mesh.url}/api/v1/k8s/deployments`, { method: "POST", key: alice, body: { name: "web", namespace: ns.name, image: "nginx", replicas: 2 } });
		expect(dep.status).toBe(201);
		await kube().apply({ apiVersion: "v1", kind: "ConfigMap", metadata: { name: "settings", namespace: ns.name }, data: { mode: "fast", level: "3" } });
		await kube().apply({ apiVersion: "v1", kind: "Secret", metadata: { name: "creds", namespace: ns.name }, stringData: { password, user: "admin" } } as KubernetesObject);
		await kube().apply({ apiVersion: "v1", kind: "ServiceAccount", metadata: { name: "robot", namespace: ns.name } });
		await kube().apply({ apiVersion: "v1", kind: "Service", metadata: { name: "front", namespace: ns.name }, spec: { type: "NodePort", selector: { "app.kubernetes.io/name": "web" }, ports: [{ name: "http", port: 80, targetPort: 80 }] } } as KubernetesObject);
		const nodePort = (await kube().get<V1Service>({ apiVersion: "v1", kind: "Service", name: "front", namespace: ns.name }))?.spec?.ports?.[0].nodePort;
		expect(nodePort).toBeGreaterThanOrEqual(30000);

		const res = await eventually(async () => {
			const r = await tree(ns.name, alice);
			expect(r.status).toBe(200);
			expect(r.body.instances.filter((i: { ready: boolean }) => i.ready)).toHaveLength(2);
			expect(r.body.secrets.map((s: { name: string }) => s.name)).toContain("creds");
			expect(r.body.service_ports.map((p: { service: string }) => p.service)).toContain("front");
			expect(r.body.principals.map((p: { name: string }) => p.name)).toContain("robot");
			return r;
		}, SECONDS);
		const body = res.body;
		expect(body.trust_domain).toMatchObject({ name: ns.name, provenance: "berth", phase: "Active", entity: { kind: "namespace", id: ns.id } });
		expect(body.slices).toEqual([
			expect.objectContaining({ name: "web", trust_domain: ns.name, controller_kind: "Deployment", controller_replica_count: 2, provenance: "berth", ready: 2, entity: { kind: "deployment", id: dep.body.id } }),
		]);
		const pods = await kube().list<V1Pod>(Kinds.Pod, { namespace: ns.name });
		const ips = Object.fromEntries(pods.map(p => [p.metadata?.name, p.status?.podIP]));
		for (const instance of body.instances) {
			expect(instance).toMatchObject({ provenance: "berth", slice: { controller_kind: "Deployment", name: "web" }, image: expect.stringMatching(/^nginx/), phase: "Running" });
			expect(instance.pod_ip).toBe(ips[instance.name]);
		}
		expect(body.config_maps).toContainEqual(expect.objectContaining({ name: "settings", trust_domain: ns.name, keys: ["level", "mode"], provenance: "external" }));
		expect(body.secrets).toContainEqual(expect.objectContaining({ name: "creds", type: "Opaque", keys: ["password", "user"] }));
		expect(body.service_ports).toEqual([{ service: "front", name: "http", provenance: "external", protocol: "TCP", port: 80, target_port: 80, node_port: nodePort }]);
		expect(body.principals).toContainEqual(expect.objectContaining({ name: "robot", trust_domain: ns.name, image_pull_secrets: [] }));
		// Key names only: no value of the Secret, in clear or base64, anywhere in the answer.
		expect(res.text).not.toContain(password);
		expect(res.text).not.toContain(Buffer.from(password).toString("base64"));
		expect(res.text).not.toContain('"fast"');
	});

	it("is a 404 for another tenant and for a namespace that does not exist, and a 422 without a namespace", async () => {
		for (const [name, key] of [
			[ns.name, bob],
			[uniqueName("it-tree-none"), alice],
			[uniqueName("it-tree-none"), mesh.adminKey],
		])
			expect((await tree(name, key)).status).toBe(404);
		const missing = await request(`${mesh.url}/api/v1/k8s/inventory/tree`, { key: alice });
		expect([missing.status, missing.body.type, missing.body.data?.[0]?.field]).toEqual([422, "VALIDATION_ERROR", "namespace"]);
	});

	it("shows an external namespace with pods to an admin as an external TrustDomain, and to nobody else", async () => {
		await kube().apply({ apiVersion: "v1", kind: "Namespace", metadata: { name: external } });
		await kube().apply({ ...legacyDeployment({ metadata: { namespace: external }, replicas: 1, pod: { containers: [legacyServer()] } }) } as KubernetesObject);
		const res = await eventually(async () => {
			const r = await tree(external, mesh.adminKey);
			expect(r.status).toBe(200);
			expect(r.body.instances).toHaveLength(1);
			expect(r.body.instances[0].pod_ip).toEqual(expect.any(String));
			return r;
		}, SECONDS);
		expect(res.body.trust_domain).toMatchObject({ name: external, provenance: "external" });
		expect(res.body.trust_domain.entity).toBeUndefined();
		expect(res.body.slices).toEqual([expect.objectContaining({ name: "legacy", controller_kind: "Deployment", controller_replica_count: 1, provenance: "external" })]);
		expect(res.body.instances[0]).toMatchObject({ slice: { controller_kind: "Deployment", name: "legacy" }, image: "nginx:1.27", provenance: "external" });
		expect((await tree(external, alice)).status).toBe(404);
	});
});
