import { InventoryStore, inventoryKindOf, toRecord, xosTree, type InventoryKind, type InventoryRecord } from "../../lib/inventory";
import type { KubernetesObject } from "../../lib/k8s";
import { loadConfig } from "../../lib/config";
import { adoptable, reservedRefusal } from "../../lib/namespaces/adoption";

const ns = "shop";
const owner = (kind: string, name: string) => [{ apiVersion: "v1", kind, name, uid: `u-${name}`, controller: true }];
const template = (image: string, serviceAccountName?: string) => ({ spec: { serviceAccountName, containers: [{ name: "c", image }] } });

/** Objects of one namespace as the inventory's watches would bring them. */
const objects: KubernetesObject[] = [
	{ apiVersion: "v1", kind: "Namespace", metadata: { name: ns, uid: "ns-uid", labels: { team: "a" } }, status: { phase: "Active" } } as KubernetesObject,
	{ apiVersion: "v1", kind: "ServiceAccount", metadata: { name: "robot", namespace: ns }, automountServiceAccountToken: false } as KubernetesObject,
	{ apiVersion: "apps/v1", kind: "Deployment", metadata: { name: "web", namespace: ns }, spec: { replicas: 3, template: template("nginx:1.27", "robot") }, status: { replicas: 3, readyReplicas: 2 } } as KubernetesObject,
	{ apiVersion: "apps/v1", kind: "ReplicaSet", metadata: { name: "web-1", namespace: ns, ownerReferences: owner("Deployment", "web") }, spec: { replicas: 3, template: template("nginx:1.27") } } as KubernetesObject,
	{ apiVersion: "apps/v1", kind: "StatefulSet", metadata: { name: "db", namespace: ns }, spec: { replicas: 1, template: template("postgres:16") } } as KubernetesObject,
	{ apiVersion: "batch/v1", kind: "Job", metadata: { name: "nightly-1", namespace: ns, ownerReferences: owner("CronJob", "nightly") }, spec: { parallelism: 1, template: template("busybox:1.36") } } as KubernetesObject,
	{ apiVersion: "v1", kind: "Pod", metadata: { name: "web-1-a", namespace: ns, ownerReferences: owner("ReplicaSet", "web-1") }, spec: { containers: [{ name: "c", image: "nginx:1.27" }], initContainers: [{ name: "i", image: "busybox:1.36" }] }, status: { phase: "Running", podIP: "10.0.0.7" } } as KubernetesObject,
	{ apiVersion: "v1", kind: "Pod", metadata: { name: "nightly-1-x", namespace: ns, ownerReferences: owner("Job", "nightly-1") }, spec: { containers: [{ name: "c", image: "busybox:1.36" }] }, status: { phase: "Succeeded" } } as KubernetesObject,
	{ apiVersion: "v1", kind: "Pod", metadata: { name: "bare", namespace: ns }, spec: { containers: [{ name: "c", image: "redis:7" }] }, status: { phase: "Pending" } } as KubernetesObject,
	{ apiVersion: "v1", kind: "Secret", metadata: { name: "creds", namespace: ns }, type: "Opaque", data: { password: Buffer.from("hunter2").toString("base64") } } as KubernetesObject,
	{ apiVersion: "v1", kind: "ConfigMap", metadata: { name: "conf", namespace: ns }, data: { b: "2", a: "1" } } as KubernetesObject,
	{ apiVersion: "v1", kind: "Service", metadata: { name: "front", namespace: ns }, spec: { type: "NodePort", ports: [{ name: "http", port: 80, targetPort: 8080, nodePort: 30080, protocol: "TCP" }, { port: 9000, protocol: "TCP" }] } } as KubernetesObject,
	{ apiVersion: "v1", kind: "Service", metadata: { name: "web", namespace: ns }, spec: { type: "ClusterIP", ports: [{ port: 80 }] } } as KubernetesObject,
];

function store(): InventoryStore {
	const s = new InventoryStore();
	for (const obj of objects) s.upsert(inventoryKindOf(obj.kind) as InventoryKind, toRecord(obj) as InventoryRecord);
	return s;
}

describe("the XOS tree of a namespace", () => {
	const tree = xosTree(store(), ns)!;

	it("is undefined for a namespace the inventory does not have", () => {
		expect(xosTree(store(), "elsewhere")).toBeUndefined();
	});

	it("has the TrustDomain and its Principals", () => {
		expect(tree.trust_domain).toEqual({ name: ns, provenance: "external", phase: "Active", uid: "ns-uid", labels: { team: "a" } });
		expect(tree.principals).toEqual([{ name: "robot", provenance: "external", trust_domain: ns, automount_token: false, image_pull_secrets: [] }]);
	});

	it("makes a Slice of each top controller (a CronJob from its Jobs), not of a Deployment's ReplicaSets", () => {
		expect(tree.slices.map(s => [s.controller_kind, s.name, s.controller_replica_count])).toEqual([
			["StatefulSet", "db", 1],
			["CronJob", "nightly", null],
			["Deployment", "web", 3],
		]);
		expect(tree.slices.find(s => s.name === "web")).toMatchObject({ principal: "robot", ready: 2, current: 3, images: ["nginx:1.27"] });
	});

	it("ties each Instance to its Slice, with its IP and its first container's image", () => {
		expect(tree.instances.map(i => [i.name, i.slice, i.image, i.pod_ip])).toEqual([
			["bare", undefined, "redis:7", undefined],
			["nightly-1-x", { controller_kind: "CronJob", name: "nightly" }, "busybox:1.36", undefined],
			["web-1-a", { controller_kind: "Deployment", name: "web" }, "nginx:1.27", "10.0.0.7"],
		]);
	});

	it("shows ConfigMaps and Secrets by key name, and only the ports with a node port", () => {
		expect(tree.config_maps).toEqual([{ name: "conf", provenance: "external", trust_domain: ns, keys: ["a", "b"] }]);
		expect(tree.secrets).toEqual([{ name: "creds", provenance: "external", trust_domain: ns, keys: ["password"], type: "Opaque" }]);
		expect(JSON.stringify(tree)).not.toContain(Buffer.from("hunter2").toString("base64"));
		expect(tree.service_ports).toEqual([{ service: "front", name: "http", provenance: "external", protocol: "TCP", port: 80, target_port: 8080, node_port: 30080 }]);
	});
});

describe("adopting a namespace: the rules", () => {
	it("refuses Kubernetes' namespaces and Berth's own as reserved, naming the field", () => {
		const config = loadConfig();
		for (const name of ["default", "kube-system", "kube-node-lease", "kube-public", "berth-system", config.ownNamespaces.apps, config.ownNamespaces.jobsCompat])
			expect(reservedRefusal(name, config)).toMatchObject({ code: 422, data: [{ field: "name", type: "reserved" }] });
		expect(reservedRefusal("team-own", { ...config, tenantPolicy: { ...config.tenantPolicy, berthNamespace: "team-own" } })).toMatchObject({ code: 422 });
		expect(reservedRefusal("shop", config)).toBeUndefined();
	});

	it("takes an external Namespace, or one a failed adoption left labelled; not a missing, terminating or Berth-made one", () => {
		const live = (labels: Record<string, string> = {}, annotations: Record<string, string> = {}, deleting = false) => ({ metadata: { name: "shop", labels, annotations, ...(deleting ? { deletionTimestamp: new Date() } : {}) } });
		const berth = { "app.kubernetes.io/managed-by": "berth" };
		expect(adoptable("shop", live({ "app.kubernetes.io/managed-by": "Helm" }))).toBeDefined();
		expect(adoptable("shop", live(berth, { "berth.dev/adopted-at": "2026-01-01T00:00:00Z" }))).toBeDefined();
		expect(() => adoptable("shop", undefined)).toThrow(expect.objectContaining({ code: 404 }));
		expect(() => adoptable("shop", live({}, {}, true))).toThrow(expect.objectContaining({ code: 409 }));
		expect(() => adoptable("shop", live(berth, { "berth.dev/id": "x" }))).toThrow(expect.objectContaining({ code: 409 }));
	});
});
