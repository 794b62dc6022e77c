import { randomBytes } from "node:crypto";
import { ServiceBroker } from "moleculer";
import { eventually } from "../helpers/eventually";
import { kube, uniqueName } from "../helpers/cluster";
import { request } from "../helpers/mesh";
import { openEventStream } from "../helpers/access";
import { composeNodes } from "../helpers/compose";
import { freePort, startNode, type NodeProcess } from "../helpers/nodes";

// The split docker-compose.yml runs (test/unit/compose.test.ts checks it covers every service).
const composed = composeNodes({ NATS_PASSWORD: "unused", MESH_SECRET: "unused", SECRETS_KEY: "unused", BERTH_ADMIN_KEY: "unused" });
const apiServices = composed.find(n => n.name === "api")!.env.SERVICES;
const workerServices = composed.find(n => n.name === "worker")!.env.SERVICES;

/**
 * The same code split by SERVICES, as docker-compose.yml splits it, into an api node and two worker nodes over a real nats-server,
 * sharing MongoDB (FerretDB). Calls balance across workers and survive one being killed.
 */
describe("multi-node over NATS with MongoDB", () => {
	const run = randomBytes(3).toString("hex");
	const adminKey = `berth_${randomBytes(6).toString("hex")}_multinode-admin-key-${run}-000000`;
	const nodes: NodeProcess[] = [];
	let url = "";
	let observer: ServiceBroker;
	const namespaces: string[] = [];

	beforeAll(async () => {
		if (!process.env.NATS_URL || !process.env.MONGO_URI) throw new Error("NATS_URL and MONGO_URI must be set (scripts/cluster/up.sh writes them to .cluster/env)");
		const port = await freePort();
		const common = {
			TRANSPORTER: process.env.NATS_URL,
			MONGO_URI: process.env.MONGO_URI.replace(/\/[^/]*$/, `/berth-multinode-${run}`),
			BERTH_ADMIN_KEY: adminKey,
			LEADER_LEASE_NAME: `berth-multinode-${run}`,
			BROKER_NAMESPACE: `berth-multinode-${run}`,
			KUBECONFIG: process.env.KUBECONFIG!,
		};
		nodes.push(startNode(`api-${run}`, { ...common, SERVICES: apiServices, PORT: String(port) }));
		nodes.push(startNode(`worker1-${run}`, { ...common, SERVICES: workerServices }));
		nodes.push(startNode(`worker2-${run}`, { ...common, SERVICES: workerServices }));
		url = `http://127.0.0.1:${port}`;
		observer = new ServiceBroker({ namespace: `berth-multinode-${run}`, nodeID: `observer-${run}`, transporter: process.env.NATS_URL as never, logger: false });
		await observer.start();
		try {
			await observer.waitForServices(["api", "v1.keys", "v1.k8s.namespaces", "v1.k8s.deployments"], 60_000);
			await eventually(async () => {
				const endpoints = observer.registry.getActionEndpoints("v1.k8s.namespaces.create");
				expect(endpoints?.count()).toBe(2);
				expect((await request(`${url}/health/ready`)).status).toBe(200);
				// The gateway builds routes for remote services once it has seen them: wait until they answer.
				expect((await request(`${url}/api/v1/k8s/namespaces`, { key: adminKey })).status).toBe(200);
				expect((await request(`${url}/api/v1/k8s/images`, { key: adminKey })).status).toBe(200);
			}, { timeoutMs: 60_000 });
		} catch (err) {
			throw new Error(`The nodes did not come up: ${(err as Error).message}\n${nodes.map(n => `--- ${n.name}\n${n.output()}`).join("\n")}`);
		}
	});

	afterAll(async () => {
		for (const name of namespaces) await kube().delete({ apiVersion: "v1", kind: "Namespace", name });
		await observer?.stop();
		await Promise.all(nodes.map(n => n.kill()));
	});

	it("serves REST on the api node from services on the worker nodes", async () => {
		const name = uniqueName("it-mn");
		const created = await request(`${url}/api/v1/k8s/namespaces`, { method: "POST", key: adminKey, body: { name } });
		expect({ status: created.status, body: created.body }).toMatchObject({ status: 201 });
		namespaces.push(name);
		await eventually(async () => expect((await kube().get({ apiVersion: "v1", kind: "Namespace", name }))?.metadata?.name).toBe(name));
		// The worker that ran the create sent its record to the audit service on the api node.
		await eventually(async () => {
			const audit = await request(`${url}/api/v1/audit?namespace=${name}`, { key: adminKey });
			expect(audit.body).toEqual([expect.objectContaining({ action: "v1.k8s.namespaces.create", actor: "admin", via: "rest", namespaceName: name, status: 201 })]);
		});
	});

	it("answers for every service of the split: catalog, inventory, services, applications, and live status from the api node", async () => {
		for (const path of ["/api/v1/k8s/inventory", "/api/v1/k8s/services", "/api/v1/k8s/applications/templates", "/api/v1/k8s/jobs", "/api/v1/k8s/volumes"]) {
			await eventually(async () => expect({ path, status: (await request(`${url}${path}`, { key: adminKey })).status }).toEqual({ path, status: 200 }));
		}
		const name = uniqueName("it-mn");
		const created = await request(`${url}/api/v1/k8s/namespaces`, { method: "POST", key: adminKey, body: { name } });
		expect(created.status).toBe(201);
		namespaces.push(name);
		const stream = await openEventStream(`${url}/api/v1/k8s/namespaces/${created.body.id}/stream`, adminKey);
		try {
			expect(stream.status).toBe(200);
			await eventually(async () => expect(stream.events.length).toBeGreaterThan(0));
		} finally {
			stream.close();
		}
	});

	it("balances calls across both workers", async () => {
		const seen = new Set<string>();
		for (let i = 0; i < 30; i++) seen.add((await observer.call<{ nodeID: string }>("health.node")).nodeID);
		expect([...seen].filter(id => id.startsWith("worker")).sort()).toEqual([`worker1-${run}`, `worker2-${run}`]);
	});

	it("survives the death of a worker: every call still answers", async () => {
		const victim = nodes[1];
		await victim.kill("SIGKILL");
		const died = Date.now();
		const statuses: number[] = [];
		let slowest = 0;
		for (let i = 0; i < 30; i++) {
			const t = Date.now();
			statuses.push((await request(`${url}/api/v1/k8s/images`, { key: adminKey })).status);
			slowest = Math.max(slowest, Date.now() - t);
		}
		console.log(`after killing a worker: 30 calls in ${Date.now() - died} ms, slowest ${slowest} ms, failures ${statuses.filter(s => s !== 200).length}`);
		expect(statuses.filter(s => s !== 200)).toEqual([]);
		const name = uniqueName("it-mn");
		const created = await request(`${url}/api/v1/k8s/namespaces`, { method: "POST", key: adminKey, body: { name } });
		expect([200, 201]).toContain(created.status);
		namespaces.push(name);
	});
});
