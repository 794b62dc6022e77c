import { randomBytes } from "node:crypto";
import { ServiceBroker } from "moleculer";
import mongoose from "mongoose";
import { Kinds, type V1Deployment } from "../../lib/k8s";
import { AdmissionDesk, ADMISSIONS_COLLECTION, mongoAdmissionStore, type RowCollection } from "../../lib/namespaces/admission";
import { dropDatabase, isolatedMongoUri } from "../helpers/backends";
import { kube, uniqueName } from "../helpers/cluster";
import { eventually } from "../helpers/eventually";
import { keyFor, request, startMesh, type HttpResult, type Mesh } from "../helpers/mesh";
import { freePort, startNode, type NodeProcess } from "../helpers/nodes";

/**
 * Issue #18, item 4: a namespace's quota check and the store of what it admits are one step, on one
 * node and across nodes. Twenty creates race for a namespace with room for two pods; the quota is
 * the only thing that can refuse them (distinct names, a small image).
 */

const SERVICES = ["api", "keys", "health", "k8s.namespaces", "k8s.images", "k8s.volumes", "k8s.deployments", "k8s.envs"];

interface Gateway {
	url: string;
	key: string;
}

const deployments = (url: string) => `${url}/api/v1/k8s/deployments`;

/** Every answer is an admission (201) or a QUOTA_EXCEEDED refusal; never anything else, never a 5xx. */
function expectOnlyAdmittedOrRefused(results: HttpResult<any>[], admitted: number): void {
	const shapes = results.map(r => (r.status === 422 ? `422 ${r.body?.type}` : String(r.status)));
	expect(shapes.filter(s => s !== "201" && s !== "200" && s !== "422 QUOTA_EXCEEDED")).toEqual([]);
	expect(shapes.filter(s => s === "201" || s === "200")).toHaveLength(admitted);
	for (const r of results.filter(x => x.status === 422)) expect(r.body).toMatchObject({ code: 422, type: "QUOTA_EXCEEDED", data: { shortfalls: [expect.objectContaining({ resource: "pods" })] } });
}

/** 20 creates of one-pod deployments, spread over the gateways, all at once. */
async function raceCreates(gateways: Gateway[], namespace: string): Promise<HttpResult<any>[]> {
	return Promise.all(
		Array.from({ length: 20 }, (_, i) => {
			const gw = gateways[i % gateways.length];
			return request(deployments(gw.url), { method: "POST", key: gw.key, body: { name: `race-${i}`, namespace, image: "nginx", replicas: 1 } });
		}),
	);
}

/** A namespace of `pods` pods (and room enough of everything else), made through the gateway. */
async function namespaceOf(gw: Gateway, prefix: string, pods: number): Promise<{ id: string; name: string }> {
	const res = await request(`${gw.url}/api/v1/k8s/namespaces`, { method: "POST", key: gw.key, body: { name: uniqueName(prefix), quota: { cpu: "4", memory: "4Gi", pods } } });
	expect(res.status).toBe(201);
	return res.body as { id: string; name: string };
}

/** What the namespace holds afterwards: the stored deployments, and the Deployments in the cluster. */
async function holdings(gw: Gateway, namespaceId: string, namespaceName: string): Promise<{ stored: string[]; live: string[] }> {
	const list = await request(`${deployments(gw.url)}?namespace=${namespaceId}`, { key: gw.key });
	expect(list.status).toBe(200);
	const stored = (list.body as { name: string }[]).map(d => d.name).sort();
	const live = (await kube().list<V1Deployment>(Kinds.Deployment, { namespace: namespaceName, labelSelector: "app.kubernetes.io/managed-by=berth" })).map(d => d.metadata?.name as string).sort();
	return { stored, live };
}

/** A hold of a namespace that is never released, as a node that crashed holding it leaves one. */
type HoldForever = (namespaceId: string) => Promise<unknown>;

/** Short holds in these meshes, so that the crashed holder's expires within the test. */
const LOCK_SECONDS = "4";

/** The shared checks, for one node and for two. */
function admissionCases(gateways: () => Gateway[], made: string[], holdForever: HoldForever): void {
	it("admits at most two of 20 racing creates where the quota allows two pods; the rest are 422 QUOTA_EXCEEDED, none a 5xx", async () => {
		const [first] = gateways();
		const ns = await namespaceOf(first, "it-race", 2);
		made.push(ns.name);
		const results = await raceCreates(gateways(), ns.name);
		expectOnlyAdmittedOrRefused(results, 2);
		// Nothing of a refused create is kept, in the store or in the cluster.
		const admitted = results.filter(r => r.status === 201).map(r => r.body.name as string).sort();
		const { stored, live } = await holdings(first, ns.id, ns.name);
		expect(stored).toEqual(admitted);
		expect(live).toEqual(admitted);
	});

	it("lets only one of two racing scale-ups take the namespace's last pod", async () => {
		const [first] = gateways();
		const ns = await namespaceOf(first, "it-scale", 3);
		made.push(ns.name);
		const ids: string[] = [];
		for (const name of ["a", "b"]) {
			const res = await request(deployments(first.url), { method: "POST", key: first.key, body: { name, namespace: ns.name, image: "nginx", replicas: 1 } });
			expect(res.status).toBe(201);
			ids.push(res.body.id);
		}
		// Each of a and b asks for a second pod, five times over, through every gateway at once: one pod is left.
		const results = await Promise.all(
			Array.from({ length: 10 }, (_, i) => {
				const gw = gateways()[i % gateways().length];
				return request(`${deployments(gw.url)}/${ids[i % 2]}/scale`, { method: "POST", key: gw.key, body: { replicas: 2 } });
			}),
		);
		expect(results.filter(r => r.status !== 200 && !(r.status === 422 && r.body?.type === "QUOTA_EXCEEDED")).map(r => r.status)).toEqual([]);
		const replicas = await Promise.all(ids.map(async id => (await request(`${deployments(first.url)}/${id}`, { key: first.key })).body.replicas as number));
		expect(replicas.sort()).toEqual([1, 2]);
		// The winner's five asks all succeed (the second ones need nothing more); the loser's five are refused.
		expect(results.filter(r => r.status === 200)).toHaveLength(5);
	});

	it("admits two of six racing 512Mi volumes where the storage quota is 1Gi", async () => {
		const [first] = gateways();
		const res = await request(`${first.url}/api/v1/k8s/namespaces`, { method: "POST", key: first.key, body: { name: uniqueName("it-vol"), quota: { storage: "1Gi" } } });
		expect(res.status).toBe(201);
		made.push(res.body.name);
		const results = await Promise.all(
			Array.from({ length: 6 }, (_, i) => {
				const gw = gateways()[i % gateways().length];
				return request(`${gw.url}/api/v1/k8s/volumes`, { method: "POST", key: gw.key, body: { name: `vol-${i}`, namespace: res.body.name, mountPath: "/data", size: "512Mi" } });
			}),
		);
		expect(results.map(r => (r.status === 422 ? `422 ${r.body?.type}` : String(r.status))).sort()).toEqual(["201", "201", ...Array(4).fill("422 QUOTA_EXCEEDED")]);
		const list = await request(`${first.url}/api/v1/k8s/volumes?namespace=${res.body.id}`, { key: first.key });
		expect((list.body as { name: string }[]).map(v => v.name).sort()).toEqual(results.filter(r => r.status === 201).map(r => r.body.name as string).sort());
	});

	it("admits a create once the hold of a holder that never released (a crashed node) has expired", async () => {
		const [first, last] = [gateways()[0], gateways()[gateways().length - 1]];
		const ns = await namespaceOf(first, "it-crash", 2);
		made.push(ns.name);
		await holdForever(ns.id);
		// The create waits its turn (up to twice the hold's time) and takes the namespace when the hold expires.
		const res = await request(deployments(last.url), { method: "POST", key: last.key, body: { name: "after", namespace: ns.name, image: "nginx", replicas: 1 } });
		expect({ status: res.status, type: res.body?.type }).toEqual({ status: 201, type: undefined });
	});
}

describe("atomic quota admission", () => {
	describe("the holds on FerretDB, four connections standing for four nodes", () => {
		const uri = isolatedMongoUri("berth_holds");
		let connections: mongoose.Connection[] = [];
		let clock = Date.now();
		const desks = () => connections.map(c => new AdmissionDesk(mongoAdmissionStore(c.db?.collection(ADMISSIONS_COLLECTION) as unknown as RowCollection), { ttlMs: 10_000, waitMs: 20_000 }, () => clock));

		beforeAll(async () => {
			connections = await Promise.all([1, 2, 3, 4].map(() => mongoose.createConnection(uri, { serverSelectionTimeoutMS: 5000 }).asPromise()));
		});

		afterAll(async () => {
			await Promise.all(connections.map(c => c.close()));
			await dropDatabase(uri);
		});

		it("gives a namespace to exactly one of 20 racing holders, as often as they race", async () => {
			const all = desks();
			for (let round = 0; round < 5; round++) {
				const held = await Promise.all(Array.from({ length: 20 }, (_, i) => all[i % all.length].tryHold(`ns-${round}`, `r${round}-h${i}`)));
				expect(held.filter(Boolean)).toHaveLength(1);
			}
		});

		it("hands an expired hold to exactly one of 20 racing takers", async () => {
			const all = desks();
			for (let round = 0; round < 5; round++) {
				expect(await all[0].tryHold(`gone-${round}`, `crashed-${round}`)).toBeDefined();
				clock += 10_000;
				const held = await Promise.all(Array.from({ length: 20 }, (_, i) => all[i % all.length].tryHold(`gone-${round}`, `t${round}-${i}`)));
				expect(held.filter(Boolean)).toHaveLength(1);
			}
		});
	});

	describe("one node, stored in NeDB", () => {
		let mesh: Mesh;
		let key = "";
		const made: string[] = [];

		beforeAll(async () => {
			delete process.env.MONGO_URI;
			process.env.DATA_DIR = ":memory:";
			process.env.QUOTA_LOCK_SECONDS = LOCK_SECONDS;
			mesh = await startMesh(SERVICES);
			key = await keyFor(mesh, uniqueName("racer"));
		});

		afterAll(async () => {
			delete process.env.QUOTA_LOCK_SECONDS;
			await mesh?.stop();
			await Promise.all(made.map(name => kube().delete({ apiVersion: "v1", kind: "Namespace", name }).catch(() => undefined)));
		});

		it("serves the admission actions on the mesh only, not through the gateway", async () => {
			const doc = await request(`${mesh.url}/api/openapi.json`);
			expect(Object.keys(doc.body.paths).filter(path => /admission/i.test(path))).toEqual([]);
			for (const action of ["holdAdmission", "releaseAdmission"]) {
				const res = await request(`${mesh.url}/api/v1/k8s/namespaces/${action}`, { method: "POST", key: mesh.adminKey, body: { id: "x", holder: "y" } });
				expect(res.status).toBe(404);
			}
		});

		admissionCases(() => [{ url: mesh.url, key }], made, id => mesh.broker.call("v1.k8s.namespaces.holdAdmission", { id, holder: "crashed" }, { meta: { userID: "system" } }));
	});

	describe("two nodes over NATS, sharing FerretDB", () => {
		const run = randomBytes(3).toString("hex");
		const adminKey = `berth_${randomBytes(6).toString("hex")}_admission-admin-key-${run}-0000000`;
		const nodes: NodeProcess[] = [];
		const gateways: Gateway[] = [];
		const made: string[] = [];
		let mongoUri = "";
		let observer: ServiceBroker | undefined;

		beforeAll(async () => {
			if (!process.env.NATS_URL) throw new Error("NATS_URL must be set (scripts/cluster/up.sh writes it to .cluster/env)");
			mongoUri = isolatedMongoUri("berth_admission");
			const common = {
				TRANSPORTER: process.env.NATS_URL,
				MONGO_URI: mongoUri,
				BERTH_ADMIN_KEY: adminKey,
				LEADER_LEASE_NAME: `berth-admission-${run}`,
				BROKER_NAMESPACE: `berth-admission-${run}`,
				KUBECONFIG: process.env.KUBECONFIG as string,
				SERVICES: SERVICES.join(","),
				QUOTA_LOCK_SECONDS: LOCK_SECONDS,
			};
			const ports = [await freePort(), await freePort()];
			for (const [i, port] of ports.entries()) nodes.push(startNode(`node${i + 1}-${run}`, { ...common, PORT: String(port) }));
			observer = new ServiceBroker({ namespace: `berth-admission-${run}`, nodeID: `observer-${run}`, transporter: process.env.NATS_URL as never, logger: false });
			await observer.start();
			try {
				await eventually(
					async () => {
						// Both nodes run the namespaces service: two admission desks share the FerretDB rows.
						expect(observer?.registry.getActionEndpoints("v1.k8s.namespaces.create")?.count()).toBe(2);
						for (const port of ports) expect((await request(`http://127.0.0.1:${port}/api/v1/k8s/images`, { key: adminKey })).status).toBe(200);
					},
					{ timeoutMs: 90_000 },
				);
			} catch (err) {
				throw new Error(`The nodes did not come up: ${(err as Error).message}\n${nodes.map(n => `--- ${n.name}\n${n.output()}`).join("\n")}`);
			}
			const user = uniqueName("racer");
			const res = await request(`http://127.0.0.1:${ports[0]}/api/v1/keys`, { method: "POST", key: adminKey, body: { name: user, userID: user } });
			expect(res.status).toBe(201);
			for (const port of ports) gateways.push({ url: `http://127.0.0.1:${port}`, key: res.body.key as string });
		});

		afterAll(async () => {
			await observer?.stop();
			await Promise.all(nodes.map(n => n.kill()));
			await Promise.all(made.map(name => kube().delete({ apiVersion: "v1", kind: "Namespace", name }).catch(() => undefined)));
			if (mongoUri) await dropDatabase(mongoUri);
		});

		admissionCases(() => gateways, made, id => (observer as ServiceBroker).call("v1.k8s.namespaces.holdAdmission", { id, holder: "crashed" }, { nodeID: nodes[0].name, meta: { userID: "system" } }));
	});
});
