import { Errors } from "moleculer";
import { checkShape, nameCollisions, ownNameClashes } from "../../lib/deployments/checks";
import { dryRun } from "../../lib/deployments/reconcile";
import { ownSecretValues } from "../../lib/envs/envs";
import type { StoredDeployment } from "../../lib/deployments/store";
import type { KubeClient, KubernetesObject } from "../../lib/k8s";
import { envConfigMap } from "../../lib/manifests/configmap";
import { envSecret } from "../../lib/manifests/secret";
import { serviceAccountFor } from "../../lib/manifests/joint";
import { deploymentLabels, deploymentAnnotations, generatedNames, type CatalogImage } from "../../lib/manifests/model";
import { blockingHolder, heldMessage, holderOf } from "../../lib/manifests/ownership";
import { applyGuarded, checkHolders, claimOf, clusterLookup, HELD_REASON, isHeldError } from "../../lib/ownership";
import { FakeKube } from "../helpers/fake-kube";

const NS = "team";

function configMap(name: string, labels?: Record<string, string>, annotations?: Record<string, string>): KubernetesObject {
	return { apiVersion: "v1", kind: "ConfigMap", metadata: { name, namespace: NS, labels, annotations } };
}

/** An object of deployment `id` (component "deployment"), as the builders label it. */
function ofDeployment(name: string, id: string): KubernetesObject {
	return configMap(name, deploymentLabels({ id, name: "x" }), deploymentAnnotations({ id }));
}

async function rejection(p: Promise<unknown>): Promise<Errors.MoleculerError & { data?: any }> {
	try {
		await p;
	} catch (err) {
		return err as Errors.MoleculerError & { data?: any };
	}
	throw new Error("expected a rejection");
}

describe("who holds an object (lib/manifests/ownership.ts)", () => {
	it("reads the entity from Berth's labels, the id from the annotation when the label is gone, and everything else as external", () => {
		expect(holderOf(ofDeployment("a", "d1"))).toEqual({ kind: "entity", component: "deployment", id: "d1" });
		expect(holderOf(configMap("a", { "app.kubernetes.io/managed-by": "berth", "app.kubernetes.io/component": "volume" }, { "berth.dev/id": "v1" }))).toEqual({ kind: "entity", component: "volume", id: "v1" });
		expect(holderOf(configMap("a"))).toEqual({ kind: "external" });
		// A berth.dev/id without the managed-by label is someone's copy of Berth's labels, not Berth's.
		expect(holderOf(configMap("a", { "berth.dev/id": "d1" }))).toEqual({ kind: "external" });
		const shared = serviceAccountFor({ id: "d1", name: "x", namespaceName: NS }, { name: "robot", shared: true });
		expect(holderOf(shared as KubernetesObject)).toEqual({ kind: "shared", component: "serviceaccount" });
	});

	it("lets an apply land only on nothing or on the same entity's object", () => {
		const mine = ofDeployment("w-v-env", "d1");
		expect(blockingHolder(mine, undefined)).toBeUndefined();
		expect(blockingHolder(mine, ofDeployment("w-v-env", "d1"))).toBeUndefined();
		expect(blockingHolder(mine, ofDeployment("w-v-env", "d2"))).toEqual({ kind: "entity", component: "deployment", id: "d2" });
		// Same id, another component: a deployment's files ConfigMap must not take its own env ConfigMap's name.
		expect(blockingHolder(mine, envConfigMap({ id: "d1", name: "w-v", namespaceName: NS }, {}))).toMatchObject({ kind: "entity", component: "deployment-env" });
		expect(blockingHolder(mine, configMap("w-v-env"))).toEqual({ kind: "external" });
	});

	it("takes an external object over only for an adoption or a shared account, and never another entity's", () => {
		const mine = ofDeployment("web-service", "d1");
		expect(blockingHolder(mine, configMap("web-service"), { adopt: true })).toBeUndefined();
		expect(blockingHolder(mine, ofDeployment("web-service", "d2"), { adopt: true })).toMatchObject({ kind: "entity", id: "d2" });
		const shared = serviceAccountFor({ id: "d1", name: "x", namespaceName: NS }, { name: "robot", shared: true }) as KubernetesObject;
		expect(blockingHolder(shared, { metadata: { name: "robot" } })).toBeUndefined();
		expect(blockingHolder(shared, ofDeployment("robot", "d2"))).toMatchObject({ kind: "entity", id: "d2" });
		// What carries no Berth labels (an adoption's marks on ReplicaSets) is not guarded.
		expect(blockingHolder(configMap("rs"), ofDeployment("rs", "d2"))).toBeUndefined();
	});

	it("names the object and the kind of its holder, never the holder's id", () => {
		const message = heldMessage(NS, [{ kind: "ConfigMap", name: "w-v-env", heldBy: "deployment-env" }, { kind: "Service", name: "x-service", heldBy: "external" }]);
		expect(message).toContain('ConfigMap "w-v-env" in namespace "team" belongs to another Berth deployment-env');
		expect(message).toContain('Service "x-service" in namespace "team" was not made by Berth');
	});
});

describe("the naming rule of a deployment's objects (generatedNames)", () => {
	const w = { name: "w", configMap: { name: "v-env", data: {} } };
	const wv = { name: "w-v" };

	it("lists every object a deployment holds by name, with the field each name comes from", () => {
		expect(generatedNames({ ...w, serviceAccount: {} })).toEqual([
			{ kind: "Deployment", name: "w", field: "name" },
			{ kind: "Service", name: "w-service", field: "name" },
			{ kind: "Ingress", name: "w", field: "name" },
			{ kind: "ConfigMap", name: "w-env", field: "name" },
			{ kind: "Secret", name: "w-env", field: "name" },
			{ kind: "ConfigMap", name: "w-v-env", field: "configMap.name" },
			{ kind: "ServiceAccount", name: "w", field: "serviceAccount.name" },
		]);
		expect(generatedNames({ name: "w", serviceAccount: { name: "robot", shared: true } }).map(n => n.kind)).not.toContain("ServiceAccount");
	});

	it("finds w's files ConfigMap and w-v's env ConfigMap under one name, in either order", () => {
		expect(nameCollisions(w, [wv])).toEqual([{ kind: "ConfigMap", name: "w-v-env", field: "configMap.name" }]);
		expect(nameCollisions(wv, [w])).toEqual([{ kind: "ConfigMap", name: "w-v-env", field: "name" }]);
		expect(nameCollisions({ name: "web" }, [{ name: "web-2" }, { name: "api", configMap: { name: "web", data: {} } }])).toEqual([]);
		// Different kinds never collide: deployment "x-service" and x's Service.
		expect(nameCollisions({ name: "x-service" }, [{ name: "x" }])).toEqual([]);
	});

	it("refuses configMap.name \"env\": the files would be the deployment's own env ConfigMap (422 on configMap.name)", () => {
		expect(ownNameClashes({ name: "w", configMap: { name: "env", data: {} } })).toEqual([expect.objectContaining({ field: "configMap.name", actual: "w-env" })]);
		let err: (Errors.ValidationError & { data?: any }) | undefined;
		try {
			checkShape({ name: "w", configMap: { name: "env", data: { a: "b" } } });
		} catch (e) {
			err = e as Errors.ValidationError;
		}
		expect(err?.code).toBe(422);
		expect(err?.data).toEqual([expect.objectContaining({ field: "configMap.name" })]);
	});
});

describe("applying only what no one else holds (lib/ownership.ts)", () => {
	let kube: FakeKube;
	beforeEach(async () => {
		kube = new FakeKube();
		await kube.apply({ apiVersion: "v1", kind: "Namespace", metadata: { name: NS } });
	});

	it("refuses with 409 naming every held object, and applies nothing", async () => {
		await kube.apply({ ...configMap("foreign"), data: { keep: "me" } } as KubernetesObject);
		await kube.apply(ofDeployment("theirs", "d2"));
		const desired = [ofDeployment("free", "d1"), ofDeployment("foreign", "d1"), ofDeployment("theirs", "d1")];
		const err = await rejection(applyGuarded(kube as unknown as KubeClient, clusterLookup(kube as unknown as KubeClient), desired));
		expect(err.code).toBe(409);
		expect(err.type).toBe("CONFLICT");
		expect(isHeldError(err)).toBe(true);
		expect(err.data).toEqual({
			reason: HELD_REASON,
			namespace: NS,
			kind: "ConfigMap",
			name: "foreign",
			objects: [
				{ kind: "ConfigMap", name: "foreign", heldBy: "external" },
				{ kind: "ConfigMap", name: "theirs", heldBy: "deployment" },
			],
		});
		expect(JSON.stringify(err.data)).not.toContain("d2");
		expect(kube.peek("ConfigMap", "free", NS)).toBeUndefined();
		expect(kube.peek("ConfigMap", "foreign", NS)).toMatchObject({ data: { keep: "me" } });
		expect(kube.peek("ConfigMap", "foreign", NS)?.metadata?.labels).toBeUndefined();
	});

	it("applies over the entity's own objects, and answers the external ones an adoption takes over", async () => {
		await kube.apply(ofDeployment("mine", "d1"));
		await kube.apply(configMap("legacy"));
		await applyGuarded(kube as unknown as KubeClient, clusterLookup(kube as unknown as KubeClient), [ofDeployment("mine", "d1")]);
		const taken = await checkHolders(clusterLookup(kube as unknown as KubeClient), [ofDeployment("mine", "d1"), ofDeployment("legacy", "0")], { adopt: true });
		expect(taken.map(t => t.metadata?.name)).toEqual(["legacy"]);
		// The claim carries the real id, so the next apply finds the object its own.
		const claim = claimOf(taken[0], "d1");
		expect(holderOf(claim)).toEqual({ kind: "entity", component: "deployment", id: "d1" });
		expect(claim).not.toHaveProperty("data");
	});
});

describe("revealing a deployment's env Secret (lib/envs/envs.ts)", () => {
	it("reads the values only from the deployment's own Secret, never from another of that name", async () => {
		const kube = new FakeKube();
		await kube.apply({ apiVersion: "v1", kind: "Namespace", metadata: { name: NS } });
		const dep = { id: "d1", name: "web", namespaceName: NS };
		await kube.apply({ apiVersion: "v1", kind: "Secret", metadata: { name: "web-env", namespace: NS }, data: { TOKEN: Buffer.from("theirs").toString("base64") } } as KubernetesObject);
		expect(await ownSecretValues(kube as unknown as KubeClient, dep)).toEqual({});
		await kube.apply(envSecret(dep, { TOKEN: "mine" }));
		expect(await ownSecretValues(kube as unknown as KubeClient, dep)).toEqual({ TOKEN: "mine" });
	});
});

describe("the create's dry run (lib/deployments/reconcile.ts)", () => {
	const image = { id: "img", name: "nginx", image: "nginx:1.27", ports: [{ port: 80 }] } as CatalogImage;
	const draft = { id: "pending", name: "web", namespace: "ns-id", namespaceName: NS, image: "img", imageName: "nginx", replicas: 1, vHosts: [], volumes: [], owner: "alice", members: [] } as StoredDeployment;
	let kube: FakeKube;
	beforeEach(async () => {
		kube = new FakeKube();
		await kube.apply({ apiVersion: "v1", kind: "Namespace", metadata: { name: NS } });
	});

	it("checks free names with dry-run creates and nothing else", async () => {
		expect(await dryRun(kube as unknown as KubeClient, "apps.test", draft, image)).toEqual([]);
		expect(kube.all("Service", NS)).toEqual([]);
	});

	it("refuses a Service and an env ConfigMap made outside Berth, and leaves them as they were", async () => {
		await kube.apply({ apiVersion: "v1", kind: "Service", metadata: { name: "web-service", namespace: NS }, spec: { ports: [{ port: 1 }] } } as KubernetesObject);
		await kube.apply({ ...configMap("web-env"), data: { SECRET: "theirs" } } as KubernetesObject);
		const err = await rejection(dryRun(kube as unknown as KubeClient, "apps.test", draft, image));
		expect(err.code).toBe(409);
		expect(err.data.objects).toEqual([
			{ kind: "Service", name: "web-service", heldBy: "external" },
			{ kind: "ConfigMap", name: "web-env", heldBy: "external" },
		]);
		expect(kube.peek("ConfigMap", "web-env", NS)).toMatchObject({ data: { SECRET: "theirs" } });
	});

	it("lets an adoption take the external ones over, but not another deployment's", async () => {
		await kube.apply({ apiVersion: "v1", kind: "Service", metadata: { name: "web-service", namespace: NS }, spec: { ports: [{ port: 1 }] } } as KubernetesObject);
		const taken = await dryRun(kube as unknown as KubeClient, "apps.test", draft, image, { adopt: true });
		expect(taken.map(t => `${t.kind}/${t.metadata?.name}`)).toEqual(["Service/web-service"]);
		await kube.apply({ ...ofDeployment("web", "d2"), kind: "Ingress", apiVersion: "networking.k8s.io/v1" });
		const err = await rejection(dryRun(kube as unknown as KubeClient, "apps.test", draft, image, { adopt: true }));
		expect(err.data.objects).toEqual([{ kind: "Ingress", name: "web", heldBy: "deployment" }]);
	});
});
