import type { Context } from "moleculer";
import { Kinds, type V1Job, type V1Pod } from "../../lib/k8s";
import { JOB_CONTAINER, jobPodSelector } from "../../lib/manifests/job";
import { kube, uniqueName } from "../helpers/cluster";
import { backends as dbBackends, dropStore, useStore } from "../helpers/backends";
import { eventually } from "../helpers/eventually";
import { keyFor, request, startMesh, type Mesh } from "../helpers/mesh";

/** The seed's own example command. */
const SEED_CMD = 'python3 -c "import this"';
const STATUS_KEYS = ["active", "completed_indexes", "completion_time", "conditions", "failed", "ready", "start_time", "succeeded", "uncounted_terminated_pods"];
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const PY_TIME = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{6})?\+00:00$/;

const backends = dbBackends("berth_it_jobs");

/** The log text the cluster serves for a Job's pod, read straight from the apiserver. */
async function clusterLogs(namespace: string, job: string): Promise<string> {
	const pods = await kube().list<V1Pod>(Kinds.Pod, { namespace, labelSelector: jobPodSelector(job) });
	expect(pods).toHaveLength(1);
	return kube().podLogs(namespace, pods[0].metadata!.name!, { container: JOB_CONTAINER, limitBytes: 1 << 20 });
}

/** Deletes a Job and its pods and waits until the apiserver has neither. */
async function deleteJobAndPods(namespace: string, job: string): Promise<void> {
	await kube().delete({ apiVersion: "batch/v1", kind: "Job", name: job, namespace });
	for (const pod of await kube().list<V1Pod>(Kinds.Pod, { namespace, labelSelector: jobPodSelector(job) })) await kube().delete({ apiVersion: "v1", kind: "Pod", name: pod.metadata!.name!, namespace });
	await eventually(async () => {
		expect(await kube().get({ apiVersion: "batch/v1", kind: "Job", name: job, namespace })).toBeUndefined();
		expect(await kube().list(Kinds.Pod, { namespace, labelSelector: jobPodSelector(job) })).toEqual([]);
	});
}

describe.each(backends)("jobs against the real control plane, stored in %s", (_backend, pickMongo) => {
	const compatNs = uniqueName("it-orch");
	const events: { event: string; id: string; phase: string }[] = [];
	let mesh: Mesh;
	let alice: string;
	let bob: string;
	let ns: { id: string; name: string };
	let uri: string | undefined;

	beforeAll(async () => {
		uri = pickMongo();
		useStore(uri);
		process.env.JOBS_COMPAT_NAMESPACE = compatNs;
		mesh = await startMesh(["api", "keys", "k8s.namespaces", "k8s.jobs"]);
		mesh.broker.createService({
			name: "jobs-listener",
			events: {
				"k8s.jobs.*"(ctx: Context<{ id: string; phase: string }>) {
					events.push({ event: String(ctx.eventName), id: ctx.params.id, phase: ctx.params.phase });
				},
			},
		});
		alice = await keyFor(mesh, uniqueName("alice"));
		bob = await keyFor(mesh, uniqueName("bob"));
		const created = await request(`${mesh.url}/api/v1/k8s/namespaces`, { method: "POST", key: alice, body: { name: uniqueName("it-jobs") } });
		expect(created.status).toBe(201);
		ns = created.body;
	});

	afterAll(async () => {
		// Removing the namespaces removes their jobs' entities too (k8s.namespaces.removed).
		await request(`${mesh.url}/api/v1/k8s/namespaces/${ns.id}`, { method: "DELETE", key: alice });
		const compat = await mesh.broker.call<{ id: string }, object>("v1.k8s.namespaces.resolveName", { name: compatNs }).catch(() => undefined);
		if (compat) await request(`${mesh.url}/api/v1/k8s/namespaces/${compat.id}`, { method: "DELETE", key: mesh.adminKey });
		await mesh.stop();
		await dropStore(uri);
	});

	it("runs the seed's curl flow, and serves the logs after the Job and its pod are gone", async () => {
		// curl -X POST -d '{"cmd": ...}' /jobs
		const created = await request(`${mesh.url}/jobs`, { method: "POST", key: alice, body: { cmd: SEED_CMD } });
		expect(created.status).toBe(200);
		expect(created.body).toMatchObject({ api_version: "batch/v1", kind: "Job", metadata: { namespace: compatNs, name: expect.stringMatching(UUID), creation_timestamp: expect.stringMatching(PY_TIME) } });
		expect(Object.keys(created.body)).toEqual(["api_version", "kind", "metadata", "spec", "status"]);
		expect(created.body.spec.template.spec.containers[0]).toMatchObject({ command: ["sh", "-c", SEED_CMD], image: "python:3.12-slim" });
		const job = created.body.metadata.name as string;

		// The Job in the cluster is the one described.
		const live = await kube().get<V1Job>({ apiVersion: "batch/v1", kind: "Job", name: job, namespace: compatNs });
		expect(live?.metadata?.uid).toBe(created.body.metadata.uid);

		// curl /jobs: the row turns Complete once the watch has seen it finish.
		const row = await eventually(async () => {
			const list = await request(`${mesh.url}/jobs`, { key: alice });
			expect(list.status).toBe(200);
			const found = (list.body as { job: string; succeeded: number }[]).find(r => r.job === job);
			expect(found).toMatchObject({ succeeded: 1, conditions: expect.arrayContaining([expect.objectContaining({ type: "Complete", status: "True" })]) });
			return found as Record<string, unknown>;
		});
		expect(Object.keys(row)).toEqual(["job", ...STATUS_KEYS]);
		expect(row.completion_time).toMatch(PY_TIME);
		expect(row.start_time).toMatch(PY_TIME);

		// curl /jobs/$JOB
		const detail = await request(`${mesh.url}/jobs/${job}`, { key: alice });
		expect(detail.status).toBe(200);
		expect(detail.body).toMatchObject({ kind: "Job", metadata: { name: job, namespace: compatNs, cluster_name: null, managed_fields: expect.any(Array) }, status: { succeeded: 1 } });

		// curl /jobs/$JOB/status
		const status = await request(`${mesh.url}/jobs/${job}/status`, { key: alice });
		expect(status.status).toBe(200);
		expect(Object.keys(status.body)).toEqual(STATUS_KEYS);
		expect(status.body).toMatchObject({ succeeded: 1, active: null, conditions: expect.arrayContaining([expect.objectContaining({ type: "Complete", status: "True", last_transition_time: expect.stringMatching(PY_TIME) })]) });

		// curl /jobs/$JOB/logs: text/plain, exactly what the cluster serves for the pod.
		const served = await clusterLogs(compatNs, job);
		expect(served).toContain("berth simulated log line");
		const logs = await request(`${mesh.url}/jobs/${job}/logs`, { key: alice });
		expect(logs.status).toBe(200);
		expect(logs.headers.get("content-type")).toMatch(/^text\/plain/);
		expect(logs.text).toBe(served);

		// The Job and its pod are deleted; logs, status, detail and the list row remain.
		await deleteJobAndPods(compatNs, job);
		const after = await request(`${mesh.url}/jobs/${job}/logs`, { key: alice });
		expect(after.status).toBe(200);
		expect(after.text).toBe(served);
		expect((await request(`${mesh.url}/jobs/${job}/status`, { key: alice })).body).toEqual(status.body);
		expect((await request(`${mesh.url}/jobs/${job}`, { key: alice })).body).toMatchObject({ metadata: { name: job }, status: { succeeded: 1 } });
		expect(((await request(`${mesh.url}/jobs`, { key: alice })).body as { job: string }[]).map(r => r.job)).toContain(job);
	});

	it("runs a job in the caller's namespace through /api/v1/k8s/jobs, safely, and announces its completion", async () => {
		const res = await request(`${mesh.url}/api/v1/k8s/jobs`, {
			method: "POST",
			key: alice,
			body: { command: ["python3", "-c", "print('hi')"], namespace: ns.name, env: { GREETING: "hi" }, timeoutSeconds: 120, ttlSecondsAfterFinished: 600 },
		});
		expect(res.status).toBe(201);
		const job = res.body as { id: string; name: string; namespace: string; phase: string };
		expect(res.headers.get("location")).toBe(`/api/v1/k8s/jobs/${job.id}`);
		expect(job).toMatchObject({ name: expect.stringMatching(UUID), namespace: ns.id, namespaceName: ns.name, phase: "Pending" });

		const live = (await kube().get<V1Job>({ apiVersion: "batch/v1", kind: "Job", name: job.name, namespace: ns.name }))!;
		expect(live.spec).toMatchObject({ activeDeadlineSeconds: 120, backoffLimit: 0, ttlSecondsAfterFinished: 600 });
		const pod = live.spec!.template.spec!;
		expect(pod.automountServiceAccountToken).toBe(false);
		expect(pod.containers[0]).toMatchObject({
			command: ["python3", "-c", "print('hi')"],
			env: [{ name: "GREETING", value: "hi" }],
			resources: { requests: { cpu: "100m", memory: "128Mi" }, limits: { cpu: "500m", memory: "512Mi" } },
			securityContext: { allowPrivilegeEscalation: false },
		});

		await eventually(async () => {
			const status = await request(`${mesh.url}/api/v1/k8s/jobs/${job.id}/status`, { key: alice });
			expect(status.body).toMatchObject({ phase: "Complete", succeeded: 1, finishedAt: expect.any(String) });
		});
		await eventually(() => expect(events.filter(e => e.id === job.id)).toEqual([{ event: "k8s.jobs.completed", id: job.id, phase: "Complete" }]));

		const logs = await request(`${mesh.url}/api/v1/k8s/jobs/${job.id}/logs`, { key: alice });
		expect(logs.headers.get("content-type")).toMatch(/^text\/plain/);
		expect(logs.text).toBe(await clusterLogs(ns.name, job.name));

		const list = await request(`${mesh.url}/api/v1/k8s/jobs?namespace=${ns.name}`, { key: alice });
		expect((list.body as { id: string }[]).map(j => j.id)).toContain(job.id);
		expect((await request(`${mesh.url}/api/v1/k8s/jobs/${job.id}`, { key: alice })).body).toMatchObject({ id: job.id, phase: "Complete" });

		const removed = await request(`${mesh.url}/api/v1/k8s/jobs/${job.id}`, { method: "DELETE", key: alice });
		expect(removed.status).toBe(200);
		await eventually(async () => expect(await kube().get({ apiVersion: "batch/v1", kind: "Job", name: job.name, namespace: ns.name })).toBeUndefined());
		expect((await request(`${mesh.url}/api/v1/k8s/jobs/${job.id}`, { key: alice })).status).toBe(404);
	});

	it("refuses an empty cmd, both cmd and command, and a huge cmd with 422 naming the field", async () => {
		const before = (await kube().list(Kinds.Job, { namespace: ns.name })).length;
		const cases: [string, Record<string, unknown>, string[]][] = [
			["/jobs", { cmd: "" }, ["cmd"]],
			["/jobs", { cmd: "   " }, ["cmd"]],
			["/jobs", { cmd: "echo a", command: ["echo", "a"] }, ["cmd", "command"]],
			["/jobs", { cmd: "x".repeat(64 * 1024 + 1) }, ["cmd"]],
			["/api/v1/k8s/jobs", { cmd: "", namespace: ns.name }, ["cmd"]],
			["/api/v1/k8s/jobs", { cmd: "echo a", command: ["echo", "a"], namespace: ns.name }, ["cmd", "command"]],
			["/api/v1/k8s/jobs", { cmd: "x".repeat(64 * 1024 + 1), namespace: ns.name }, ["cmd"]],
			["/api/v1/k8s/jobs", { namespace: ns.name }, ["cmd"]],
		];
		for (const [path, body, fields] of cases) {
			const res = await request(`${mesh.url}${path}`, { method: "POST", key: alice, body });
			expect({ path, status: res.status, type: res.body?.type }).toEqual({ path, status: 422, type: "VALIDATION_ERROR" });
			expect((res.body.data as { field: string }[]).map(f => f.field)).toEqual(fields);
		}
		expect((await kube().list(Kinds.Job, { namespace: ns.name })).length).toBe(before);
	});

	it("answers 404 for another tenant's jobs and namespaces, on both APIs", async () => {
		const mine = await request(`${mesh.url}/api/v1/k8s/jobs`, { method: "POST", key: alice, body: { cmd: "echo mine", namespace: ns.id } });
		const compat = await request(`${mesh.url}/jobs`, { method: "POST", key: alice, body: { cmd: "echo mine too" } });
		expect([mine.status, compat.status]).toEqual([201, 200]);
		const id = mine.body.id as string;
		const name = compat.body.metadata.name as string;

		for (const path of [`/api/v1/k8s/jobs/${id}`, `/api/v1/k8s/jobs/${id}/status`, `/api/v1/k8s/jobs/${id}/logs`, `/jobs/${name}`, `/jobs/${name}/status`, `/jobs/${name}/logs`]) {
			const res = await request(`${mesh.url}${path}`, { key: bob });
			expect({ path, status: res.status, type: res.body?.type }).toEqual({ path, status: 404, type: "NOT_FOUND" });
		}
		expect((await request(`${mesh.url}/api/v1/k8s/jobs/${id}`, { method: "DELETE", key: bob })).status).toBe(404);
		expect((await request(`${mesh.url}/api/v1/k8s/jobs`, { method: "POST", key: bob, body: { cmd: "true", namespace: ns.name } })).status).toBe(404);
		expect(((await request(`${mesh.url}/jobs`, { key: bob })).body as { job: string }[]).map(r => r.job)).not.toContain(name);
		expect(((await request(`${mesh.url}/api/v1/k8s/jobs`, { key: bob })).body as { id: string }[]).map(j => j.id)).not.toContain(id);

		// Alice's job is untouched by Bob's attempts.
		expect((await request(`${mesh.url}/api/v1/k8s/jobs/${id}`, { key: alice })).status).toBe(200);
		expect(await kube().get({ apiVersion: "batch/v1", kind: "Job", name: mine.body.name, namespace: ns.name })).toBeDefined();
	});
});
