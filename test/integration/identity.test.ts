import { Kinds, type KubernetesObject, type V1Namespace } from "../../lib/k8s";
import { entityAnnotations, managedLabels, MANAGED_BY, MANAGED_SELECTOR } from "../../lib/manifests/labels";
import { backends as dbBackends, dropStore, useStore } from "../helpers/backends";
import { kube, uniqueName } from "../helpers/cluster";
import { eventually } from "../helpers/eventually";
import { createNamespace, keyFor, request, startMesh, type Mesh } from "../helpers/mesh";

const backends = dbBackends();
const nsRef = (name: string) => ({ apiVersion: "v1", kind: "Namespace", name });
/** Everything of Berth's a namespace could hold. */
const BERTH_KINDS = [Kinds.Deployment, Kinds.Service, Kinds.Ingress, Kinds.ConfigMap, Kinds.Secret, Kinds.ServiceAccount, Kinds.ResourceQuota, Kinds.LimitRange, Kinds.Job];

async function berthObjects(namespace: string): Promise<string[]> {
	const out: string[] = [];
	for (const kind of BERTH_KINDS) for (const o of await kube().list(kind, { namespace, labelSelector: MANAGED_SELECTOR })) out.push(`${kind.kind}/${o.metadata?.name}`);
	return out.sort();
}

/** A Deployment as Berth makes one for entity `id` (labels, annotations), or bare with `meta`. */
function deployment(name: string, namespace: string, meta: NonNullable<KubernetesObject["metadata"]>): KubernetesObject {
	const labels = { app: name };
	return { apiVersion: "apps/v1", kind: "Deployment", metadata: { name, namespace, ...meta }, spec: { replicas: 0, selector: { matchLabels: labels }, template: { metadata: { labels }, spec: { containers: [{ name: "c", image: "nginx" }] } } } } as KubernetesObject;
}

describe.each(backends)("namespace identity and orphan collection on %s against the real apiserver", (_backend, pickMongo) => {
	let mesh: Mesh;
	let alice: string;
	let uri: string | undefined;
	const made: string[] = [];
	const saved = { sweep: process.env.ORPHAN_SWEEP_SECONDS, grace: process.env.ORPHAN_GRACE_SECONDS, resync: process.env.RESYNC_SECONDS };

	beforeAll(async () => {
		uri = pickMongo();
		useStore(uri);
		// A sweep every second, and a resync: the suite sees both within seconds.
		Object.assign(process.env, { ORPHAN_SWEEP_SECONDS: "1", ORPHAN_GRACE_SECONDS: "1", RESYNC_SECONDS: "2" });
		mesh = await startMesh(["api", "keys", "k8s.namespaces", "k8s.images", "k8s.deployments", "k8s.envs", "k8s.jobs"]);
		alice = await keyFor(mesh, uniqueName("alice"));
	});
	afterAll(async () => {
		await mesh?.stop();
		for (const [key, value] of [["ORPHAN_SWEEP_SECONDS", saved.sweep], ["ORPHAN_GRACE_SECONDS", saved.grace], ["RESYNC_SECONDS", saved.resync]] as const) {
			if (value === undefined) delete process.env[key];
			else process.env[key] = value;
		}
		await Promise.all(made.map(name => kube().delete(nsRef(name)).catch(() => undefined)));
		await dropStore(uri);
	});

	const api = (path: string, init: { method?: string; body?: unknown } = {}) => request(`${mesh.url}/api/v1/k8s${path}`, { key: alice, ...init });

	it("applies nothing into a namespace deleted and made again outside Berth, and neither claims nor deletes it", async () => {
		const name = uniqueName("it-reborn");
		made.push(name);
		const ns = await createNamespace(mesh, alice, name);
		const dep = await api("/deployments", { method: "POST", body: { name: "web", namespace: name, image: "nginx", env: [{ key: "MODE", value: "x" }] } });
		expect(dep.status).toBe(201);
		expect((await berthObjects(name)).length).toBeGreaterThan(3);

		// Outside Berth: deleted (the namespace controller empties it), then made again under the same name.
		await kube().delete(nsRef(name));
		await eventually(async () => expect(await kube().get(nsRef(name))).toBeUndefined(), { timeoutMs: 60_000 });
		const theirs = await kube().create<V1Namespace>({ apiVersion: "v1", kind: "Namespace", metadata: { name, labels: { owner: "someone-else" } } });

		// Asked to apply, and resynced: the entity is orphaned, and nothing of it appears.
		const applied = await api(`/deployments/${dep.body.id}/apply`, { method: "POST" });
		expect(applied.body.status).toMatchObject({ phase: "Orphaned", conditions: expect.arrayContaining([expect.objectContaining({ type: "Applied", status: "False", reason: "NamespaceReplaced" })]) });
		await eventually(async () => expect((await api(`/deployments/${dep.body.id}`)).body.status.phase).toBe("Orphaned"));
		await new Promise(r => setTimeout(r, 3000)); // past a resync of deployments and envs
		expect(await berthObjects(name)).toEqual([]);

		// Not claimed by an update, not deleted with Berth's namespace entity.
		const update = await api(`/namespaces/${ns.id}`, { method: "PUT", body: { quota: { pods: 3 } } });
		expect({ status: update.status, type: update.body.type }).toEqual({ status: 409, type: "CONFLICT" });
		expect((await api(`/namespaces/${ns.id}`, { method: "DELETE" })).status).toBe(200);
		const after = await kube().get<V1Namespace>(nsRef(name));
		expect(after?.metadata?.uid).toBe(theirs.metadata?.uid);
		expect(after?.metadata?.deletionTimestamp).toBeUndefined();
		expect(after?.metadata?.annotations ?? {}).toEqual({});
		expect(after?.metadata?.labels).toMatchObject({ owner: "someone-else" });
		expect(after?.metadata?.labels?.["app.kubernetes.io/managed-by"]).toBeUndefined();
	});

	it("sweeps objects of Berth's whose entity is gone, and nothing else", async () => {
		const name = uniqueName("it-sweep");
		made.push(name);
		await createNamespace(mesh, alice, name);
		const kept = await api("/deployments", { method: "POST", body: { name: "kept", namespace: name, image: "nginx" } });
		expect(kept.status).toBe(201);
		const gone = uniqueName("gone");
		// What a late apply of a deleted entity leaves: Berth's labels and annotations, no entity.
		await kube().apply(deployment("late", name, { labels: managedLabels("deployment", gone, "late"), annotations: entityAnnotations("deployment", gone) }));
		await kube().apply({ apiVersion: "v1", kind: "Service", metadata: { name: "late-service", namespace: name, labels: managedLabels("deployment", gone, "late"), annotations: entityAnnotations("deployment", gone) }, spec: { ports: [{ port: 80 }] } } as KubernetesObject);
		const job = { apiVersion: "batch/v1", kind: "Job", metadata: { name: "late-job", namespace: name, labels: managedLabels("job", gone, "late-job"), annotations: entityAnnotations("job", gone) } };
		await kube().apply({ ...job, spec: { template: { spec: { restartPolicy: "Never", containers: [{ name: "c", image: "busybox" }] } } } } as KubernetesObject);
		// Not Berth's to sweep: made outside Berth, and labelled as Berth's by hand without an entity id.
		await kube().apply(deployment("external", name, {}));
		await kube().apply(deployment("hand-labelled", name, { labels: { ...MANAGED_BY, "app.kubernetes.io/component": "deployment" } }));

		await eventually(async () => {
			const names = (await kube().list(Kinds.Deployment, { namespace: name })).map(d => d.metadata?.name).sort();
			expect(names).toEqual(["external", "hand-labelled", "kept"]);
			expect(await kube().get({ apiVersion: "v1", kind: "Service", name: "late-service", namespace: name })).toBeUndefined();
			expect(await kube().get({ apiVersion: "batch/v1", kind: "Job", name: "late-job", namespace: name })).toBeUndefined();
		}, { timeoutMs: 30_000 });
		expect(await kube().get({ apiVersion: "v1", kind: "Service", name: "kept-service", namespace: name })).toBeDefined();
	});
});
