import { Kinds, type KubernetesObject, type V1Deployment, type V1Job, type V1PersistentVolumeClaim, type V1Pod } from "../../lib/k8s";
import { eventually } from "../helpers/eventually";
import { kube, uniqueName } from "../helpers/cluster";
import { request, startMesh, type Mesh } from "../helpers/mesh";

describe("the local control plane through lib/k8s", () => {
	const namespace = uniqueName("it-foundation");

	beforeAll(async () => {
		await kube().apply({ apiVersion: "v1", kind: "Namespace", metadata: { name: namespace } });
	});
	afterAll(async () => {
		await kube().delete({ apiVersion: "v1", kind: "Namespace", name: namespace });
	});

	/** Applies `obj` in the suite's namespace, then reads it back until `check` passes; answers what it read last. */
	async function applyUntil<T extends KubernetesObject>(obj: T, check: (live: T | undefined) => void): Promise<T | undefined> {
		const metadata = { ...obj.metadata, namespace };
		await kube().apply<T>({ ...obj, metadata });
		return eventually(async () => {
			const live = await kube().get<T>({ apiVersion: obj.apiVersion as string, kind: obj.kind as string, name: metadata.name as string, namespace });
			check(live);
			return live;
		});
	}

	it("reports the apiserver's version", async () => {
		const version = await kube().version();
		console.log(`kube-apiserver version: ${version}`);
		expect(version).toMatch(/^v1\.36\./);
	});

	it("brings a Deployment's pods to Ready", async () => {
		const name = uniqueName("web");
		const labels = { app: name };
		const deployment: V1Deployment = {
			apiVersion: "apps/v1",
			kind: "Deployment",
			metadata: { name },
			spec: { replicas: 2, selector: { matchLabels: labels }, template: { metadata: { labels }, spec: { containers: [{ name: "web", image: "nginx:1.27" }] } } },
		};
		const dep = await applyUntil(deployment, d => expect(d?.status?.readyReplicas).toBe(2));
		expect(dep?.status?.availableReplicas).toBe(2);
	});

	it("completes a Job", async () => {
		const name = uniqueName("job");
		const once: V1Job = {
			apiVersion: "batch/v1",
			kind: "Job",
			metadata: { name },
			spec: { backoffLimit: 0, template: { spec: { restartPolicy: "Never", containers: [{ name: "run", image: "busybox:1.36", command: ["sh", "-c", "echo done"] }] } } },
		};
		const job = await applyUntil(once, j => expect(j?.status?.conditions?.find(c => c.type === "Complete")?.status).toBe("True"));
		expect(job?.status?.succeeded).toBe(1);
	});

	it("binds a PersistentVolumeClaim", async () => {
		const name = uniqueName("data");
		const claim: V1PersistentVolumeClaim = {
			apiVersion: "v1",
			kind: "PersistentVolumeClaim",
			metadata: { name },
			spec: { accessModes: ["ReadWriteOnce"], resources: { requests: { storage: "1Gi" } } },
		};
		await applyUntil(claim, pvc => expect(pvc?.status?.phase).toBe("Bound"));
	});

	it("reads pod logs through the apiserver", async () => {
		const pods = await eventually(async () => {
			const list = await kube().list<V1Pod>(Kinds.Pod, { namespace });
			const running = list.filter(p => p.status?.phase === "Running");
			expect(running.length).toBeGreaterThan(0);
			return running;
		});
		const logs = await eventually(async () => {
			const text = await kube().podLogs(namespace, pods[0].metadata!.name!, { limitBytes: 1 << 20 });
			expect(text.length).toBeGreaterThan(0);
			return text;
		});
		expect(logs).toContain("berth");
	});

	it("maps a missing object to undefined and an invalid one to a 422 with the field", async () => {
		expect(await kube().get({ apiVersion: "v1", kind: "ConfigMap", name: "does-not-exist", namespace })).toBeUndefined();
		await expect(kube().apply({ apiVersion: "v1", kind: "ConfigMap", metadata: { name: "Not_A_Valid_Name", namespace } })).rejects.toMatchObject({ code: 422 });
	});
});

describe("health through the gateway", () => {
	let mesh: Mesh;
	beforeAll(async () => {
		mesh = await startMesh(["api", "health", "keys"]);
	});
	afterAll(() => mesh.stop());

	it("answers GET / with the orchestrate seed's shape", async () => {
		const res = await request(`${mesh.url}/`);
		expect(res.status).toBe(200);
		expect(res.body).toEqual({ status: "alive" });
	});

	it("is live and ready against the real cluster", async () => {
		expect((await request(`${mesh.url}/health/live`)).status).toBe(200);
		const ready = await request(`${mesh.url}/health/ready`, { key: mesh.adminKey });
		expect(ready.status).toBe(200);
		expect(ready.body).toMatchObject({ status: "ready", failing: [], checks: { services: { ok: true }, cluster: { ok: true }, db: { ok: true }, transporter: { ok: true } } });
	});

	it("serves (a Service's readiness probe) on its own checks, naming any that fail, without the apiserver's", async () => {
		const serving = await request(`${mesh.url}/health/serving`);
		expect({ status: serving.status, body: serving.body }).toEqual({ status: 200, body: { status: "ready", failing: [] } });
	});

	it("answers unknown routes with a JSON 404", async () => {
		const res = await request(`${mesh.url}/api/nothing-here`, { key: mesh.adminKey });
		expect(res.status).toBe(404);
		expect(res.body).toMatchObject({ name: expect.any(String), code: 404, type: "NOT_FOUND" });
	});
});
