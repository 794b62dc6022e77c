import { Kinds, type V1Deployment, type V1ReplicaSet } from "../../lib/k8s";
import type { RevisionView } from "../../lib/api/revisions";
import { kube, uniqueName } from "../helpers/cluster";
import { envBackends } from "../helpers/backends";
import { eventually } from "../helpers/eventually";
import { request, startMesh, type Mesh } from "../helpers/mesh";

const SERVICES = ["api", "keys", "k8s.namespaces", "k8s.images", "k8s.deployments", "k8s.envs", "k8s.revisions"];
const KEPT = 5;
const SECRET_1 = "first-sekrit-value-3f9a";
const SECRET_2 = "second-sekrit-value-8c1d";
const REVISION = "deployment.kubernetes.io/revision";

describe.each(envBackends)("deployment revisions and rollback over REST against the real control plane, stored in %s", (_backend, useBackend) => {
	let mesh: Mesh;
	let alice: string;
	let aliceID: string;
	let bob: string;
	let nsName: string;
	let nsId: string;
	let depId: string;
	/** The Deployment's pod template and its ReplicaSet's pod-template-hash at revision 1. */
	let first: { template: unknown; hash: string };
	const deployments = (path = "") => `${mesh.url}/api/v1/k8s/deployments${path}`;
	const revisions = async (key = alice) => request<RevisionView[]>(deployments(`/${depId}/revisions`), { key });
	const liveDeployment = async () => (await kube().get<V1Deployment & { kind?: string }>({ apiVersion: "apps/v1", kind: "Deployment", name: "web", namespace: nsName })) as V1Deployment;
	/** The ReplicaSet the Deployment rolled out last (the highest revision annotation). */
	const currentReplicaSet = async () => {
		const sets = await kube().list<V1ReplicaSet>(Kinds.ReplicaSet, { namespace: nsName, labelSelector: `berth.dev/id=${depId}` });
		return sets.sort((a, b) => Number(b.metadata?.annotations?.[REVISION] ?? 0) - Number(a.metadata?.annotations?.[REVISION] ?? 0))[0];
	};
	const envId = async (key: string) => ((await request(`${mesh.url}/api/v1/k8s/envs?namespace=${nsName}&deployment=web`, { key: alice })).body as { id: string; key: string }[]).find(e => e.key === key)?.id;

	beforeAll(async () => {
		useBackend();
		process.env.REVISIONS_KEPT = String(KEPT);
		mesh = await startMesh(SERVICES);
		const keyFor = async (userID: string) => (await request(`${mesh.url}/api/v1/keys`, { method: "POST", key: mesh.adminKey, body: { name: userID, userID } })).body.key as string;
		aliceID = uniqueName("alice");
		alice = await keyFor(aliceID);
		bob = await keyFor(uniqueName("bob"));
		nsName = uniqueName("it-revisions");
		const ns = await request(`${mesh.url}/api/v1/k8s/namespaces`, { method: "POST", key: alice, body: { name: nsName, quota: { cpu: "2", memory: "4Gi" } } });
		expect(ns.status).toBe(201);
		nsId = ns.body.id;
	});

	afterAll(async () => {
		delete process.env.REVISIONS_KEPT;
		await request(`${mesh.url}/api/v1/k8s/namespaces/${nsId}`, { method: "DELETE", key: alice });
		await mesh.stop();
	});

	it("records the create as revision 1, with who, when and the env set (secret values masked)", async () => {
		const env = [
			{ key: "GREETING", value: "hello" },
			{ key: "TOKEN", value: SECRET_1, type: "secret" },
		];
		const created = await request(deployments(), { method: "POST", key: alice, body: { name: "web", namespace: nsName, image: "nginx", env } });
		expect(created.status).toBe(201);
		depId = created.body.id;
		const list = await revisions();
		expect(list.status).toBe(200);
		expect(list.body).toEqual([expect.objectContaining({ revision: 1, deployment: depId, by: aliceID, cause: "created", changes: [], at: expect.any(String) })]);
		expect(Date.parse(list.body[0].at)).not.toBeNaN();
		expect(list.body[0].spec).toMatchObject({ imageName: "nginx" });
		expect(list.body[0].spec).not.toHaveProperty("replicas");
		expect(list.body[0].env).toEqual([
			{ key: "GREETING", type: "as-is", value: "hello" },
			{ key: "TOKEN", type: "secret", value: "********" },
		]);
		expect(list.text).not.toContain(SECRET_1);
		// The template revision 1 rolled out, as the apiserver holds it.
		first = await eventually(async () => {
			const rs = await currentReplicaSet();
			expect(rs?.metadata?.labels?.["pod-template-hash"]).toEqual(expect.any(String));
			return { template: (await liveDeployment()).spec?.template, hash: rs.metadata?.labels?.["pod-template-hash"] as string };
		});
	});

	it("records an update of the image and resources, and env changes, with a summary; a scale is not a revision", async () => {
		const updated = await request(deployments(`/${depId}`), { method: "PATCH", key: alice, body: { image: "redis", resources: { limits: { cpu: "1500m" } } } });
		expect(updated.status).toBe(200);
		const plain = await request(`${mesh.url}/api/v1/k8s/envs/${await envId("GREETING")}`, { method: "PATCH", key: alice, body: { value: "bonjour" } });
		expect(plain.status).toBe(200);
		const secret = await request(`${mesh.url}/api/v1/k8s/envs/${await envId("TOKEN")}`, { method: "PATCH", key: alice, body: { value: SECRET_2 } });
		expect(secret.status).toBe(200);
		const smaller = await request(deployments(`/${depId}`), { method: "PATCH", key: alice, body: { resources: { limits: { cpu: "500m" } } } });
		expect(smaller.status).toBe(200);
		// The quota counts the pods the cluster runs: until the rollout of the smaller limits has retired
		// the larger pods, a second replica does not fit (a 422 QUOTA_EXCEEDED), as a user would find.
		await eventually(async () => {
			const scaled = await request(deployments(`/${depId}/scale`), { method: "POST", key: alice, body: { replicas: 2 } });
			expect({ status: scaled.status, error: scaled.status === 200 ? undefined : scaled.body?.type }).toEqual({ status: 200, error: undefined });
		});

		const list = await revisions();
		expect(list.body.map(r => r.revision)).toEqual([5, 4, 3, 2, 1]);
		const [r5, r4, r3, r2] = list.body;
		expect(r2).toMatchObject({ cause: "updated", by: aliceID });
		expect(r2.changes).toEqual(expect.arrayContaining([{ field: "image", old: "nginx", new: "redis" }, { field: "resources" }]));
		expect(r3.changes).toEqual([{ field: "env.GREETING", old: "hello", new: "bonjour" }]);
		// A secret's change is named, never shown.
		expect(r4.changes).toEqual([{ field: "env.TOKEN" }]);
		expect(r5.changes).toEqual([{ field: "resources" }]);
		expect(list.text).not.toContain(SECRET_1);
		expect(list.text).not.toContain(SECRET_2);
	});

	it("refuses a rollback the quota cannot hold, and stores nothing", async () => {
		// Revision 2 asks 1500m of cpu a pod; two replicas of it do not fit into 2 cores.
		const res = await request(deployments(`/${depId}/rollback`), { method: "POST", key: alice, body: { revision: 2 } });
		expect(res.status).toBe(422);
		expect(res.body.type).toBe("QUOTA_EXCEEDED");
		expect((await revisions()).body.map(r => r.revision)).toEqual([5, 4, 3, 2, 1]);
		const dep = await request(deployments(`/${depId}`), { key: alice });
		expect(dep.body).toMatchObject({ imageName: "redis", replicas: 2, resources: { limits: { cpu: "500m" } } });
	});

	it("rolls back to revision 1: the earlier pod template exactly, the earlier env values, as a new revision", async () => {
		const res = await request(deployments(`/${depId}/rollback`), { method: "POST", key: alice, body: { revision: 1 } });
		expect(res.status).toBe(200);
		expect(res.body).toMatchObject({ revision: 6, cause: "rolledBack", rollbackOf: 1, by: aliceID });
		expect(res.body.changes).toEqual(expect.arrayContaining([{ field: "image", old: "redis", new: "nginx" }, { field: "env.GREETING", old: "bonjour", new: "hello" }, { field: "env.TOKEN" }]));
		expect(res.text).not.toContain(SECRET_1);
		const dep = await request(deployments(`/${depId}`), { key: alice });
		expect(dep.body).toMatchObject({ imageName: "nginx", replicas: 2 });
		expect(dep.body).not.toHaveProperty("resources");
		const pack = await request(`${mesh.url}/api/v1/k8s/envs/pack?namespace=${nsName}&deployment=web&reveal=true`, { key: alice });
		expect(pack.body).toEqual({ GREETING: "hello", TOKEN: SECRET_1 });
		await eventually(async () => {
			expect((await liveDeployment()).spec?.template).toEqual(first.template);
			expect((await currentReplicaSet())?.metadata?.labels?.["pod-template-hash"]).toBe(first.hash);
		});
	});

	it(`keeps the last ${KEPT} revisions: older ones are dropped and cannot be rolled back to`, async () => {
		const list = await revisions();
		expect(list.body.map(r => r.revision)).toEqual([6, 5, 4, 3, 2]);
		const gone = await request(deployments(`/${depId}/rollback`), { method: "POST", key: alice, body: { revision: 1 } });
		expect(gone.status).toBe(422);
		expect(gone.body.data).toEqual([expect.objectContaining({ field: "revision" })]);
		expect((await request(deployments(`/${depId}/rollback`), { method: "POST", key: alice, body: { revision: "latest" } })).status).toBe(422);
	});

	it("hides revisions and rollback from another tenant (404)", async () => {
		expect((await revisions(bob)).status).toBe(404);
		const res = await request(deployments(`/${depId}/rollback`), { method: "POST", key: bob, body: { revision: 3 } });
		expect(res.status).toBe(404);
		expect((await revisions()).body.map(r => r.revision)).toEqual([6, 5, 4, 3, 2]);
	});

	it("removes a deployment's revisions with it", async () => {
		expect((await request(deployments(`/${depId}`), { method: "DELETE", key: alice })).status).toBe(200);
		expect((await revisions()).status).toBe(404);
		const store = mesh.broker.getLocalService("v1.k8s.revisions") as unknown as { findRaw(q: object): Promise<unknown[]> };
		await eventually(async () => expect(await store.findRaw({ deployment: depId })).toEqual([]));
	});
});
