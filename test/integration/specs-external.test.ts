import type { V1Deployment } from "../../lib/k8s";
import { kube, uniqueName } from "../helpers/cluster";
import { backends as dbBackends, dropDatabase } from "../helpers/backends";
import { eventually } from "../helpers/eventually";
import { SEED_YAML as SEED_YAML_WITH_GPU } from "../helpers/seed-spec";
import { request, startMesh, type Mesh } from "../helpers/mesh";

/** The seed's spec without the GPU line, as the seed allows: the kwok node has no GPUs, so that the pod runs. */
const SEED_YAML = SEED_YAML_WITH_GPU.replace("    gpu: 'nvidia/gpu'  # Request a GPU resource (see below for valid options)\n", "");

/** The seed's payload, as the LLP keeps it in `docker_services`. */
const PAYLOAD = { name: "My NGINX Service", deployment: SEED_YAML, exposed_service: "nginx", exposed_port: 80 };

const backends = dbBackends("berth_it_specs_ext");

/**
 * The KITeGG PUT as the LLP makes it: the record under the LLP's own id, in the body, then the
 * deploy; GET and DELETE by that id. Ids are global; another tenant's is a 404.
 */
describe.each(backends)("KITeGG create-or-update by the caller's id, stored in %s", (_backend, pickMongo) => {
	let mesh: Mesh;
	let uri: string | undefined;
	let alice: string;
	let aliceConfined: string;
	let bob: string;
	let ns: { id: string; name: string };
	let other: { id: string; name: string };
	let bobNs: { id: string; name: string };
	/** The LLP's record id: not Berth's. */
	const llpId = uniqueName("llp").replace("-", "_") + "-0b8c1e";

	const compat = (path: string) => `${mesh.url}/kubernetes/services${path}`;
	const native = (path = "") => `${mesh.url}/api/v1/k8s/services${path}`;

	beforeAll(async () => {
		uri = pickMongo();
		if (uri) process.env.MONGO_URI = uri;
		else delete process.env.MONGO_URI;
		mesh = await startMesh(["api", "keys", "k8s.namespaces", "k8s.services"]);
		const keyFor = async (userID: string, namespaces?: string[]) => {
			const res = await request(`${mesh.url}/api/v1/keys`, { method: "POST", key: mesh.adminKey, body: { name: userID, userID, ...(namespaces ? { namespaces } : {}) } });
			expect(res.status).toBe(201);
			return res.body.key as string;
		};
		const aliceID = uniqueName("alice");
		alice = await keyFor(aliceID);
		bob = await keyFor(uniqueName("bob"));
		const namespace = async (key: string) => {
			const res = await request(`${mesh.url}/api/v1/k8s/namespaces`, { method: "POST", key, body: { name: uniqueName("it-kitegg"), quota: { cpu: "4", memory: "8Gi", storage: "20Gi", pods: 20 } } });
			expect(res.status).toBe(201);
			return res.body as { id: string; name: string };
		};
		ns = await namespace(alice);
		other = await namespace(alice);
		bobNs = await namespace(bob);
		aliceConfined = await keyFor(aliceID, [other.name]);
	});

	afterAll(async () => {
		for (const [n, key] of [[ns, alice], [other, alice], [bobNs, bob]] as const) if (n) await request(`${mesh.url}/api/v1/k8s/namespaces/${n.id}`, { method: "DELETE", key });
		await mesh.stop();
		if (uri) await dropDatabase(uri);
		delete process.env.MONGO_URI;
	});

	it("creates the record under the caller's id with ?namespace=, deploys it and answers with the Deployment", async () => {
		const res = await request(compat(`/${llpId}/deploy?namespace=${ns.name}`), { method: "PUT", key: alice, body: PAYLOAD });
		expect(res.status).toBe(200);
		expect(res.body).toMatchObject({ apiVersion: "apps/v1", kind: "Deployment", metadata: { name: "my-nginx-service", namespace: ns.name } });
		const listed = (await request(native("/"), { key: alice })).body as { id: string; externalId?: string; deployed: boolean; namespace: string }[];
		expect(listed).toEqual([expect.objectContaining({ externalId: llpId, deployed: true, namespace: ns.id, name: "My NGINX Service", exposed_port: 80 })]);
		expect(listed[0].id).not.toBe(llpId);
	});

	it("answers GET /kubernetes/services/<id> in the seed's status shape", async () => {
		await eventually(async () =>
			expect((await request(compat(`/${llpId}`), { key: alice })).body).toEqual({
				replicas: 1,
				currentReplicas: 1,
				pods: [{ phase: "Running", containers: [{ name: "nginx", ready: true, started: true }] }],
				volumes: [{ name: "mydata", phase: "Bound", capacity: "1Gi" }],
			}),
		);
	});

	it("updates the record under that id with another PUT, and deploys the stored record without a body", async () => {
		const res = await request(compat(`/${llpId}/deploy`), { method: "PUT", key: alice, body: { name: "Renamed", deployment: SEED_YAML } });
		expect(res.status).toBe(200);
		const listed = (await request(native("/"), { key: alice })).body as Record<string, unknown>[];
		// One record still; the exposure the payload left out is cleared, as the record says.
		expect(listed).toEqual([expect.objectContaining({ externalId: llpId, name: "Renamed", exposed_service: null, exposed_port: null, pendingChanges: false })]);
		expect((await request(compat(`/${llpId}/deploy`), { method: "PUT", key: alice })).status).toBe(200);
		// A record stays in its namespace.
		const moved = await request(compat(`/${llpId}/deploy?namespace=${other.name}`), { method: "PUT", key: alice, body: PAYLOAD });
		expect(moved.status).toBe(422);
		expect(moved.body.data).toEqual([expect.objectContaining({ field: "namespace", type: "immutable" })]);
	});

	it("answers another tenant 404 for the id, whatever the method, and never takes it over", async () => {
		expect((await request(compat(`/${llpId}`), { key: bob })).status).toBe(404);
		expect((await request(compat(`/${llpId}/deploy`), { method: "PUT", key: bob })).status).toBe(404);
		const taken = await request(compat(`/${llpId}/deploy?namespace=${bobNs.name}`), { method: "PUT", key: bob, body: PAYLOAD });
		expect(taken.status).toBe(404);
		expect(taken.text).not.toContain(ns.name);
		expect((await request(compat(`/${llpId}`), { method: "DELETE", key: bob })).status).toBe(404);
		expect((await request(native("/"), { key: bob })).body).toEqual([]);
		expect((await request(native("/"), { key: alice })).body).toEqual([expect.objectContaining({ externalId: llpId, name: "Renamed" })]);
	});

	it("takes the namespace from a key confined to exactly one; otherwise a 422 names `namespace`", async () => {
		const none = await request(compat(`/${llpId}-2/deploy`), { method: "PUT", key: alice, body: PAYLOAD });
		expect(none.status).toBe(422);
		expect(none.body.data).toEqual([expect.objectContaining({ field: "namespace", type: "required" })]);
		const confined = await request(compat(`/${llpId}-2/deploy`), { method: "PUT", key: aliceConfined, body: PAYLOAD });
		expect(confined.status).toBe(200);
		expect(confined.body.metadata.namespace).toBe(other.name);
		expect((await request(compat(`/${llpId}-2`), { method: "DELETE", key: aliceConfined })).status).toBe(200);
	});

	it("refuses an id of the wrong shape, and an incomplete record, with 422", async () => {
		for (const bad of ["-leading-dash", "x".repeat(65), "bad%20id", "a%2Fb"]) {
			const res = await request(compat(`/${bad}/deploy?namespace=${ns.name}`), { method: "PUT", key: alice, body: PAYLOAD });
			expect([bad, res.status]).toEqual([bad, 422]);
		}
		const partial = await request(compat(`/${uniqueName("llp")}/deploy?namespace=${ns.name}`), { method: "PUT", key: alice, body: { name: "No spec" } });
		expect(partial.status).toBe(422);
		expect(partial.body.data).toEqual([expect.objectContaining({ field: "deployment", type: "required" })]);
	});

	it("DELETE by that id removes what was deployed and keeps the record", async () => {
		const res = await request(compat(`/${llpId}`), { method: "DELETE", key: alice });
		expect(res.status).toBe(200);
		expect(res.body.removed).toEqual(expect.arrayContaining([{ kind: "Deployment", name: "my-nginx-service" }]));
		expect(await kube().get<V1Deployment & { kind?: string }>({ apiVersion: "apps/v1", kind: "Deployment", name: "my-nginx-service", namespace: ns.name })).toBeUndefined();
		const records = (await request(native("/"), { key: alice })).body as { externalId?: string }[];
		expect(records.filter(r => r.externalId === llpId)).toEqual([expect.objectContaining({ externalId: llpId, deployed: false })]);
	});
});
