import { dropStore, isolatedMongoUri, useStore } from "../helpers/backends";
import { uniqueName } from "../helpers/cluster";
import { eventually } from "../helpers/eventually";
import { callCounter, expectLeanWritePath, measure } from "../helpers/cost";
import { createNamespace, keyFor, request, startMesh, type Mesh } from "../helpers/mesh";

const SERVICES = ["api", "keys", "k8s.namespaces", "k8s.images", "k8s.deployments", "k8s.envs", "k8s.revisions", "audit"];

describe("the write path's cost: one create, one scale and one delete through the gateway", () => {
	let mesh: Mesh;
	let alice: string;
	let nsId: string;
	let nsName: string;
	const counter = callCounter();
	// A database of its own: the leader reconciles every namespace of its store, and another suite's
	// in a shared one (brought up to date with the tenant policy, say) would be counted here.
	const uri = isolatedMongoUri("berth_cost");

	beforeAll(async () => {
		useStore(uri);
		mesh = await startMesh(SERVICES, { middlewares: [counter.middleware] });
		alice = await keyFor(mesh, uniqueName("alice"));
		({ id: nsId, name: nsName } = await createNamespace(mesh, alice, uniqueName("it-cost"), { cpu: "2", memory: "2Gi", pods: 10 }));
	});

	afterAll(async () => {
		await request(`${mesh.url}/api/v1/k8s/namespaces/${nsId}`, { method: "DELETE", key: alice });
		await mesh.stop();
		await dropStore(uri);
	});

	it("creates without repeated lookups, scales without the reference checks or a dry run, and deletes with one list per kind", async () => {
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

		expectLeanWritePath(create, scale);
		// The audit trail adds one call per mutating request (docs/api/audit.md), and no lookup: the
		// deployment it answers names its namespace's id and name.
		expect(create.request["v1.audit.record"]).toBe(1);
		expect(scale.request["v1.audit.record"]).toBe(1);
		expect(create.mesh["v1.k8s.namespaces.lookup"]).toBe(1);
		// Ownership (issue #18 item 5): the dry runs are dry-run creates (no more of them than before);
		// the gets are the env objects before the create and before envs writes them, and the
		// Deployment, Service and Ingress before their first apply. A scale's objects are known to be
		// the deployment's from the leader's caches.
		expect(create.apiserver["dry-run"]).toBe(3);
		// Namespace identity (issue #25) reads the Namespace before a pass applies: the deployment's and
		// its envs' passes on a create, the deployment's on a scale.
		expect(create.apiserver.get).toBeLessThanOrEqual(10);
		// Each object applied once: the env objects' own watch events find them as written (issue #24).
		expect(create.apiserver.apply).toBeLessThanOrEqual(5);
		expect(scale.apiserver.get ?? 0).toBeLessThanOrEqual(2);
		// One revision per change: envs, handed its target by deployments, leaves the record to it.
		expect(create.request["v1.k8s.revisions.record"]).toBe(1);
		expect(create.request["v1.k8s.envs.snapshot"]).toBe(1);

		// Counted once the scale has rolled out: a pass still applying would make the delete withdraw it again.
		await eventually(async () => expect((await request(`${mesh.url}/api/v1/k8s/deployments/${id}`, { key: alice })).body.status).toMatchObject({ phase: "Running", readyReplicas: 2 }));
		const remove = await measure(`DELETE /api/v1/k8s/deployments/:id`, counter, "v1.k8s.deployments.remove", async () => {
			const res = await request(`${mesh.url}/api/v1/k8s/deployments/${id}`, { method: "DELETE", key: alice });
			expect(res.status).toBe(200);
		});
		// The teardown lists each kind it generates once (both components in one selector), and a
		// deployment being deleted gets no revision and no separate pass over its env objects.
		expect(remove.apiserver.list).toBeLessThanOrEqual(7);
		// The teardown runs in the reconciler, outside the request's own call tree.
		expect(remove.mesh["v1.k8s.envs.clean"]).toBe(1);
		expect(remove.mesh["v1.k8s.revisions.record"]).toBeUndefined();
	});
});
