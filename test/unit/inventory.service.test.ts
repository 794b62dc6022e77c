import type { ServiceBroker } from "moleculer";
import { setKubeClient, type KubernetesObject } from "../../lib/k8s";
import InventoryService from "../../services/k8s.inventory.service";
import NamespacesService from "../../services/k8s.namespaces.service";
import { eventually } from "../helpers/eventually";
import { FakeKube, startFakeNode } from "./namespaces.fakes";

/**
 * The inventory service with the real namespaces service (NeDB in memory) over an in-memory
 * Kubernetes: only the cluster is stubbed. Objects "made with kubectl" are put straight into it.
 */
const alice = { meta: { userID: "alice" } };
const bob = { meta: { userID: "bob" } };
const admin = { meta: { userID: "root", roles: ["admin"] } };

const pod = (name: string, namespace: string, labels: Record<string, string> = { app: "web" }): KubernetesObject =>
	({ apiVersion: "v1", kind: "Pod", metadata: { name, namespace, labels }, spec: { nodeName: "n1", containers: [{ name: "c", image: "nginx:1.27" }] }, status: { phase: "Running", podIP: "10.0.0.9" } }) as KubernetesObject;

describe("v1.k8s.inventory", () => {
	let kube: FakeKube;
	let broker: ServiceBroker;

	beforeEach(async () => {
		kube = new FakeKube();
		process.env.LEADER_ELECTION = "false";
		broker = await startFakeNode(kube, [NamespacesService, InventoryService]);
		await broker.call("v1.k8s.namespaces.create", { name: "shop" }, alice);
		await broker.call("v1.k8s.namespaces.create", { name: "blog" }, bob);
		kube.put({ apiVersion: "v1", kind: "Namespace", metadata: { name: "kube-system" } });
	});

	afterEach(async () => {
		await broker.stop();
		setKubeClient(undefined);
		delete process.env.LEADER_ELECTION;
	});

	const list = (params: Record<string, unknown>, opts: object) => broker.call<{ total: number; items: { name: string; namespace?: string }[] }, Record<string, unknown>>("v1.k8s.inventory.list", params, opts);

	it("reflects adds, updates and deletes, and relists without duplicates after a restart", async () => {
		kube.put(pod("web-1", "shop"));
		kube.put(pod("web-2", "shop"));
		await eventually(async () => expect((await list({ kind: "pods", namespace: "shop" }, alice)).total).toBe(2), { timeoutMs: 2000 });
		kube.put({ ...pod("web-1", "shop"), status: { phase: "Failed" } } as KubernetesObject);
		await eventually(async () => {
			const rec = await broker.call<Record<string, unknown>, object>("v1.k8s.inventory.get", { kind: "pods", namespace: "shop", name: "web-1" }, alice);
			expect(rec.phase).toBe("Failed");
			expect(rec).not.toHaveProperty("podIP");
		}, { timeoutMs: 2000 });
		await kube.delete({ apiVersion: "v1", kind: "Pod", name: "web-2", namespace: "shop" });
		await eventually(async () => expect((await list({ kind: "pods", namespace: "shop" }, alice)).items.map(p => p.name)).toEqual(["web-1"]), { timeoutMs: 2000 });

		const svc = broker.getLocalService("v1.k8s.inventory") as unknown as { _stop(): Promise<void>; _start(): Promise<void> };
		await svc._stop();
		// While nothing watches: one pod goes, another comes.
		await kube.delete({ apiVersion: "v1", kind: "Pod", name: "web-1", namespace: "shop" });
		kube.put(pod("web-3", "shop"));
		// Starting lists everything again (the fake's informers replay every object as added).
		await svc._start();
		expect((await list({ kind: "pods", namespace: "shop" }, alice)).items.map(p => p.name)).toEqual(["web-3"]);
	});

	it("shows each tenant its own namespaces, administrators all, and confined keys only theirs", async () => {
		kube.put(pod("web-1", "shop"));
		kube.put(pod("post-1", "blog"));
		kube.put(pod("dns", "kube-system"));
		await eventually(async () => expect((await list({ kind: "pods" }, admin)).total).toBe(3), { timeoutMs: 2000 });

		expect((await list({ kind: "pods" }, alice)).items.map(p => p.name)).toEqual(["web-1"]);
		expect((await list({ kind: "namespaces" }, bob)).items.map(p => p.name)).toEqual(["blog"]);
		await expect(list({ kind: "pods", namespace: "blog" }, alice)).rejects.toMatchObject({ code: 404, type: "NOT_FOUND" });
		await expect(broker.call("v1.k8s.inventory.get", { kind: "pods", namespace: "blog", name: "post-1" }, alice)).rejects.toMatchObject({ code: 404 });
		await expect(broker.call("v1.k8s.inventory.getNamespace", { name: "kube-system" }, alice)).rejects.toMatchObject({ code: 404 });
		expect(await broker.call("v1.k8s.inventory.getNamespace", { name: "kube-system" }, admin)).toMatchObject({ name: "kube-system", counts: { pods: 1 } });

		const confined = { meta: { ...admin.meta, namespaces: ["blog"] } };
		expect((await list({ kind: "pods" }, confined)).items.map(p => p.name)).toEqual(["post-1"]);
		const aliceOnShopKey = { meta: { ...alice.meta, namespaces: ["blog"] } };
		expect((await list({ kind: "pods" }, aliceOnShopKey)).total).toBe(0);

		await broker.call("v1.k8s.namespaces.addMember", { id: (await broker.call<{ id: string }[], object>("v1.k8s.namespaces.find", { query: { name: "blog" } }, bob))[0].id, member: "alice" }, bob);
		expect((await list({ kind: "pods" }, alice)).items.map(p => p.name).sort()).toEqual(["post-1", "web-1"]);

		await expect(list({ kind: "pods" }, { meta: {} })).rejects.toMatchObject({ code: 401 });
		expect(await broker.call("v1.k8s.inventory.summary", {}, alice)).toMatchObject({ synced: true, counts: { namespaces: 2, pods: 2 } });
	});

	it("never answers with a Secret's value", async () => {
		kube.put({ apiVersion: "v1", kind: "Secret", metadata: { name: "creds", namespace: "shop" }, data: { password: Buffer.from("open-sesame").toString("base64") } } as KubernetesObject);
		const rec = await eventually(() => broker.call("v1.k8s.inventory.get", { kind: "secrets", namespace: "shop", name: "creds" }, alice), { timeoutMs: 2000 });
		expect(rec).toMatchObject({ kind: "Secret", keys: ["password"] });
		const text = JSON.stringify([rec, await list({ kind: "secrets" }, admin)]);
		expect(text).not.toContain("open-sesame");
		expect(text).not.toContain(Buffer.from("open-sesame").toString("base64"));
	});

	it("validates its params", async () => {
		await expect(list({ kind: "gizmos" }, alice)).rejects.toMatchObject({ code: 422 });
		await expect(list({ kind: "pods", label: "a in b" }, alice)).rejects.toMatchObject({ code: 422, data: [expect.objectContaining({ field: "label" })] });
		await expect(list({ kind: "pods", limit: 5000 }, alice)).rejects.toMatchObject({ code: 422 });
	});
});
