import { recreatable, replaceWithBerth } from "../../lib/inventory/adoption";
import { ANNOTATION_SUPERSEDED_BY } from "../../lib/inventory";
import type { KubeClient, KubernetesObject, V1Deployment } from "../../lib/k8s";
import type { DeploymentEntity } from "../../lib/manifests/deployment";

const live: V1Deployment = {
	apiVersion: "apps/v1",
	kind: "Deployment",
	metadata: { name: "legacy", namespace: "shop", uid: "d-uid", resourceVersion: "7", finalizers: ["orphan"], managedFields: [] },
	spec: { selector: { matchLabels: { app: "legacy" } }, template: { metadata: { labels: { app: "legacy" } }, spec: { containers: [{ name: "web", image: "nginx" }] } } },
	status: { replicas: 2 },
};

/** Just what the swap uses of a KubeClient, recording the writes. */
function fakeKube() {
	const writes: string[] = [];
	let present = true;
	const kube = {
		list: async () => [{ metadata: { name: "legacy-abc", ownerReferences: [{ uid: "d-uid" }] } }, { metadata: { name: "other", ownerReferences: [{ uid: "x" }] } }],
		apply: async (obj: KubernetesObject) => (writes.push(`apply ${obj.metadata?.name} ${obj.metadata?.annotations?.[ANNOTATION_SUPERSEDED_BY] ?? "-"}`), obj),
		orphanDeployment: async (ns: string, name: string) => ((present = false), writes.push(`orphan ${ns}/${name}`)),
		createDeployment: async (ns: string, body: V1Deployment) => (writes.push(`create ${ns}/${body.metadata?.name} rv=${body.metadata?.resourceVersion ?? "-"}`), body),
		get: async () => (present ? live : undefined),
	};
	return { kube: kube as unknown as KubeClient, writes };
}

describe("replacing an adopted Deployment", () => {
	it("marks its ReplicaSets, orphans it, then creates Berth's", async () => {
		const { kube, writes } = fakeKube();
		const created = await replaceWithBerth(kube, live, { orphanWaitMs: 1000, create: async () => ({ id: "dep1" }) as DeploymentEntity, warn: () => {} });
		expect(created.id).toBe("dep1");
		expect(writes).toEqual(["apply legacy-abc legacy", "orphan shop/legacy"]);
	});

	it("puts the Deployment back and unmarks its ReplicaSets when Berth's cannot be created", async () => {
		const { kube, writes } = fakeKube();
		const warn = jest.fn();
		await expect(replaceWithBerth(kube, live, { orphanWaitMs: 1000, create: async () => Promise.reject(new Error("quota")), warn })).rejects.toThrow("quota");
		expect(writes).toEqual(["apply legacy-abc legacy", "orphan shop/legacy", "create shop/legacy rv=-", "apply legacy-abc -"]);
		expect(warn).toHaveBeenCalledWith(expect.stringContaining("putting the Deployment back"), "quota");
	});

	it("recreates the live object without what the apiserver set", () => {
		const body = recreatable(live);
		expect(body.status).toBeUndefined();
		expect(body.metadata).toEqual({ name: "legacy", namespace: "shop", finalizers: [] });
	});
});
