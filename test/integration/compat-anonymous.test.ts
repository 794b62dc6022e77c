import { execFile } from "node:child_process";
import { uniqueName } from "../helpers/cluster";
import { eventually } from "../helpers/eventually";
import { request, startMesh, type Mesh } from "../helpers/mesh";
import { appsEnvironment, keyFor, setEnv } from "./applications.fixtures";

/**
 * COMPAT_ANONYMOUS_USER (issue #20): the seeds' clients send no key. With it set, the seeds' root
 * routes act as that user; unset, they need a key as before (binder's public launch and status excepted).
 */
const SERVICES = ["api", "health", "keys", "k8s.namespaces", "k8s.images", "k8s.jobs", "k8s.applications", "k8s.services"];
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** One line of the seed's transcript, run by bash with real curl. */
function sh(command: string, env: Record<string, string>): Promise<string> {
	return new Promise((resolve, reject) =>
		execFile("bash", ["-c", command], { env: { ...process.env, ...env }, timeout: 30_000 }, (err, stdout, stderr) => (err ? reject(Object.assign(err, { stderr })) : resolve(stdout))),
	);
}

/** A mesh with the variables set, its own jobs and applications namespaces; `stop()` cleans both up. */
async function meshWith(vars: Record<string, string | undefined>): Promise<{ mesh: Mesh; jobsNs: string; stop(): Promise<void> }> {
	const jobsNs = uniqueName("it-anon-orch");
	const apps = appsEnvironment({ namespace: uniqueName("it-anon-apps"), vars: { DATA_DIR: ":memory:", JOBS_COMPAT_NAMESPACE: jobsNs, ...vars } });
	const mesh = await startMesh(SERVICES);
	return {
		mesh,
		jobsNs,
		async stop() {
			const compat = await mesh.broker.call<{ id: string }, object>("v1.k8s.namespaces.resolveName", { name: jobsNs }).catch(() => undefined);
			if (compat) await request(`${mesh.url}/api/v1/k8s/namespaces/${compat.id}`, { method: "DELETE", key: mesh.adminKey });
			await mesh.stop();
			await apps.undo();
		},
	};
}

describe("COMPAT_ANONYMOUS_USER set: the seeds' root routes without a key", () => {
	const anonymousUser = uniqueName("orchestrate-user");
	let m: Awaited<ReturnType<typeof meshWith>>;

	beforeAll(async () => {
		m = await meshWith({ COMPAT_ANONYMOUS_USER: anonymousUser, COMPAT_ANONYMOUS_NAMESPACES: undefined });
	});
	afterAll(() => m?.stop());

	it("runs the orchestrate seed's curl transcript unchanged, as that user", async () => {
		const env = { SERVICE_ENDPOINT: m.mesh.url };
		// check if service up and running
		expect(JSON.parse(await sh(`curl -s "\${SERVICE_ENDPOINT}/"`, env))).toEqual({ status: "alive" });

		// create a job with a specific bash command
		const created = JSON.parse(
			await sh(
				`curl -s -X POST -H "Content-Type: application/json" \\
   -d '{"cmd":"python3 -c \\"import this\\""}' "\${SERVICE_ENDPOINT}/jobs"`,
				env,
			),
		);
		expect(created).toMatchObject({ api_version: "batch/v1", kind: "Job", metadata: { namespace: m.jobsNs, name: expect.stringMatching(UUID) } });
		expect(created.spec.template.spec.containers[0].command).toEqual(["sh", "-c", 'python3 -c "import this"']);
		const JOB = created.metadata.name as string;

		// get list jobs (the row turns Complete once the watch has seen the Job finish)
		await eventually(async () => {
			const list = JSON.parse(await sh(`curl -s "\${SERVICE_ENDPOINT}/jobs"`, { ...env, JOB }));
			expect(list.find((r: { job: string }) => r.job === JOB)).toMatchObject({ job: JOB, succeeded: 1 });
		});
		// get job details
		expect(JSON.parse(await sh(`curl -s "\${SERVICE_ENDPOINT}/jobs/\${JOB}"`, { ...env, JOB }))).toMatchObject({ kind: "Job", metadata: { name: JOB }, status: { succeeded: 1 } });
		// get only job status
		expect(JSON.parse(await sh(`curl -s "\${SERVICE_ENDPOINT}/jobs/\${JOB}/status"`, { ...env, JOB }))).toMatchObject({ succeeded: 1, active: null });
		// get job logs: text, exactly what a key of that user reads
		const logs = await sh(`curl -s "\${SERVICE_ENDPOINT}/jobs/\${JOB}/logs"`, { ...env, JOB });
		const userKey = await keyFor(m.mesh, anonymousUser);
		expect(logs).toBe((await request(`${m.mesh.url}/jobs/${JOB}/logs`, { key: userKey })).text);
		expect(logs.length).toBeGreaterThan(0);

		// The job is that user's: their key lists it, another user's does not.
		expect((await request(`${m.mesh.url}/jobs`, { key: userKey })).body.map((r: { job: string }) => r.job)).toContain(JOB);
		const other = await keyFor(m.mesh, uniqueName("other"));
		expect((await request(`${m.mesh.url}/jobs/${JOB}`, { key: other })).status).toBe(404);
		const entity = (await request(`${m.mesh.url}/api/v1/k8s/jobs`, { key: m.mesh.adminKey })).body.find((j: { name: string }) => j.name === JOB);
		expect(entity).toMatchObject({ owner: anonymousUser, compat: true });
	});

	it("lets binder's statusAll and KITeGG's routes through without a key, as that user; Berth's own routes still need one", async () => {
		// binder: a launch without a key belongs to that user (a non-public template launches too), and statusAll lists it.
		const launched = await request(`${m.mesh.url}/applications/python`, { method: "POST" });
		expect(launched.status).toBe(200);
		const mine = await request(`${m.mesh.url}/applications/python`);
		expect(mine.status).toBe(200);
		expect(mine.body.map((a: { id: string }) => a.id)).toEqual([launched.body.id]);
		// KITeGG: past the gateway; the record is simply not that user's.
		const missing = await request(`${m.mesh.url}/kubernetes/services/${"a".repeat(24)}`);
		expect(missing.status).toBe(404);
		// Berth's API under /api is unchanged.
		expect((await request(`${m.mesh.url}/api/v1/k8s/jobs`)).status).toBe(401);
		expect((await request(`${m.mesh.url}/api/v1/k8s/namespaces`)).status).toBe(401);
		// A key presented is the key's identity, not the anonymous one; a bad key is refused as before.
		expect((await request(`${m.mesh.url}/applications/python`, { key: await keyFor(m.mesh, uniqueName("carol")) })).body).toEqual([]);
		expect((await request(`${m.mesh.url}/jobs`, { key: "berth_000000000000_not-a-real-key-at-all-000000" })).status).toBe(401);
		// The OpenAPI document says so: a key is optional on the seeds' routes, still required on Berth's.
		const doc = (await request(`${m.mesh.url}/api/openapi.json`)).body;
		expect(doc.paths["/jobs"].post.security).toContainEqual({});
		expect(doc.paths["/kubernetes/services/{id}"].get.security).toContainEqual({});
		expect(doc.paths["/api/v1/k8s/jobs"].post.security ?? doc.security).not.toContainEqual({});
	});
});

describe("COMPAT_ANONYMOUS_NAMESPACES: confines keyless callers like a key's namespaces", () => {
	let m: Awaited<ReturnType<typeof meshWith>>;

	beforeAll(async () => {
		m = await meshWith({ COMPAT_ANONYMOUS_USER: uniqueName("confined-user"), COMPAT_ANONYMOUS_NAMESPACES: "somewhere-else" });
	});
	afterAll(() => m?.stop());

	it("answers 403 where the routes act outside those namespaces", async () => {
		const job = await request(`${m.mesh.url}/jobs`, { method: "POST", body: { cmd: "true" } });
		expect(job.status).toBe(403);
		expect(job.body.message).toContain(m.jobsNs);
		expect((await request(`${m.mesh.url}/applications/jupyter-notebook`, { method: "POST" })).status).toBe(403);
	});
});

describe("COMPAT_ANONYMOUS_USER unset (the default): keys stay required", () => {
	let m: Awaited<ReturnType<typeof meshWith>>;
	let restore: () => void;

	beforeAll(async () => {
		restore = setEnv({ COMPAT_ANONYMOUS_USER: undefined, COMPAT_ANONYMOUS_NAMESPACES: undefined });
		m = await meshWith({});
	});
	afterAll(async () => {
		await m?.stop();
		restore?.();
	});

	it("answers 401 without a key on the seeds' root routes, binder's public launch and status excepted", async () => {
		const url = m.mesh.url;
		const job = "0b8f9e8d-0000-4000-8000-000000000000";
		const id = "a".repeat(24);
		const refused: [string, string, unknown?][] = [
			["POST", "/jobs", { cmd: 'python3 -c "import this"' }],
			["GET", "/jobs"],
			["GET", `/jobs/${job}`],
			["GET", `/jobs/${job}/status`],
			["GET", `/jobs/${job}/logs`],
			["GET", "/applications/jupyter-notebook"],
			["POST", "/applications/python"],
			["POST", "/applications", { "template-name": "python" }],
			["PUT", `/kubernetes/services/${id}/deploy`],
			["GET", `/kubernetes/services/${id}`],
			["DELETE", `/kubernetes/services/${id}`],
		];
		for (const [method, path, body] of refused) {
			const res = await request(`${url}${path}`, { method, body });
			expect({ method, path, status: res.status, type: res.body?.type }).toEqual({ method, path, status: 401, type: "UNAUTHORIZED" });
		}
		const doc = (await request(`${url}/api/openapi.json`)).body;
		expect(doc.paths["/jobs"].post.security ?? doc.security).not.toContainEqual({});
		// The curl transcript's first call to /jobs, as the seed writes it.
		expect(await sh(`curl -s -o /dev/null -w "%{http_code}" "\${SERVICE_ENDPOINT}/jobs"`, { SERVICE_ENDPOINT: url })).toBe("401");

		// binder's public launch and status need no key, in both launch forms.
		for (const launch of [request(`${url}/applications/jupyter-notebook`, { method: "POST" }), request(`${url}/applications/`, { method: "POST", body: { "template-name": "jupyter-notebook" } })]) {
			const res = await launch;
			expect(res.status).toBe(200);
			expect((await request(`${url}/applications/jupyter-notebook/${res.body.id}`)).status).toBe(200);
		}
	});
});
