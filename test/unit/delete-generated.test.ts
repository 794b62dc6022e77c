import { apiserverRequests, type KubeClient, type KubernetesObject } from "../../lib/k8s";
import { deleteGenerated } from "../../lib/deployments/reconcile";
import { envConfigMap } from "../../lib/manifests/configmap";
import { deploymentManifests, type CatalogImage, type DeploymentEntity } from "../../lib/manifests/deployment";
import type { StoredDeployment } from "../../lib/deployments/store";
import { envSecret } from "../../lib/manifests/secret";
import { FakeKube } from "../helpers/fake-kube";
import * as fs from "node:fs";
import * as path from "node:path";

describe("deleteGenerated: a deployment's teardown", () => {
	it("deletes its objects and its env objects with one list per kind", async () => {
		const kube = new FakeKube();
		const image = { id: "nginx", ...JSON.parse(fs.readFileSync(path.join(__dirname, "..", "..", "images", "nginx.json"), "utf8")) } as CatalogImage;
		const dep: DeploymentEntity = { id: "d1", name: "web", namespace: "n1", namespaceName: "team", image: "nginx", replicas: 1, vHosts: [], volumes: [], owner: "alice", members: [] };
		await kube.apply({ apiVersion: "v1", kind: "Namespace", metadata: { name: "team" } });
		for (const m of [...deploymentManifests({ deployment: dep, image }, "berth.local"), envConfigMap(dep, { A: "1" }), envSecret(dep, { B: "2" })]) await kube.apply(m as KubernetesObject);
		const other = { ...dep, id: "d2", name: "api" };
		await kube.apply(envConfigMap(other, { A: "1" }) as KubernetesObject);
		apiserverRequests.reset();

		await deleteGenerated(kube as unknown as KubeClient, dep as StoredDeployment);

		const left = [...kube.objects.values()].filter(o => !["Namespace", "Pod", "ReplicaSet"].includes(o.kind as string)).map(o => `${o.kind}/${o.metadata?.name}`);
		expect(left).toEqual(["ConfigMap/api-env"]);
		expect(apiserverRequests.byVerb.get("list")).toBe(7);
	});
});
