import { Errors, ServiceBroker } from "moleculer";
import { setKubeClient, type KubeClient, type KubernetesObject } from "../../lib/k8s";
import type { DeploymentEntity } from "../../lib/manifests/deployment";
import DeploymentsService from "../../services/k8s.deployments.service";
import EnvsService from "../../services/k8s.envs.service";
import ImagesService from "../../services/k8s.images.service";
import NamespacesService from "../../services/k8s.namespaces.service";
import { FakeKube } from "../helpers/fake-kube";

const alice = { meta: { userID: "alice" } };

async function rejection(p: Promise<unknown>): Promise<Errors.MoleculerError & { data?: any }> {
	try {
		await p;
	} catch (err) {
		return err as Errors.MoleculerError & { data?: any };
	}
	throw new Error("expected a rejection");
}

// Issue #18 item 5: one deployment must not overwrite another's objects, nor one Berth did not make.
describe("ownership of generated objects (Kubernetes stubbed)", () => {
	let kube: FakeKube;
	let broker: ServiceBroker;
	const create = (params: Record<string, unknown>) => broker.call<DeploymentEntity, Record<string, unknown>>("v1.k8s.deployments.create", { namespace: "own-a", image: "nginx", ...params }, alice);

	beforeAll(async () => {
		process.env.DATA_DIR = ":memory:";
		delete process.env.MONGO_URI;
		process.env.LEADER_ELECTION = "false";
		kube = new FakeKube();
		setKubeClient(kube as unknown as KubeClient);
		broker = new ServiceBroker({ logger: false, validator: true });
		for (const schema of [NamespacesService, ImagesService, DeploymentsService, EnvsService]) broker.createService(schema as never);
		await broker.start();
		await broker.call("v1.k8s.namespaces.create", { name: "own-a" }, alice);
	});
	afterAll(async () => {
		await broker.stop();
		setKubeClient(undefined);
	});

	it("refuses deployment w with configMap.name v-env while w-v exists: both would make ConfigMap w-v-env", async () => {
		await create({ name: "w-v", env: [{ key: "MODE", value: "production" }] });
		const err = await rejection(create({ name: "w", configMap: { name: "v-env", data: { "a.conf": "x" } } }));
		expect(err.code).toBe(409);
		expect(err.type).toBe("CONFLICT");
		expect(err.data).toMatchObject({ field: "configMap.name", objects: [{ kind: "ConfigMap", name: "w-v-env", field: "configMap.name", heldBy: "deployment" }] });
		expect(kube.peek("ConfigMap", "w-v-env", "own-a")?.data).toEqual({ MODE: "production" });
	});

	it("and the reverse order: deployment u-v while u has configMap.name v-env", async () => {
		await create({ name: "u", configMap: { name: "v-env", data: { "a.conf": "x" } } });
		const err = await rejection(create({ name: "u-v" }));
		expect(err.code).toBe(409);
		expect(err.data).toMatchObject({ field: "name", objects: [{ kind: "ConfigMap", name: "u-v-env", field: "name" }] });
		expect(kube.peek("ConfigMap", "u-v-env", "own-a")?.data).toEqual({ "a.conf": "x" });
	});

	it("leaves an object that became foreign alone in the reconcile loop, and says why in the status", async () => {
		const dep = await create({ name: "z" });
		kube.forget("Service", "z-service", "own-a");
		const foreign = { apiVersion: "v1", kind: "Service", metadata: { name: "z-service", namespace: "own-a" }, spec: { ports: [{ port: 9 }] } } as KubernetesObject;
		await kube.apply(foreign);
		const err = await rejection(broker.call("v1.k8s.deployments.apply", { id: dep.id }, alice));
		expect(err.code).toBe(409);
		expect(err.data).toMatchObject({ reason: "ObjectHeld", objects: [{ kind: "Service", name: "z-service", heldBy: "external" }] });
		const status = (await broker.call<DeploymentEntity, { id: string }>("v1.k8s.deployments.get", { id: dep.id }, alice)).status;
		expect(status?.phase).toBe("Failed");
		expect(status?.conditions.find(c => c.type === "Applied")).toMatchObject({ status: "False", reason: "ObjectHeld" });
		expect(kube.peek("Service", "z-service", "own-a")).toMatchObject({ spec: { ports: [{ port: 9 }] } });
		expect(kube.peek("Service", "z-service", "own-a")?.metadata?.labels).toBeUndefined();
	});
});
