import { uniqueName } from "../helpers/cluster";
import { callCounter, measure } from "../helpers/cost";
import { request, startMesh, type Mesh } from "../helpers/mesh";

const SERVICES = ["api", "keys", "k8s.namespaces", "k8s.images", "k8s.deployments", "k8s.envs"];

describe("the write path's cost: one create and one scale through the gateway", () => {
	let mesh: Mesh;
	let alice: string;
	let nsId: string;
	let nsName: string;
	const counter = callCounter();

	beforeAll(async () => {
		mesh = await startMesh(SERVICES, { middlewares: [counter.middleware] });
		const userID = uniqueName("alice");
		alice = (await request(`${mesh.url}/api/v1/keys`, { method: "POST", key: mesh.adminKey, body: { name: userID, userID } })).body.key as string;
		nsName = uniqueName("it-cost");
		const ns = await request(`${mesh.url}/api/v1/k8s/namespaces`, { method: "POST", key: alice, body: { name: nsName, quota: { cpu: "2", memory: "2Gi", pods: 10 } } });
		expect(ns.status).toBe(201);
		nsId = ns.body.id;
	});

	afterAll(async () => {
		await request(`${mesh.url}/api/v1/k8s/namespaces/${nsId}`, { method: "DELETE", key: alice });
		await mesh.stop();
	});

	it("creates without repeated lookups and scales without the reference checks or a dry run", async () => {
		let id = "";
		const create = await measure("POST /api/v1/k8s/deployments", counter, "v1.k8s.deployments.create", async () => {
			const res = await request(`${mesh.url}/api/v1/k8s/deployments`, { method: "POST", key: alice, body: { name: "web", namespace: nsName, image: "nginx", env: [{ key: "MODE", value: "production" }] } });
			expect(res.status).toBe(201);
			id = res.body.id;
		});
		const scale = await measure(`POST /api/v1/k8s/deployments/:id/scale`, counter, "v1.k8s.deployments.scale", async () => {
			const res = await request(`${mesh.url}/api/v1/k8s/deployments/${id}/scale`, { method: "POST", key: alice, body: { replicas: 2 } });
			expect(res.status).toBe(200);
			expect(res.body.replicas).toBe(2);
		});

		// A create: the image and the namespace are looked up once, and envs is handed its target
		// instead of asking deployments for it while deployments waits on envs.
		expect(create.request["v1.k8s.images.get"] ?? 0).toBeLessThanOrEqual(1);
		expect(create.request["v1.k8s.namespaces.lookup"] ?? 0).toBeLessThanOrEqual(1);
		expect(create.mesh["v1.k8s.deployments.lookup"]).toBeUndefined();
		expect(create.request["v1.k8s.envs.createEnv"]).toBe(1);
		// A scale: the quota is checked; the image, the references and the dry run are not.
		expect(scale.request["v1.k8s.namespaces.resourcequota"]).toBe(1);
		expect(scale.request["v1.k8s.images.get"]).toBeUndefined();
		expect(scale.request["v1.k8s.images.resolveName"]).toBeUndefined();
		expect(scale.apiserver["dry-run"]).toBeUndefined();
		expect(scale.apiserver.apply).toBeGreaterThan(0);
	});
});
