import { kube, uniqueName } from "../helpers/cluster";
import { startMesh, type Mesh } from "../helpers/mesh";
import { berth } from "./cli.helpers";

const SERVICES = ["api", "keys", "k8s.namespaces", "k8s.images", "k8s.applications"];
const HEX32 = /^[0-9a-f]{32}$/;
/** A documentation address, as binder's locations had: nothing real answers there. */
const PUBLIC_HOST = "203.0.113.7";

/** `berth apps`: the binder seed's launch and poll, through the CLI, on the local control plane. */
describe("berth apps against a running mesh and the local control plane", () => {
	let mesh: Mesh;
	let anonymous: Record<string, string>;
	let admin: Record<string, string>;
	const appsNamespace = uniqueName("it-cli-apps");
	const saved = { APPS_NAMESPACE: process.env.APPS_NAMESPACE, PUBLIC_HOST: process.env.PUBLIC_HOST };

	beforeAll(async () => {
		process.env.APPS_NAMESPACE = appsNamespace;
		process.env.PUBLIC_HOST = PUBLIC_HOST;
		mesh = await startMesh(SERVICES);
		anonymous = { BERTH_HOST: "127.0.0.1", BERTH_PORT: new URL(mesh.url).port };
		admin = { ...anonymous, BERTH_API_KEY: mesh.adminKey };
	});

	afterAll(async () => {
		await mesh?.stop();
		await kube().delete({ apiVersion: "v1", kind: "Namespace", name: appsNamespace });
		for (const [k, v] of Object.entries(saved)) if (v === undefined) delete process.env[k];
		else process.env[k] = v;
	});

	let id: string;

	it("launches a public template without a key and waits for its location", async () => {
		const res = await berth(["apps", "launch", "jupyter-notebook"], anonymous);
		// The launcher (anonymous: whoever holds the id) gets jupyter's token in the location, as from BinderHub.
		expect(res.stderr).toMatch(/✔ jupyter-notebook [0-9a-f]{32} is running at 203\.0\.113\.7\/user\/[0-9a-f]{32}\/\?token=[0-9a-f]{48}\n$/);
		expect(res.code).toBe(0);
		id = /^id:\s+([0-9a-f]{32})$/m.exec(res.stdout)![1];
		expect(id).toMatch(HEX32);
		expect(res.stdout).toMatch(/^template:\s+jupyter-notebook$/m);
		expect(res.stdout).toMatch(/^status:\s+running$/m);
		expect(res.stdout).toMatch(new RegExp(`location:\\s+${PUBLIC_HOST.replace(/\./g, "\\.")}/user/${id}/\\?token=[0-9a-f]{48}$`, "m"));
	});

	it("shows an instance's status in the binder shape", async () => {
		const res = await berth(["apps", "status", "jupyter-notebook", id, "--json"], anonymous);
		expect(res.code).toBe(0);
		expect(res.json()).toEqual({ id, "template-name": "jupyter-notebook", location: expect.stringMatching(new RegExp(`^${PUBLIC_HOST}/user/${id}/\\?token=[0-9a-f]{48}$`)), status: "running" });
	});

	it("lists a template's instances with a key", async () => {
		const res = await berth(["apps", "list", "jupyter-notebook"], admin);
		expect(res.code).toBe(0);
		expect(res.stdout).toMatch(new RegExp(`^${id}\\s+running\\s+${PUBLIC_HOST.replace(/\./g, "\\.")}/user/${id}$`, "m"));
		const withoutKey = await berth(["apps", "list", "jupyter-notebook"], anonymous);
		expect(withoutKey.code).toBe(1);
		expect(withoutKey.stderr).toContain("(401 UNAUTHORIZED)");
	});

	it("keeps an instance alive", async () => {
		const res = await berth(["apps", "keepalive", "jupyter-notebook", id], admin);
		expect(res).toMatchObject({ code: 0, stdout: `jupyter-notebook ${id} kept alive.\n` });
	});

	it("answers the id at once with --no-wait, and refuses templates that are not public without a key", async () => {
		const detached = await berth(["apps", "launch", "jupyter-notebook", "--no-wait", "--json"], admin);
		expect(detached.code).toBe(0);
		expect(detached.json()).toEqual({ id: expect.stringMatching(HEX32) });
		const refused = await berth(["apps", "launch", "nginx"], anonymous);
		expect(refused.code).toBe(1);
		expect(refused.stderr).toContain("(401 UNAUTHORIZED)");
	});
});
