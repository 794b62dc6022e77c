import {
	ANNOTATION_SUPERSEDED_AT,
	ANNOTATION_SUPERSEDED_BY,
	InventoryStore,
	expandKind,
	inventoryKindOf,
	parseLabelSelector,
	retireDecisions,
	toRecord,
	type ControllerRecord,
	type InventoryKind,
	type InventoryRecord,
	type PodRecord,
	type SecretRecord,
	type ServiceRecord,
} from "../../lib/inventory";
import type { KubernetesObject, V1DaemonSet, V1Deployment, V1Job, V1Pod, V1ReplicaSet, V1Secret, V1Service } from "../../lib/k8s";

const managed = { "app.kubernetes.io/managed-by": "berth", "app.kubernetes.io/component": "deployment", "berth.dev/id": "dep-1" };

function pod(name: string, namespace: string, opts: { owner?: { kind: string; name: string }; labels?: Record<string, string>; phase?: string } = {}): V1Pod {
	return {
		apiVersion: "v1",
		kind: "Pod",
		metadata: {
			name,
			namespace,
			uid: `uid-${name}`,
			labels: opts.labels ?? { app: "web" },
			creationTimestamp: new Date("2024-05-01T10:00:00Z"),
			ownerReferences: opts.owner ? [{ apiVersion: "apps/v1", kind: opts.owner.kind, name: opts.owner.name, uid: "x", controller: true }] : undefined,
		},
		spec: { nodeName: "node-1", initContainers: [{ name: "init", image: "busybox:1.36" }], containers: [{ name: "web", image: "nginx:1.27" }, { name: "log", image: "fluent:2" }] },
		status: {
			phase: opts.phase ?? "Running",
			podIP: "10.1.2.3",
			conditions: [{ type: "Ready", status: "True" }],
			containerStatuses: [
				{ name: "web", ready: true, restartCount: 2, image: "nginx:1.27", imageID: "x" },
				{ name: "log", ready: true, restartCount: 1, image: "fluent:2", imageID: "x" },
			],
		},
	};
}

function rs(name: string, namespace: string, owner?: string, annotations?: Record<string, string>): V1ReplicaSet {
	return {
		apiVersion: "apps/v1",
		kind: "ReplicaSet",
		metadata: { name, namespace, annotations, ownerReferences: owner ? [{ apiVersion: "apps/v1", kind: "Deployment", name: owner, uid: "d", controller: true }] : undefined },
		spec: { replicas: 3, selector: { matchLabels: { app: "web" } }, template: { spec: { containers: [{ name: "web", image: "nginx:1.27" }] } } },
		status: { replicas: 3, readyReplicas: 2, availableReplicas: 1 },
	};
}

function deployment(name: string, namespace: string, labels: Record<string, string> = {}, status: V1Deployment["status"] = {}): V1Deployment {
	return {
		apiVersion: "apps/v1",
		kind: "Deployment",
		metadata: { name, namespace, labels },
		spec: { replicas: 2, selector: { matchLabels: { app: name } }, template: { spec: { containers: [{ name, image: "nginx:1.27" }] } } },
		status,
	};
}

function fill(store: InventoryStore, objects: KubernetesObject[]): void {
	for (const obj of objects) store.upsert(inventoryKindOf(obj.kind) as InventoryKind, toRecord(obj) as InventoryRecord);
}

describe("inventory records", () => {
	it("keeps a pod's name, IP, node, phase, images, readiness, restarts and controlling owner", () => {
		const rec = toRecord(pod("web-abc-1", "shop", { owner: { kind: "ReplicaSet", name: "web-abc" } })) as PodRecord;
		expect(rec).toEqual({
			kind: "Pod",
			name: "web-abc-1",
			namespace: "shop",
			uid: "uid-web-abc-1",
			provenance: "external",
			labels: { app: "web" },
			createdAt: "2024-05-01T10:00:00.000Z",
			owner: { kind: "ReplicaSet", name: "web-abc" },
			phase: "Running",
			podIP: "10.1.2.3",
			node: "node-1",
			images: ["nginx:1.27", "fluent:2", "busybox:1.36"],
			ready: true,
			restarts: 3,
		});
	});

	it("says Terminating for a pod being deleted and accepts string timestamps from watches", () => {
		const p = pod("p", "ns");
		p.metadata!.deletionTimestamp = "2024-05-01T10:01:00Z" as unknown as Date;
		p.metadata!.creationTimestamp = "2024-05-01T10:00:00Z" as unknown as Date;
		expect(toRecord(p)).toMatchObject({ phase: "Terminating", createdAt: "2024-05-01T10:00:00.000Z" });
	});

	it("marks Berth's objects with their entity and everything else as external", () => {
		expect(toRecord(deployment("site", "shop", managed))).toMatchObject({ provenance: "berth", entity: { kind: "deployment", id: "dep-1" } });
		// A label claiming an id does not make an object Berth's.
		const impostor = toRecord(deployment("site", "shop", { "berth.dev/id": "dep-1" }));
		expect(impostor?.provenance).toBe("external");
		expect(impostor?.entity).toBeUndefined();
	});

	it("counts replicas of every controller kind", () => {
		expect(toRecord(deployment("d", "ns", {}, { replicas: 3, readyReplicas: 2, availableReplicas: 1, updatedReplicas: 3 }))).toMatchObject({ replicas: { desired: 2, current: 3, ready: 2, available: 1, updated: 3 }, images: ["nginx:1.27"] });
		expect(toRecord(rs("r", "ns", "d"))).toMatchObject({ kind: "ReplicaSet", owner: { kind: "Deployment", name: "d" }, replicas: { desired: 3, current: 3, ready: 2, available: 1 } });
		const ds: V1DaemonSet = {
			kind: "DaemonSet",
			metadata: { name: "agent", namespace: "ns" },
			spec: { selector: {}, template: { spec: { containers: [{ name: "a", image: "agent:1" }] } } },
			status: { desiredNumberScheduled: 4, currentNumberScheduled: 4, numberReady: 3, numberAvailable: 3, updatedNumberScheduled: 2, numberMisscheduled: 0 },
		};
		expect(toRecord(ds)).toMatchObject({ kind: "DaemonSet", replicas: { desired: 4, current: 4, ready: 3, available: 3, updated: 2 } });
		const job: V1Job = { kind: "Job", metadata: { name: "once", namespace: "ns" }, spec: { parallelism: 2, completions: 5, template: { spec: { containers: [{ name: "j", image: "job:1" }] } } }, status: { active: 2, succeeded: 3, failed: 1 } };
		expect(toRecord(job)).toMatchObject({ kind: "Job", replicas: { desired: 2, current: 2 }, completions: { desired: 5, succeeded: 3, failed: 1 } });
		// Objects from a list come without their kind: the informer's kind says it.
		const bare = deployment("d", "ns");
		delete bare.kind;
		expect(toRecord(bare, "deployments")?.kind).toBe("Deployment");
	});

	it("keeps a Service's ports with their node ports", () => {
		const svc: V1Service = {
			kind: "Service",
			metadata: { name: "web", namespace: "ns" },
			spec: { type: "NodePort", clusterIP: "10.96.0.5", selector: { app: "web" }, ports: [{ name: "http", port: 80, targetPort: 8080 as unknown as never, protocol: "TCP", nodePort: 30080 }, { port: 53, protocol: "UDP" }] },
		};
		expect(toRecord(svc) as ServiceRecord).toMatchObject({
			type: "NodePort",
			clusterIP: "10.96.0.5",
			selector: { app: "web" },
			ports: [
				{ name: "http", port: 80, targetPort: 8080, protocol: "TCP", nodePort: 30080 },
				{ port: 53, protocol: "UDP" },
			],
		});
	});

	it("keeps a Secret's key names and never a value, not even from kubectl's last-applied annotation", () => {
		const value = "hunter2-very-secret";
		const secret: V1Secret = {
			kind: "Secret",
			type: "Opaque",
			metadata: {
				name: "creds",
				namespace: "ns",
				annotations: { "kubectl.kubernetes.io/last-applied-configuration": JSON.stringify({ stringData: { password: value } }) },
			},
			data: { password: Buffer.from(value).toString("base64") },
			stringData: { user: value },
		};
		const rec = toRecord(secret) as SecretRecord;
		expect(rec.keys).toEqual(["password", "user"]);
		const text = JSON.stringify(rec);
		expect(text).not.toContain(value);
		expect(text).not.toContain(Buffer.from(value).toString("base64"));
	});

	it("keeps ConfigMap keys, ServiceAccounts and Namespaces", () => {
		expect(toRecord({ kind: "ConfigMap", metadata: { name: "c", namespace: "ns" }, data: { b: "2", a: "1" }, binaryData: { c: "AA==" } } as KubernetesObject)).toMatchObject({ keys: ["a", "b", "c"] });
		expect(toRecord({ kind: "ServiceAccount", metadata: { name: "robot", namespace: "ns" }, automountServiceAccountToken: false, imagePullSecrets: [{ name: "reg" }] } as KubernetesObject)).toMatchObject({
			automountToken: false,
			imagePullSecrets: ["reg"],
		});
		expect(toRecord({ kind: "Namespace", metadata: { name: "shop" }, status: { phase: "Active" } } as KubernetesObject)).toEqual({ kind: "Namespace", name: "shop", provenance: "external", labels: {}, phase: "Active" });
		expect(toRecord({ kind: "Node", metadata: { name: "n" } })).toBeUndefined();
	});
});

describe("label selectors", () => {
	const labels = { app: "web", tier: "front", "app.kubernetes.io/name": "web" };
	it.each([
		["app=web", true],
		["app==web", true],
		["app!=web", false],
		["app", true],
		["!app", false],
		["!missing", true],
		["app=web,tier=front", true],
		["app=web,tier=back", false],
		["tier in (front, back)", true],
		["tier notin (front)", false],
		["missing notin (x)", true],
		["app.kubernetes.io/name=web", true],
		["app in (web),tier!=back", true],
	])("%s → %s", (selector, expected) => {
		expect(parseLabelSelector(selector)(labels)).toBe(expected);
	});

	it("matches an empty value to the empty label", () => {
		expect(parseLabelSelector("app=")({ app: "" })).toBe(true);
		expect(parseLabelSelector("app=")(labels)).toBe(false);
	});

	it.each(["a b", "app in web", "=web", "app=web,", "app=(web)", "Bad_Prefix/x=y"])("refuses %j", selector => {
		expect(() => parseLabelSelector(selector)).toThrow();
	});
});

describe("InventoryStore", () => {
	function populated(): InventoryStore {
		const store = new InventoryStore();
		fill(store, [
			{ kind: "Namespace", metadata: { name: "shop" } },
			{ kind: "Namespace", metadata: { name: "blog" } },
			deployment("web", "shop"),
			rs("web-abc", "shop", "web"),
			...[3, 1, 2].map(i => pod(`web-abc-${i}`, "shop", { owner: { kind: "ReplicaSet", name: "web-abc" } })),
			pod("orphan", "shop", { labels: { app: "db" } }),
			pod("cron-1", "shop", { owner: { kind: "Job", name: "nightly-123" } }),
			pod("post", "blog", { labels: managed }),
		]);
		return store;
	}

	it("holds one record per object however often it is added (a relist replaces)", () => {
		const store = populated();
		const before = store.size();
		fill(store, [pod("web-abc-1", "shop", { phase: "Failed", owner: { kind: "ReplicaSet", name: "web-abc" } }), pod("web-abc-1", "shop", { owner: { kind: "ReplicaSet", name: "web-abc" } })]);
		expect(store.size()).toBe(before);
		expect(store.size("pods")).toBe(6);
		expect(store.remove("pods", "shop", "web-abc-1")?.name).toBe("web-abc-1");
		expect(store.remove("pods", "shop", "web-abc-1")).toBeUndefined();
		expect(store.size("pods")).toBe(5);
	});

	it("follows the owner chain through the records it holds", () => {
		const store = populated();
		const view = store.view(store.get("pods", "shop", "web-abc-1") as InventoryRecord);
		expect(view.owners).toEqual([
			{ kind: "ReplicaSet", name: "web-abc" },
			{ kind: "Deployment", name: "web" },
		]);
		// An owner of a kind the inventory does not hold ends the chain by name.
		expect(store.view(store.get("pods", "shop", "cron-1") as InventoryRecord).owners).toEqual([{ kind: "Job", name: "nightly-123" }]);
		expect(store.view(store.get("pods", "shop", "orphan") as InventoryRecord).owners).toBeUndefined();
	});

	it("stops at a cycle", () => {
		const store = new InventoryStore();
		store.upsert("replicasets", toRecord(rs("a", "ns", undefined)) as InventoryRecord);
		const a = store.get("replicasets", "ns", "a") as ControllerRecord;
		a.owner = { kind: "ReplicaSet", name: "a" };
		expect(store.ownerChain(a).length).toBeLessThanOrEqual(8);
	});

	it("pages sorted by namespace and name, with filters", () => {
		const store = populated();
		const page = store.query(["pods"], { limit: 2, offset: 1 });
		expect(page.total).toBe(6);
		expect(page.items.map(p => `${p.namespace}/${p.name}`)).toEqual(["shop/cron-1", "shop/orphan"]);
		expect(store.query(["pods"], { limit: 10, offset: 0, namespace: "shop", label: parseLabelSelector("app=web") }).items.map(p => p.name)).toEqual(["cron-1", "web-abc-1", "web-abc-2", "web-abc-3"]);
		expect(store.query(["pods"], { limit: 10, offset: 0, provenance: "berth" }).items.map(p => p.name)).toEqual(["post"]);
		expect(store.query(["pods"], { limit: 10, offset: 0, name: "abc-2" }).items.map(p => p.name)).toEqual(["web-abc-2"]);
		expect(store.query(["pods"], { limit: 10, offset: 10 })).toMatchObject({ total: 6, items: [] });
	});

	it("answers the same page object until something in its namespace changes, owners included", () => {
		const store = populated();
		const page = () => store.query(["pods"], { limit: 10, offset: 0, namespace: "shop" });
		const first = page();
		expect(page()).toBe(first);
		// Another namespace's change leaves it.
		store.upsert("pods", { ...(store.get("pods", "shop", "orphan") as InventoryRecord), namespace: "elsewhere", name: "x" });
		expect(page()).toBe(first);
		// A change to an owner in the namespace shows in the page's owner chains: a new page.
		store.upsert("replicasets", toRecord(rs("web-abc", "shop", "web-moved")) as InventoryRecord);
		const second = page();
		expect(second).not.toBe(first);
		expect(second.items.find(p => p.name === "web-abc-1")?.owners).toEqual([{ kind: "ReplicaSet", name: "web-abc" }, { kind: "Deployment", name: "web-moved" }]);
		store.remove("pods", "shop", "orphan");
		expect(page()).not.toBe(second);
		expect(page().items.map(p => p.name)).not.toContain("orphan");
	});

	it("keeps a namespace's pages sorted as objects come, change and go", () => {
		const store = populated();
		const names = () => store.query(["pods"], { limit: 10, offset: 0, namespace: "shop" }).items.map(p => p.name);
		const before = names();
		expect(before).toEqual([...before].sort());
		const added = { ...(store.get("pods", "shop", "orphan") as InventoryRecord), name: "aaa-first" };
		store.upsert("pods", added);
		expect(names()).toEqual(["aaa-first", ...before]);
		// A changed object keeps its place, and its page shows the change.
		store.upsert("pods", { ...added, labels: { changed: "yes" } });
		expect(store.query(["pods"], { limit: 1, offset: 0, namespace: "shop" }).items[0].labels).toEqual({ changed: "yes" });
		store.remove("pods", "shop", "aaa-first");
		store.remove("pods", "shop", before[0]);
		expect(names()).toEqual(before.slice(1));
		const page = store.query(["pods"], { limit: 2, offset: 1, namespace: "shop" });
		expect([page.total, page.items.map(p => p.name)]).toEqual([before.length - 1, before.slice(2, 4)]);
	});

	it("sees only the visible namespaces", () => {
		const store = populated();
		const visible = new Set(["blog"]);
		expect(store.query(["pods"], { limit: 10, offset: 0, visible }).items.map(p => p.name)).toEqual(["post"]);
		expect(store.query(["pods"], { limit: 10, offset: 0, visible, namespace: "shop" }).total).toBe(0);
		expect(store.query(["namespaces"], { limit: 10, offset: 0, visible }).items.map(n => n.name)).toEqual(["blog"]);
		expect(store.namespaces(visible)).toEqual([expect.objectContaining({ name: "blog", counts: { pods: 1 } })]);
		expect(store.namespaces(undefined).map(n => n.name)).toEqual(["blog", "shop"]);
		expect(store.counts("shop")).toEqual({ deployments: 1, replicasets: 1, pods: 5 });
	});

	it("lists the controller kinds together", () => {
		const store = populated();
		expect(store.query(expandKind("controllers"), { limit: 10, offset: 0 }).items.map(c => `${c.kind}/${c.name}`)).toEqual(["Deployment/web", "ReplicaSet/web-abc"]);
	});
});

describe("retiring what an adoption left behind", () => {
	const now = Date.parse("2024-05-01T12:00:00Z");
	const marked = (at: string) => ({ [ANNOTATION_SUPERSEDED_BY]: "legacy", [ANNOTATION_SUPERSEDED_AT]: at });

	function setup(dep?: V1Deployment, rsOwner?: string, at = "2024-05-01T11:59:00Z") {
		const store = new InventoryStore();
		if (dep) store.upsert("deployments", toRecord(dep) as InventoryRecord);
		const old = toRecord(rs("legacy-old", "shop", rsOwner, marked(at))) as ControllerRecord;
		store.upsert("replicasets", old);
		return { store, old };
	}

	it("removes the old ReplicaSet once Berth's Deployment has all its pods", () => {
		const { store, old } = setup(deployment("legacy", "shop", managed, { availableReplicas: 2, updatedReplicas: 2 }));
		expect(old.supersededBy).toBe("legacy");
		expect(retireDecisions(store, [old], now, { timeoutMs: 300_000 })).toEqual([{ namespace: "shop", name: "legacy-old", reason: "replaced" }]);
	});

	it("waits while Berth's pods come up, then gives up waiting after the timeout", () => {
		const rolling = deployment("legacy", "shop", managed, { availableReplicas: 1, updatedReplicas: 2 });
		expect(retireDecisions(setup(rolling).store, [setup(rolling).old], now, { timeoutMs: 300_000 })).toEqual([]);
		const late = setup(rolling, undefined, "2024-05-01T11:00:00Z");
		expect(retireDecisions(late.store, [late.old], now, { timeoutMs: 300_000 })).toEqual([{ namespace: "shop", name: "legacy-old", reason: "timeout" }]);
	});

	it("leaves the pods running when no Berth Deployment replaced them, or a controller took them back", () => {
		const none = setup(undefined, undefined, "2024-05-01T00:00:00Z");
		expect(retireDecisions(none.store, [none.old], now, { timeoutMs: 1 })).toEqual([]);
		const external = setup(deployment("legacy", "shop", {}, { availableReplicas: 2, updatedReplicas: 2 }));
		expect(retireDecisions(external.store, [external.old], now, { timeoutMs: 1 })).toEqual([]);
		const restored = setup(deployment("legacy", "shop", managed, { availableReplicas: 2, updatedReplicas: 2 }), "legacy");
		expect(retireDecisions(restored.store, [restored.old], now, { timeoutMs: 1 })).toEqual([]);
	});
});
