import { Kinds, type V1Namespace } from "../../lib/k8s";
import { MANAGED_SELECTOR } from "../../lib/manifests/labels";
import { request } from "../helpers/mesh";
import type { NodeProcess } from "../helpers/nodes";
import { faultRun, kube, report, sleep, startNodes, waitFor } from "./harness";

const SERVICES = "api,health,keys,k8s.namespaces,k8s.images,k8s.deployments,k8s.envs,k8s.services";
const DEPLOYS = 3;
const RESYNC_S = 2;
/** Everything of Berth's a namespace could hold. */
const KINDS = [Kinds.Deployment, Kinds.Service, Kinds.Ingress, Kinds.ConfigMap, Kinds.Secret, Kinds.ServiceAccount, Kinds.ResourceQuota, Kinds.LimitRange, Kinds.PersistentVolumeClaim];
/** A service spec in the KITeGG seed's format, with a claim (test/helpers/seed-spec.ts, without the GPU). */
const SPEC = "containers:\n  - name: web\n    image: nginx\n    ports:\n      - name: default\n        port: 80\n    volumeMounts:\n      - name: data\n        mountPath: /data\nvolumes:\n  - name: data\n    size: 1Gi\n";

/**
 * One node, on each store. A Berth namespace with deployments (and their envs) and a deployed
 * service spec is deleted outside Berth (the apiserver's namespace controller empties it) and made
 * again outside Berth under the same name; the resync runs, and an apply is asked for. Nothing of
 * the old entities may appear in the new namespace (each is marked orphaned instead), and Berth may
 * neither claim it (update: 409) nor delete it (removing Berth's namespace entity leaves it).
 */
describe.each([
	["FerretDB", (uri: string) => uri],
	["NeDB", () => ""],
])("namespace recreated under the same name (%s)", (backend, storeOf) => {
	const { run, key, uri, namespace } = faultRun(`faults-reborn-${backend === "NeDB" ? "n" : "f"}`);
	let nodes: { node: NodeProcess; url: string }[] = [];

	beforeAll(async () => {
		nodes = await startNodes(run, key, { SERVICES, MONGO_URI: storeOf(uri), RESYNC_SECONDS: String(RESYNC_S) }, [{}]);
	});

	afterAll(async () => {
		await Promise.all(nodes.map(n => n.node.kill("SIGKILL")));
		await kube().delete({ apiVersion: "v1", kind: "Namespace", name: namespace }).catch(() => undefined);
	});

	it("applies nothing into it, and neither claims nor deletes it", async () => {
		const api = (path: string, method = "GET", body?: unknown) => request(`${nodes[0].url}/api/v1/k8s/${path}`, { method, key, body });
		const ns = await api("namespaces", "POST", { name: namespace, quota: { cpu: "8", memory: "8Gi", pods: 30 } });
		expect(ns.status).toBe(201);
		const ids: string[] = [];
		for (let i = 0; i < DEPLOYS; i++) {
			const res = await api("deployments", "POST", { name: `web-${i}`, namespace, image: "nginx", env: [{ key: "MODE", value: String(i) }] });
			expect(res.status).toBe(201);
			ids.push(res.body.id);
		}
		const spec = await api("services", "POST", { name: "spec", namespace, deployment: SPEC, exposed_service: "web", exposed_port: 80 });
		expect(spec.status).toBe(201);
		expect((await api(`services/${spec.body.id}/deploy`, "POST")).status).toBe(200);

		// Recovered once every entity says it is orphaned (nothing of it applied any more).
		const orphaned = async () => {
			const deployments = (await Promise.all(ids.map(id => api(`deployments/${id}`)))).filter(r => r.body?.status?.phase === "Orphaned").length;
			const specs = (await api(`services/${spec.body.id}`)).body?.orphaned ? 1 : 0;
			return deployments + specs;
		};
		// Outside Berth: deleted (the namespace controller empties it), then made again under the same name.
		const deletedAt = Date.now();
		await kube().delete({ apiVersion: "v1", kind: "Namespace", name: namespace });
		let orphanedAt = 0;
		await waitFor(
			async () => {
				if (!orphanedAt && (await orphaned()) === DEPLOYS + 1) orphanedAt = Date.now();
				return !(await kube().get({ apiVersion: "v1", kind: "Namespace", name: namespace }));
			},
			"the namespace controller to delete it",
			90_000,
			250,
		);
		const theirs = await kube().create<V1Namespace>({ apiVersion: "v1", kind: "Namespace", metadata: { name: namespace, labels: { owner: "someone-else" } } });
		// An apply asked for, on top of the resync.
		await api(`deployments/${ids[0]}/apply`, "POST");
		let marked = await orphaned();
		while (marked < DEPLOYS + 1 && Date.now() < deletedAt + 120_000) {
			await sleep(250);
			marked = await orphaned();
		}
		const recoveryMs = (orphanedAt || Date.now()) - deletedAt;
		await sleep(2 * RESYNC_S * 1000); // two more resyncs of every controller
		const appeared: string[] = [];
		for (const kind of KINDS) for (const o of await kube().list(kind, { namespace, labelSelector: MANAGED_SELECTOR })) appeared.push(`${kind.kind}/${o.metadata?.name}`);

		const update = await api(`namespaces/${ns.body.id}`, "PUT", { quota: { pods: 5 } });
		const remove = await api(`namespaces/${ns.body.id}`, "DELETE");
		await sleep(1_000);
		const after = await kube().get<V1Namespace>({ apiVersion: "v1", kind: "Namespace", name: namespace });
		const claimed = Boolean(after?.metadata?.annotations?.["berth.dev/id"] || after?.metadata?.labels?.["app.kubernetes.io/managed-by"]);
		const deleted = !after || after.metadata?.uid !== theirs.metadata?.uid || Boolean(after.metadata?.deletionTimestamp);
		const lost = DEPLOYS + 1 - marked;
		const duplicated = appeared.length + (claimed ? 1 : 0) + (deleted ? 1 : 0);
		report({ scenario: `namespace recreated under the same name (${backend})`, recoveryMs, lost, duplicated, detail: { entities: DEPLOYS + 1, orphaned: marked, appeared, update: update.status, remove: remove.status, claimed, deleted } });
		expect({ appeared, claimed, deleted, update: update.status, remove: remove.status }).toEqual({ appeared: [], claimed: false, deleted: false, update: 409, remove: 200 });
		expect({ lost, duplicated }).toEqual({ lost: 0, duplicated: 0 });
	});
});
