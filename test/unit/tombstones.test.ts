import type { ServiceBroker } from "moleculer";
import type { DeploymentEntity } from "../../lib/api/deployments";
import { deleteGenerated } from "../../lib/deployments/reconcile";
import type { StoredDeployment } from "../../lib/deployments/store";
import { setKubeClient, type KubeClient, type KubernetesObject } from "../../lib/k8s";
import { LABEL_ID } from "../../lib/manifests/labels";
import { eventually } from "../helpers/eventually";
import { FakeKube, startDeploymentsNode } from "../helpers/fake-kube";

const alice = { meta: { userID: "alice" } };
const KINDS = ["Deployment", "Service", "Ingress", "ConfigMap", "Secret", "ServiceAccount"];

/** The store of another node: what its delete does, written straight into the shared store. */
interface Store {
	loadDoc(id: string): Promise<StoredDeployment | undefined>;
	patchEntity(ctx: unknown, id: string, changes: Record<string, unknown>): Promise<unknown>;
	removeEntity(ctx: unknown, id: string): Promise<unknown>;
	systemContext(): unknown;
}

describe("deletes and applies racing, and namespaces made again (Kubernetes stubbed)", () => {
	let kube: FakeKube;
	let broker: ServiceBroker;
	let store: Store;

	beforeAll(async () => {
		kube = new FakeKube();
		broker = await startDeploymentsNode(kube);
		store = broker.getLocalService({ name: "k8s.deployments", version: 1 }) as unknown as Store;
	});
	afterAll(async () => {
		await broker.stop();
		setKubeClient(undefined);
	});

	const owned = (namespace: string, id: string) => KINDS.flatMap(kind => kube.all(kind, namespace)).filter((o: KubernetesObject) => o.metadata?.labels?.[LABEL_ID] === id);

	it("a pass whose entity another node deletes while it applies leaves nothing behind", async () => {
		await broker.call("v1.k8s.namespaces.create", { name: "race" }, alice);
		const d = await broker.call<DeploymentEntity, object>("v1.k8s.deployments.create", { name: "web", namespace: "race", image: "nginx", env: [{ key: "A", value: "1" }] }, alice);
		// The next pass applies the Deployment just after another node's delete has torn everything
		// down (its list saw nothing of what this pass is about to apply) and removed the entity.
		const apply = kube.apply.bind(kube);
		let raced = false;
		kube.apply = (async (obj: KubernetesObject, opts?: { dryRun?: boolean }) => {
			if (!raced && obj.kind === "Deployment" && obj.metadata?.name === "web") {
				raced = true;
				const doc = (await store.loadDoc(d.id)) as StoredDeployment;
				await store.patchEntity(store.systemContext(), d.id, { deleting: true });
				await broker.call("v1.k8s.envs.clean", { deployment: d.id, scope: false });
				await deleteGenerated(kube as unknown as KubeClient, doc);
				await store.removeEntity(store.systemContext(), d.id);
			}
			return apply(obj, opts);
		}) as typeof kube.apply;
		try {
			await kube.drift("Service", "web-service", "race");
			await eventually(() => expect(raced).toBe(true), { timeoutMs: 3000 });
			await eventually(() => expect(owned("race", d.id)).toEqual([]), { timeoutMs: 3000 });
		} finally {
			kube.apply = apply;
		}
	});

	it("a pass into a namespace deleted and made again outside Berth writes nothing and marks the entity orphaned", async () => {
		await broker.call("v1.k8s.namespaces.create", { name: "reborn" }, alice);
		const d = await broker.call<DeploymentEntity, object>("v1.k8s.deployments.create", { name: "app", namespace: "reborn", image: "nginx", env: [{ key: "A", value: "1" }] }, alice);
		expect(owned("reborn", d.id).length).toBeGreaterThan(0);
		await kube.delete({ apiVersion: "v1", kind: "Namespace", name: "reborn" });
		await kube.apply({ apiVersion: "v1", kind: "Namespace", metadata: { name: "reborn" } });
		const applied = await broker.call<{ status: { phase: string; conditions: { type: string; status: string; reason?: string }[] } }, object>("v1.k8s.deployments.apply", { id: d.id }, alice);
		expect(applied.status.phase).toBe("Orphaned");
		expect(applied.status.conditions).toContainEqual(expect.objectContaining({ type: "Applied", status: "False", reason: "NamespaceReplaced" }));
		// Neither the deployment's pass nor the envs' (the resync runs every second) write into it.
		await new Promise(r => setTimeout(r, 1500));
		expect(KINDS.flatMap(kind => kube.all(kind, "reborn"))).toEqual([]);
		expect(kube.peek("Namespace", "reborn")?.metadata?.annotations).toBeUndefined();
	});
});
