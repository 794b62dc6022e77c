import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import type { V1Deployment } from "../../lib/k8s";
import { kube, uniqueName } from "../helpers/cluster";
import { eventually } from "../helpers/eventually";
import { legacyDeployment, legacyServer } from "../helpers/legacy";
import { createNamespace, keyFor, startMesh, type Mesh } from "../helpers/mesh";
import { berth } from "./cli.helpers";

const SERVICES = ["api", "keys", "k8s.namespaces", "k8s.images", "k8s.volumes", "k8s.deployments", "k8s.envs", "k8s.jobs", "k8s.services", "k8s.inventory", "k8s.applications"];
const SPEC = `containers:
  - name: web
    image: "nginx:latest"
    ports:
      - name: http
        port: 80
`;

/**
 * The commands for what only `berth api` reached before: specs, inventory and adoption,
 * `jobs logs -f` and `apps delete`, through the repository's CLI against a mesh on the local control plane.
 */
describe("berth specs, inventory, jobs logs -f and apps delete against a running mesh", () => {
	let mesh: Mesh;
	let alice: Record<string, string>;
	let bob: Record<string, string>;
	let admin: Record<string, string>;
	let ns: { id: string; name: string };
	const work = fs.mkdtempSync(path.join(os.tmpdir(), "berth-cli-specs-"));
	const appsNamespace = uniqueName("it-cli-newapps");
	const saved = { APPS_NAMESPACE: process.env.APPS_NAMESPACE, PUBLIC_HOST: process.env.PUBLIC_HOST };

	beforeAll(async () => {
		process.env.APPS_NAMESPACE = appsNamespace;
		process.env.PUBLIC_HOST = "203.0.113.7";
		mesh = await startMesh(SERVICES);
		const base = { BERTH_HOST: "127.0.0.1", BERTH_PORT: new URL(mesh.url).port, BERTH_CONFIG: path.join(work, "none.json") };
		const aliceKey = await keyFor(mesh, uniqueName("alice"));
		alice = { ...base, BERTH_API_KEY: aliceKey };
		bob = { ...base, BERTH_API_KEY: await keyFor(mesh, uniqueName("bob")) };
		admin = { ...base, BERTH_API_KEY: mesh.adminKey };
		ns = await createNamespace(mesh, aliceKey, uniqueName("it-cli-new"), { cpu: "4", memory: "8Gi", storage: "10Gi", pods: 20, gpu: 0 });
	});

	afterAll(async () => {
		if (ns) await berth(["namespaces", "delete", ns.id], alice);
		await mesh?.stop();
		await kube().delete({ apiVersion: "v1", kind: "Namespace", name: appsNamespace });
		fs.rmSync(work, { recursive: true, force: true });
		for (const [k, v] of Object.entries(saved)) if (v === undefined) delete process.env[k];
		else process.env[k] = v;
	});

	describe("specs", () => {
		let id: string;
		let resourceName: string;

		it("creates a spec from a YAML file and deploys it", async () => {
			fs.writeFileSync(path.join(work, "web.yaml"), SPEC);
			const res = await berth(["specs", "create", "Web Spec", "-n", ns.name, "-f", path.join(work, "web.yaml"), "--deploy", "--json"], alice);
			expect(res).toMatchObject({ code: 0, stderr: "" });
			const spec = res.json();
			expect(spec).toMatchObject({ name: "Web Spec", namespaceName: ns.name, deployment: SPEC, deployed: true });
			({ id, resourceName } = spec);
			expect((await kube().get<V1Deployment>({ apiVersion: "apps/v1", kind: "Deployment", name: resourceName, namespace: ns.name }))?.spec?.template.spec?.containers[0].image).toBe("nginx:latest");
		});

		it("lists and shows it, by id or by name", async () => {
			const list = await berth(["specs", "list", "-n", ns.name], alice);
			expect(list.code).toBe(0);
			expect(list.stdout).toMatch(new RegExp(`^${id}\\s+Web Spec\\s+${ns.name}\\s+yes\\s`, "m"));
			const byName = await berth(["specs", "get", "Web Spec"], alice);
			expect(byName.code).toBe(0);
			expect(byName.stdout).toMatch(/^deployed:\s+yes, at /m);
			expect(byName.stdout).toContain(SPEC);
			expect((await berth(["specs", "get", id, "--json"], alice)).json()).toMatchObject({ id, deployment: SPEC });
		});

		it("refuses a spec the service finds wrong, naming the field, and hides specs from other tenants", async () => {
			fs.writeFileSync(path.join(work, "bad.yaml"), "containers:\n  - name: web\n");
			const bad = await berth(["specs", "create", "bad", "-n", ns.name, "-f", path.join(work, "bad.yaml")], alice);
			expect(bad.code).toBe(1);
			expect(bad.stderr).toMatch(/\(422 [A-Z_]+\)/);
			expect(bad.stderr).toContain("image");
			const missing = await berth(["specs", "create", "x", "-n", ns.name, "-f", path.join(work, "nope.yaml")], alice);
			expect(missing.code).toBe(2);
			const other = await berth(["specs", "get", id], bob);
			expect(other.code).toBe(1);
			expect(other.stderr).toContain("(404 NOT_FOUND)");
			expect((await berth(["specs", "delete", id], bob)).code).toBe(1);
		});

		it("deletes it and what it deployed", async () => {
			const res = await berth(["specs", "delete", id], alice);
			expect(res.code).toBe(0);
			expect(res.stdout).toMatch(/^Spec "Web Spec" deleted \(\d+ objects removed\)\.$/m);
			await eventually(async () => expect(await kube().get({ apiVersion: "apps/v1", kind: "Deployment", name: resourceName, namespace: ns.name })).toBeUndefined());
			expect((await berth(["specs", "list", "-n", ns.name, "--json"], alice)).json()).toEqual([]);
		});
	});

	describe("inventory and adoption", () => {
		beforeAll(async () => {
			await kube().create({ ...legacyDeployment({ replicas: 1, pod: { containers: [legacyServer()] } }), metadata: { name: "legacy", namespace: ns.name, labels: { app: "legacy" } } } as V1Deployment);
		});

		it("lists and gets a Deployment made outside Berth", async () => {
			const list = await eventually(async () => {
				const res = await berth(["inventory", "list", "deployments", "-n", ns.name, "--provenance", "external"], alice);
				expect(res.stdout).toMatch(new RegExp(`^Deployment\\s+${ns.name}\\s+legacy\\s+external\\s`, "m"));
				return res;
			});
			expect(list.code).toBe(0);
			const got = await berth(["inventory", "get", "deployments", "legacy", "-n", ns.name], alice);
			expect(got.code).toBe(0);
			expect(got.stdout).toMatch(/^provenance:\s+external$/m);
			expect(got.stdout).toMatch(/^labels:\s+app=legacy$/m);
			expect((await berth(["inventory", "get", "deployments", "legacy", "-n", ns.name], bob)).stderr).toContain("(404 NOT_FOUND)");
			expect((await berth(["inventory", "list", "gadgets"], alice))).toMatchObject({ code: 2 });
		});

		it("shows the namespace as an XOS tree", async () => {
			const tree = await eventually(async () => {
				const res = await berth(["inventory", "tree", "-n", ns.name], alice);
				expect(res.stdout).toMatch(/^\s+Deployment\/legacy replicas 1 /m);
				return res;
			});
			expect(tree.code).toBe(0);
			expect(tree.stdout).toMatch(new RegExp(`^TrustDomain ${ns.name} \\(berth`));
			expect((await berth(["inventory", "tree", "-n", ns.name], bob)).stderr).toContain("(404 NOT_FOUND)");
		});

		it("shows what adoption would do, then adopts with --confirm", async () => {
			const dry = await berth(["inventory", "adopt", "legacy", "-n", ns.name], alice);
			expect(dry.code).toBe(0);
			expect(dry.stdout).toMatch(new RegExp(`^Would adopt Deployment ${ns.name}/legacy with image nginx\\.$`, "m"));
			expect(dry.stdout).toContain("Nothing changed: run again with --confirm to adopt.");
			const done = await berth(["inventory", "adopt", "legacy", "-n", ns.name, "--confirm", "--json"], alice);
			expect(done.code).toBe(0);
			expect(done.json()).toMatchObject({ confirmed: true, deployment: { name: "legacy", namespaceName: ns.name } });
			await eventually(async () => {
				const res = await berth(["inventory", "list", "deployments", "-n", ns.name, "--provenance", "berth", "--json"], alice);
				expect(res.json().items).toEqual([expect.objectContaining({ name: "legacy", provenance: "berth" })]);
			});
		});
	});

	it("adopts a namespace made outside Berth (admins only)", async () => {
		const name = uniqueName("it-cli-external");
		await kube().create({ apiVersion: "v1", kind: "Namespace", metadata: { name, labels: { "app.kubernetes.io/managed-by": "Helm" } } });
		try {
			expect((await berth(["namespaces", "adopt", name, "--owner", "carol"], alice)).code).not.toBe(0);
			expect((await berth(["namespaces", "adopt", name], admin))).toMatchObject({ code: 2 });
			const res = await berth(["namespaces", "adopt", name, "--owner", "carol", "--json"], admin);
			expect(res.code).toBe(0);
			expect(res.json()).toMatchObject({ name, owner: "carol" });
			const { id } = res.json();
			expect((await berth(["namespaces", "delete", id], admin)).code).toBe(0);
		} finally {
			await kube().delete({ apiVersion: "v1", kind: "Namespace", name }).catch(() => undefined);
		}
	});

	it("follows a job's output until it is over", async () => {
		const started = await berth(["jobs", "run", "-n", ns.name, "--no-wait", "--json", "echo followed"], alice);
		expect(started.code).toBe(0);
		const { id } = started.json();
		const res = await berth(["jobs", "logs", id, "-f"], alice);
		expect(res).toMatchObject({ code: 0, stderr: "" });
		// The local control plane's pods print kwok's simulated log.
		expect(res.stdout).toContain("berth simulated log line 1: container started");
		expect(res.stdout).toBe((await berth(["jobs", "logs", id], alice)).stdout);
	});

	it("deletes an application instance; another caller's is not found", async () => {
		const launched = await berth(["apps", "launch", "jupyter-notebook", "--no-wait", "--json"], admin);
		expect(launched.code).toBe(0);
		const { id } = launched.json();
		const other = await berth(["apps", "delete", id], alice);
		expect(other.code).toBe(1);
		expect(other.stderr).toContain("(404 NOT_FOUND)");
		const res = await berth(["apps", "delete", id], admin);
		expect(res).toMatchObject({ code: 0, stdout: `jupyter-notebook ${id} deleted.\n` });
		const after = await berth(["apps", "status", "jupyter-notebook", id, "--json"], admin);
		expect(after.code === 1 || after.json().status === "deleted").toBe(true);
	});
});
