import { ServiceBroker } from "moleculer";
import { setKubeClient, type KubeClient } from "../../lib/k8s";
import HealthService from "../../services/health.service";

/** An apiserver that does not answer: the Kubernetes boundary, stubbed. */
const unreachableApiserver = { version: () => Promise.reject(new Error("connect ECONNREFUSED 127.0.0.1:6443")) } as unknown as KubeClient;

describe("readiness with the apiserver down", () => {
	const broker = new ServiceBroker({ logger: false });
	const previousDataDir = process.env.DATA_DIR;

	beforeAll(async () => {
		process.env.DATA_DIR = ":memory:";
		setKubeClient(unreachableApiserver);
		broker.createService(HealthService);
		await broker.start();
	});

	afterAll(async () => {
		await broker.stop();
		setKubeClient(undefined);
		process.env.DATA_DIR = previousDataDir;
	});

	it("keeps serving: /health/serving asks only what the node itself needs", async () => {
		const meta: { $statusCode?: number } = {};
		await expect(broker.call("health.serving", {}, { meta })).resolves.toEqual({ status: "ready", failing: [] });
		expect(meta.$statusCode).toBeUndefined();
	});

	it("is not ready: /health/ready names the cluster check with a 503", async () => {
		const meta: { $statusCode?: number } = {};
		const ready = await broker.call<{ status: string; failing: string[] }, object>("health.ready", {}, { meta });
		expect(ready).toEqual({ status: "unready", failing: ["cluster"] });
		expect(meta.$statusCode).toBe(503);
	});
});
