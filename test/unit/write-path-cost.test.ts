import { ServiceBroker } from "moleculer";
import { setKubeClient, type KubeClient } from "../../lib/k8s";
import DeploymentsService from "../../services/k8s.deployments.service";
import EnvsService from "../../services/k8s.envs.service";
import ImagesService from "../../services/k8s.images.service";
import NamespacesService from "../../services/k8s.namespaces.service";
import { callCounter, expectLeanWritePath, measure } from "../helpers/cost";
import { FakeKube } from "../helpers/fake-kube";

// The same measure as test/integration/write-path-cost.test.ts, against the in-memory apiserver.
describe("the write path's cost (Kubernetes stubbed): one create and one scale", () => {
	const alice = { meta: { userID: "alice" } };
	const counter = callCounter();
	let broker: ServiceBroker;

	beforeAll(async () => {
		process.env.DATA_DIR = ":memory:";
		delete process.env.MONGO_URI;
		process.env.LEADER_ELECTION = "false";
		setKubeClient(new FakeKube() as unknown as KubeClient);
		broker = new ServiceBroker({ logger: false, validator: true, middlewares: [counter.middleware] });
		for (const schema of [NamespacesService, ImagesService, DeploymentsService, EnvsService]) broker.createService(schema as never);
		await broker.start();
		await broker.call("v1.k8s.namespaces.create", { name: "cost-a", quota: { cpu: "2", memory: "2Gi", pods: 10 } }, alice);
	});
	afterAll(async () => {
		await broker.stop();
		setKubeClient(undefined);
	});

	it("creates without repeated lookups and scales without the reference checks or a dry run", async () => {
		let id = "";
		const create = await measure("create", counter, "v1.k8s.deployments.create", async () => {
			id = (await broker.call<{ id: string }, object>("v1.k8s.deployments.create", { name: "web", namespace: "cost-a", image: "nginx", env: [{ key: "MODE", value: "production" }] }, alice)).id;
		});
		const scale = await measure("scale", counter, "v1.k8s.deployments.scale", async () => {
			expect(await broker.call("v1.k8s.deployments.scale", { id, replicas: 2 }, alice)).toMatchObject({ replicas: 2 });
		});
		expectLeanWritePath(create, scale);
		// The passes build from the image the create read: no lookup in the background either.
		expect(create.mesh["v1.k8s.images.resolve"]).toBe(1);
		expect(scale.mesh["v1.k8s.images.resolve"]).toBeUndefined();
	});
});
