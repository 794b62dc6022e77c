import { execFile } from "node:child_process";
import * as fs from "node:fs";
import * as net from "node:net";
import * as os from "node:os";
import * as path from "node:path";
import { promisify } from "node:util";
import type { V1ConfigMap, V1Deployment, V1Namespace } from "../../lib/k8s";
import { kube, repoRoot, uniqueName } from "../helpers/cluster";
import { eventually } from "../helpers/eventually";
import { request, startMesh, type Mesh } from "../helpers/mesh";
import { berth } from "./cli.helpers";

const run = promisify(execFile);

/** A port nothing listens on: the OS hands out a free one, which is closed again at once. */
async function closedPort(): Promise<number> {
	const server = net.createServer();
	await new Promise<void>(resolve => server.listen(0, "127.0.0.1", resolve));
	const { port } = server.address() as net.AddressInfo;
	await new Promise(resolve => server.close(resolve));
	return port;
}
const SERVICES = ["api", "health", "keys", "k8s.namespaces", "k8s.images", "k8s.volumes", "k8s.deployments", "k8s.envs", "k8s.jobs", "k8s.status"];

/**
 * The `berth` CLI end to end: a real mesh on a free port, the real local control plane, and the
 * commands run as a user would, in-process (and once as the compiled bin). What the CLI says is
 * checked against what the apiserver holds.
 */
describe("berth CLI against a running mesh and the local control plane", () => {
	let mesh: Mesh;
	let env: Record<string, string>;
	const ns = uniqueName("it-cli");
	const sh = (argv: string[], extra: Record<string, string | undefined> = {}, opts: { signal?: AbortSignal } = {}) => berth(argv, { ...env, ...extra }, opts);

	beforeAll(async () => {
		mesh = await startMesh(SERVICES);
		// A user's key, as a teammate would have: the admin key stays with the operator.
		const key = await request(`${mesh.url}/api/v1/keys`, { method: "POST", key: mesh.adminKey, body: { name: "cli test", userID: uniqueName("cli-user") } });
		expect(key.status).toBe(201);
		const port = new URL(mesh.url).port;
		env = { BERTH_HOST: "127.0.0.1", BERTH_PORT: port, BERTH_API_KEY: key.body.key };
	});

	afterAll(async () => {
		await sh(["namespaces", "delete", ns]);
		await mesh.stop();
	});

	it("creates a namespace with a quota, lists it and shows the quota", async () => {
		const created = await sh(["namespaces", "create", ns, "--cpu", "2", "--memory", "2Gi", "--pods", "10"]);
		expect(created).toMatchObject({ code: 0, stderr: "" });
		expect(created.stdout).toContain(`Namespace ${ns} created.`);
		expect((await kube().get<V1Namespace>({ apiVersion: "v1", kind: "Namespace", name: ns }))?.metadata?.labels).toMatchObject({ "app.kubernetes.io/managed-by": "berth" });

		const list = await sh(["namespaces", "list", "--json"]);
		expect(list.code).toBe(0);
		expect(list.json()).toEqual([expect.objectContaining({ name: ns, quota: expect.objectContaining({ cpu: "2", memory: "2Gi", pods: 10 }) })]);
		expect((await sh(["ns", "list"])).stdout).toMatch(new RegExp(`^${ns}\\s+Active\\s+2\\s+2Gi\\s+10Gi\\s+10\\s+0`, "m"));

		const quota = await sh(["namespaces", "quota", ns]);
		expect(quota.code).toBe(0);
		expect(quota.stdout).toMatch(/^RESOURCE\s+USED\s+HARD$/m);
		expect(quota.stdout).toMatch(/^pods\s+0\s+10$/m);
		expect(quota.stdout).toMatch(/^limits\.memory\s+0\s+2Gi$/m);
	});

	it("lists the image catalog", async () => {
		const images = await sh(["images", "list"]);
		expect(images.code).toBe(0);
		expect(images.stdout).toMatch(/^nginx\s+nginx:1\.27\s+80\/TCP\s+no\s+/m);
		expect((await sh(["images", "list", "--launchable", "--json"])).json<{ name: string }[]>().map(i => i.name)).toContain("jupyter-notebook");
	});

	it("creates a volume", async () => {
		const created = await sh(["volumes", "create", "site", "-n", ns, "--mount-path", "/usr/share/nginx/html", "--size", "1Gi"]);
		expect(created.code).toBe(0);
		expect(created.stdout).toMatch(/^Volume site created/);
		await eventually(async () => expect((await sh(["volumes", "get", "site", "-n", ns, "--json"])).json()).toMatchObject({ name: "site", status: { phase: "Bound" } }));
		expect((await sh(["volumes", "list", "-n", ns])).stdout).toMatch(new RegExp(`^site\\s+${ns}\\s+Bound\\s+1Gi`, "m"));
	});

	it("deploys an image, waits for the rollout, and the Deployment runs in the cluster", async () => {
		const res = await sh(["deploy", "nginx", "-n", ns, "--name", "web", "--env", "MODE=prod", "--volume", "site:/usr/share/nginx/html"]);
		expect(res.stderr).toContain(`✔ web in ${ns} is running: 1/1 ready at web.${ns}.`);
		expect(res.code).toBe(0);
		expect(res.stdout).toMatch(/^phase:\s+Running$/m);
		const live = await kube().get<V1Deployment>({ apiVersion: "apps/v1", kind: "Deployment", name: "web", namespace: ns });
		expect(live?.status?.readyReplicas).toBe(1);
		expect(live?.spec?.template.spec?.volumes).toEqual(expect.arrayContaining([expect.objectContaining({ persistentVolumeClaim: { claimName: "site" } })]));
		expect((await kube().get<V1ConfigMap>({ apiVersion: "v1", kind: "ConfigMap", name: "web-env", namespace: ns }))?.data).toEqual({ MODE: "prod" });
	});

	it("shows a deployment's status and pods", async () => {
		const res = await sh(["status", "web", "-n", ns]);
		expect(res.code).toBe(0);
		expect(res.stdout).toMatch(/^phase:\s+Running$/m);
		expect(res.stdout).toMatch(/^ready:\s+1\/1$/m);
		expect(res.stdout).toMatch(/^web-[a-z0-9]+-[a-z0-9]+\s+Running\s+yes\s+0\s+/m);
		expect((await sh(["deployments", "list", "--json"])).json()).toEqual([expect.objectContaining({ name: "web", namespaceName: ns })]);
	});

	it("watches the deployment's health as it changes, until Ctrl-C", async () => {
		const stop = new AbortController();
		const watching = sh(["status", "web", "-n", ns, "--watch"], {}, { signal: stop.signal });
		await new Promise(r => setTimeout(r, 1_500));
		stop.abort();
		const res = await watching;
		expect(res.code).toBe(0);
		expect(res.stdout).toMatch(/^\d\d:\d\d:\d\d {2}Ready {2}1\/1 ready {2}/m);
	});

	it("prints logs, and follows them with -f", async () => {
		const tail = await sh(["logs", "web", "-n", ns, "--tail", "2"]);
		expect(tail.code).toBe(0);
		expect(tail.stdout.trim().split("\n")).toHaveLength(2);
		expect(tail.stdout).toContain("berth simulated log line");

		const started = Date.now();
		const follow = await sh(["logs", "web", "-n", ns, "-f", "--max-seconds", "3"]);
		expect(follow.code).toBe(0);
		expect(follow.stdout).toContain("berth simulated log line 1: container started");
		expect(Date.now() - started).toBeGreaterThanOrEqual(2_500);
	});

	it("sets and unsets env vars, and the cluster follows", async () => {
		const set = await sh(["env", "set", "web", "-n", ns, "GREETING=hello world", "MODE=staging"]);
		expect(set).toMatchObject({ code: 0, stdout: "GREETING set on web.\nMODE set on web.\n" });
		await eventually(async () => expect((await kube().get<V1ConfigMap>({ apiVersion: "v1", kind: "ConfigMap", name: "web-env", namespace: ns }))?.data).toEqual({ MODE: "staging", GREETING: "hello world" }));
		expect((await sh(["env", "list", "web", "-n", ns])).stdout).toMatch(/^GREETING\s+hello world\s+as-is$/m);

		const unset = await sh(["env", "unset", "web", "-n", ns, "GREETING"]);
		expect(unset).toMatchObject({ code: 0, stdout: "GREETING removed from web.\n" });
		await eventually(async () => expect((await kube().get<V1ConfigMap>({ apiVersion: "v1", kind: "ConfigMap", name: "web-env", namespace: ns }))?.data).toEqual({ MODE: "staging" }));
	});

	it("scales and waits for the new replicas", async () => {
		const res = await sh(["deployments", "scale", "web", "2", "-n", ns, "--timeout", "2m"]);
		expect(res.stderr).toContain(`✔ web in ${ns} is running: 2/2 ready`);
		expect(res.code).toBe(0);
		expect((await kube().get<V1Deployment>({ apiVersion: "apps/v1", kind: "Deployment", name: "web", namespace: ns }))?.status?.readyReplicas).toBe(2);
	});

	it("runs a job, waits for it and prints its output; status and logs afterwards", async () => {
		const res = await sh(["jobs", "run", "-n", ns, "echo hello from a job"]);
		expect(res.stderr).toMatch(/✔ Job [0-9a-f-]{36} complete/);
		expect(res.code).toBe(0);
		// The local control plane's pods print kwok's simulated log, not the command's output.
		expect(res.stdout).toContain("berth simulated log line 1: container started");

		const jobs = (await sh(["jobs", "list", "-n", ns, "--json"])).json<{ id: string; name: string; cmd: string; phase: string }[]>();
		expect(jobs).toEqual([expect.objectContaining({ cmd: "echo hello from a job", phase: "Complete" })]);
		const status = await sh(["jobs", "status", jobs[0].name]);
		expect(status.code).toBe(0);
		expect(status.stdout).toMatch(/^phase:\s+Complete$/m);
		expect(status.stdout).toMatch(/^succeeded:\s+1$/m);
		const logs = await sh(["jobs", "logs", jobs[0].id]);
		expect(logs.stdout).toBe(res.stdout);
	});

	it("makes a key confined to the namespace, which works until it is revoked", async () => {
		const created = await sh(["keys", "create", "ci", "--namespace", ns, "--json"]);
		expect(created.code).toBe(0);
		const key = created.json<{ id: string; key: string; namespaces: string[] }>();
		expect(key.namespaces).toEqual([ns]);
		const asCi = await sh(["namespaces", "list", "--json", "--api-key", key.key]);
		expect(asCi.json<{ name: string }[]>().map(n => n.name)).toEqual([ns]);
		expect((await sh(["keys", "list"])).stdout).toMatch(new RegExp(`^${key.id}\\s+ci\\s+`, "m"));

		expect((await sh(["keys", "revoke", key.id])).code).toBe(0);
		const refused = await sh(["namespaces", "list"], { BERTH_API_KEY: key.key });
		expect(refused.code).toBe(1);
		expect(refused.stderr).toContain("(401 UNAUTHORIZED)");
	});

	it("exits non-zero with the gateway's reason when a request is refused", async () => {
		const missing = await sh(["status", "nope", "-n", ns]);
		expect(missing).toMatchObject({ code: 1, stdout: "" });
		expect(missing.stderr).toContain("not found");
		const taken = await sh(["deploy", "nginx", "-n", ns, "--name", "web", "--no-wait"]);
		expect(taken.code).toBe(1);
		expect(taken.stderr).toContain("(409 CONFLICT)");
		const invalid = await sh(["volumes", "create", "bad", "-n", ns, "--mount-path", "/x", "--size", "5Ti"]);
		expect(invalid.code).toBe(1);
		expect(invalid.stderr).toMatch(/\(422 VALIDATION_ERROR\)\n\s+size: /);
		const noKey = await sh(["namespaces", "list"], { BERTH_API_KEY: undefined });
		expect(noKey.code).toBe(1);
		expect(noKey.stderr).toContain("(401 UNAUTHORIZED)");
	});

	it("runs as the compiled bin, with its exit codes", async () => {
		const out = fs.mkdtempSync(path.join(os.tmpdir(), "berth-cli-"));
		try {
			// Compiles what the package's "bin" points at into a scratch directory (not the shared dist/).
			await run(path.join(repoRoot, "node_modules/.bin/tsc"), ["-p", "tsconfig.build.json", "--outDir", out], { cwd: repoRoot }).catch(err => {
				if (!fs.existsSync(path.join(out, "scripts/cli.js"))) throw err; // another suite's type error still emits the CLI
			});
			fs.symlinkSync(path.join(repoRoot, "node_modules"), path.join(out, "node_modules"));
			const bin = path.join(out, JSON.parse(fs.readFileSync(path.join(repoRoot, "package.json"), "utf8")).bin.berth.replace(/^dist\//, ""));
			const ok = await run(process.execPath, [bin, "namespaces", "list", "--json"], { env: { ...process.env, ...env } });
			expect(JSON.parse(ok.stdout).map((n: { name: string }) => n.name)).toEqual([ns]);
			const closed = await closedPort();
			const refused = await run(process.execPath, [bin, "--port", String(closed), "namespaces", "list"], { env: { ...process.env, ...env } }).catch(err => err);
			expect(refused.code).toBe(4);
			expect(refused.stderr).toContain(`Cannot reach Berth at http://127.0.0.1:${closed}: connect ECONNREFUSED`);
			const usage = await run(process.execPath, [bin, "deploy"], { env: { ...process.env, ...env } }).catch(err => err);
			expect(usage.code).toBe(2);
			expect(usage.stderr).toContain("missing required argument 'image'");
		} finally {
			fs.rmSync(out, { recursive: true, force: true });
		}
	}, 120_000);

	it("deletes what it made", async () => {
		expect((await sh(["deployments", "delete", "web", "-n", ns])).code).toBe(0);
		await eventually(async () => expect(await kube().get({ apiVersion: "apps/v1", kind: "Deployment", name: "web", namespace: ns })).toBeUndefined());
		const vol = await sh(["volumes", "delete", "site", "-n", ns]);
		expect(vol).toMatchObject({ code: 0, stdout: "Volume site deleted.\n" });
		const gone = await sh(["namespaces", "delete", ns]);
		expect(gone).toMatchObject({ code: 0, stdout: `Namespace ${ns} deleted.\n` });
		expect((await sh(["namespaces", "list", "--json"])).json()).toEqual([]);
	});
});
