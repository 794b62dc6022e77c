import { Kinds, type V1CronJob, type V1Job, type V1Pod } from "../../lib/k8s";
import { JOB_CONTAINER, jobPodSelector } from "../../lib/manifests/job";
import { backends as dbBackends, dropStore, useStore } from "../helpers/backends";
import { kube, uniqueName } from "../helpers/cluster";
import { eventually } from "../helpers/eventually";
import { keyFor, request, startMesh, type Mesh } from "../helpers/mesh";

const backends = dbBackends("berth_it_cronjobs");

interface Run {
	id: string;
	name: string;
	trigger: string;
	phase: string;
	logsCapturedAt?: string;
}

/** The log text the cluster serves for a Job's pod, read straight from the apiserver. */
async function clusterLogs(namespace: string, job: string): Promise<string> {
	const pods = await kube().list<V1Pod>(Kinds.Pod, { namespace, labelSelector: jobPodSelector(job) });
	expect(pods).toHaveLength(1);
	return kube().podLogs(namespace, pods[0].metadata!.name!, { container: JOB_CONTAINER, limitBytes: 1024 * 1024 });
}

describe.each(backends)("cronjobs against the real control plane, stored in %s", (_backend, pickMongo) => {
	let mesh: Mesh;
	let alice: string;
	let bob: string;
	let ns: { id: string; name: string };
	let uri: string | undefined;
	const readCron = (name: string) => kube().get<V1CronJob>({ apiVersion: "batch/v1", kind: "CronJob", name, namespace: ns.name });
	const runsOf = async (id: string, key = alice) => {
		const res = await request(`${mesh.url}/api/v1/k8s/cronjobs/${id}/runs`, { key });
		expect(res.status).toBe(200);
		return res.body as Run[];
	};

	beforeAll(async () => {
		uri = pickMongo();
		useStore(uri);
		mesh = await startMesh(["api", "keys", "k8s.namespaces", "k8s.jobs", "k8s.cronjobs"]);
		alice = await keyFor(mesh, uniqueName("alice"));
		bob = await keyFor(mesh, uniqueName("bob"));
		const created = await request(`${mesh.url}/api/v1/k8s/namespaces`, { method: "POST", key: alice, body: { name: uniqueName("it-cron") } });
		expect(created.status).toBe(201);
		ns = created.body;
	});

	afterAll(async () => {
		await request(`${mesh.url}/api/v1/k8s/namespaces/${ns.id}`, { method: "DELETE", key: alice });
		await mesh.stop();
		await dropStore(uri);
	});

	it("runs every minute under the cluster's CronJob controller, keeps each run's logs; trigger runs at once", async () => {
		const res = await request(`${mesh.url}/api/v1/k8s/cronjobs`, {
			method: "POST",
			key: alice,
			body: { namespace: ns.name, command: ["python3", "-c", "print('tick')"], schedule: "* * * * *", timeZone: "UTC", timeoutSeconds: 120 },
		});
		expect(res.status).toBe(201);
		const cron = res.body as { id: string; name: string; suspend: boolean; concurrencyPolicy: string };
		expect(res.headers.get("location")).toBe(`/api/v1/k8s/cronjobs/${cron.id}`);
		expect(cron).toMatchObject({ schedule: "* * * * *", timeZone: "UTC", suspend: false, concurrencyPolicy: "Forbid", namespace: ns.id, namespaceName: ns.name });

		// The CronJob as applied: the schedule, and a job's safety defaults on its runs.
		const live = (await readCron(cron.name))!;
		expect(live.spec).toMatchObject({ schedule: "* * * * *", timeZone: "UTC", suspend: false, concurrencyPolicy: "Forbid" });
		const jobSpec = live.spec!.jobTemplate.spec!;
		expect(jobSpec).toMatchObject({ activeDeadlineSeconds: 120, backoffLimit: 0, ttlSecondsAfterFinished: 3600 });
		expect(jobSpec.template.spec!.automountServiceAccountToken).toBe(false);
		expect(jobSpec.template.spec!.containers[0].securityContext).toMatchObject({ allowPrivilegeEscalation: false });

		// A trigger makes a run now: the jobTemplate's Job, owned by the CronJob, recorded as manual.
		const trig = await request(`${mesh.url}/api/v1/k8s/cronjobs/${cron.id}/trigger`, { method: "POST", key: alice });
		expect(trig.status).toBe(201);
		expect(trig.body).toMatchObject({ cronJob: cron.id, trigger: "manual" });
		const manual = (await kube().get<V1Job>({ apiVersion: "batch/v1", kind: "Job", name: trig.body.name, namespace: ns.name }))!;
		expect(manual.metadata!.ownerReferences).toEqual([expect.objectContaining({ kind: "CronJob", name: cron.name })]);
		expect(manual.spec!.activeDeadlineSeconds).toBe(120);

		// On the minute the controller makes a Job; kwok runs it; its logs are kept as a job's are.
		const scheduled = await eventually(
			async () => {
				const run = (await runsOf(cron.id)).find(r => r.trigger === "schedule");
				expect(run).toMatchObject({ phase: "Complete", logsCapturedAt: expect.any(String) });
				return run!;
			},
			{ timeoutMs: 150_000, intervalMs: 1000 },
		);
		const served = await clusterLogs(ns.name, scheduled.name);
		const logs = await request(`${mesh.url}/api/v1/k8s/cronjobs/${cron.id}/runs/${scheduled.name}/logs`, { key: alice });
		expect(logs.status).toBe(200);
		expect(logs.headers.get("content-type")).toMatch(/^text\/plain/);
		expect(logs.text).toBe(served);
		expect(logs.text.length).toBeGreaterThan(0);

		// The manual run finished too; the record says so.
		await eventually(async () => expect((await runsOf(cron.id)).find(r => r.name === trig.body.name)).toMatchObject({ phase: "Complete", logsCapturedAt: expect.any(String) }));
		// The status from the CronJob is recorded on the entity.
		await eventually(async () => expect((await request(`${mesh.url}/api/v1/k8s/cronjobs/${cron.id}`, { key: alice })).body.lastScheduleTime).toEqual(expect.any(String)));

		// Suspend and resume flip spec.suspend in the cluster.
		const suspended = await request(`${mesh.url}/api/v1/k8s/cronjobs/${cron.id}/suspend`, { method: "POST", key: alice });
		expect(suspended.status).toBe(200);
		expect(suspended.body.suspend).toBe(true);
		expect((await readCron(cron.name))!.spec!.suspend).toBe(true);
		const resumed = await request(`${mesh.url}/api/v1/k8s/cronjobs/${cron.id}/resume`, { method: "POST", key: alice });
		expect(resumed.body.suspend).toBe(false);
		expect((await readCron(cron.name))!.spec!.suspend).toBe(false);

		// Another tenant sees nothing of it: every route is a 404, and its list is empty.
		for (const [method, path] of [
			["GET", ""],
			["GET", "/runs"],
			["GET", `/runs/${scheduled.name}/logs`],
			["POST", "/suspend"],
			["POST", "/resume"],
			["POST", "/trigger"],
			["DELETE", ""],
		]) {
			const other = await request(`${mesh.url}/api/v1/k8s/cronjobs/${cron.id}${path}`, { method, key: bob });
			expect([`${method} ${path}`, other.status]).toEqual([`${method} ${path}`, 404]);
		}
		expect((await request(`${mesh.url}/api/v1/k8s/cronjobs`, { key: bob })).body).toEqual([]);
		expect(((await request(`${mesh.url}/api/v1/k8s/cronjobs`, { key: alice })).body as { id: string }[]).map(c => c.id)).toEqual([cron.id]);
		// A run's record is not a cronjob.
		expect((await request(`${mesh.url}/api/v1/k8s/cronjobs/${scheduled.id}`, { key: alice })).status).toBe(404);

		// Removed: the CronJob goes, and its record and runs with it.
		const removed = await request(`${mesh.url}/api/v1/k8s/cronjobs/${cron.id}`, { method: "DELETE", key: alice });
		expect(removed.status).toBe(200);
		await eventually(async () => expect(await readCron(cron.name)).toBeUndefined());
		expect((await request(`${mesh.url}/api/v1/k8s/cronjobs/${cron.id}`, { key: alice })).status).toBe(404);
	});

	it("refuses a bad schedule or time zone with a 422 naming it, and a schedule on a job", async () => {
		const base = { namespace: ns.name, cmd: "true" };
		for (const [body, field] of [
			[{ ...base, schedule: "61 * * * *" }, "schedule"],
			[{ ...base, schedule: "* * * *" }, "schedule"],
			[{ ...base, schedule: "@sometimes" }, "schedule"],
			[{ ...base, schedule: "* * * * *", timeZone: "Mars/Olympus" }, "timeZone"],
			[{ ...base, schedule: "* * * * *", timeZone: "+02:00" }, "timeZone"],
			[{ ...base }, "schedule"],
			[{ ...base, schedule: "* * * * *", scheduel: "x" }, "scheduel"],
		] as const) {
			const res = await request(`${mesh.url}/api/v1/k8s/cronjobs`, { method: "POST", key: alice, body });
			expect([body, res.status, res.body.type]).toEqual([body, 422, "VALIDATION_ERROR"]);
			expect(res.body.data.map((d: { field: string }) => d.field)).toContain(field);
		}
		// A schedule never runs at once: POST /jobs with one is refused, pointing at /cronjobs, and nothing runs.
		// (v1.k8s.jobs' own Jobs: the last test's runs may still be going with their CronJob.)
		const jobsHere = async () => (await kube().list(Kinds.Job, { namespace: ns.name, labelSelector: "app.kubernetes.io/component=job" })).length;
		const before = await jobsHere();
		const job = await request(`${mesh.url}/api/v1/k8s/jobs`, { method: "POST", key: alice, body: { ...base, schedule: "* * * * *" } });
		expect(job.status).toBe(422);
		expect(job.body.data).toEqual([expect.objectContaining({ field: "schedule", message: expect.stringContaining("/api/v1/k8s/cronjobs") })]);
		expect(await jobsHere()).toBe(before);
		// Nothing was made for any of them.
		expect((await request(`${mesh.url}/api/v1/k8s/cronjobs`, { key: alice })).body).toEqual([]);
		// In another tenant's namespace: the namespace is not found.
		const other = await request(`${mesh.url}/api/v1/k8s/cronjobs`, { method: "POST", key: bob, body: { ...base, schedule: "@hourly" } });
		expect(other.status).toBe(404);
	});
});
