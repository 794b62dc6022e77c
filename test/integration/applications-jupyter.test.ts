import type { V1Deployment, V1Secret } from "../../lib/k8s";
import { kube, uniqueName } from "../helpers/cluster";
import { eventually } from "../helpers/eventually";
import type { Mesh } from "../helpers/mesh";
import { appsSuite, backends, clients, keyFor, PUBLIC_HOST, ROOMY_LIMITS, type AppsSuite, type SeenEvent } from "./applications.fixtures";

/**
 * The jupyter template behind its Ingress: the server's base URL is the instance's path, and the
 * launcher (only the launcher) gets the token in the location, as BinderHub hands it out.
 */
describe.each(backends)("the jupyter template against the real control plane, stored in %s", (_backend, pickMongo) => {
	let mesh: Mesh;
	let suite: AppsSuite;
	let alice: string;
	let bob: string;
	const nsName = uniqueName("it-jupyter");
	const events: SeenEvent[] = [];
	const { binder, native } = clients(() => mesh);

	beforeAll(async () => {
		suite = appsSuite({ namespace: nsName, mongoUri: pickMongo(), events, vars: { ...ROOMY_LIMITS, DATA_DIR: ":memory:" } });
		mesh = await suite.node();
		alice = await keyFor(mesh, uniqueName("alice"));
		bob = await keyFor(mesh, uniqueName("bob"));
	});

	afterAll(() => suite?.stop());

	it("serves under /user/<id>/ and hands the launcher its token; nobody else sees it", async () => {
		const launched = await binder("/jupyter-notebook", { method: "POST", key: alice });
		expect(launched.status).toBe(200);
		const id = launched.body.id as string;
		const live = await eventually(async () => {
			const d = await kube().get<V1Deployment>({ apiVersion: "apps/v1", kind: "Deployment", name: `app-${id}`, namespace: nsName });
			expect(d).toBeDefined();
			return d as V1Deployment;
		});
		const c = live.spec!.template.spec!.containers[0];
		expect(c.args).toEqual(["start-notebook.py", `--ServerApp.base_url=/user/${id}/`]);
		expect(c.env).toContainEqual({ name: "BERTH_BASE_PATH", value: `/user/${id}` });
		expect(c.env).toContainEqual({ name: "JUPYTER_TOKEN", valueFrom: { secretKeyRef: { name: `app-${id}-env`, key: "JUPYTER_TOKEN" } } });
		const secret = await kube().get<V1Secret>({ apiVersion: "v1", kind: "Secret", name: `app-${id}-env`, namespace: nsName });
		const token = Buffer.from(secret!.data!.JUPYTER_TOKEN, "base64").toString();
		expect(token).toMatch(/^[0-9a-f]{48}$/);
		const withToken = `${PUBLIC_HOST}/user/${id}/?token=${token}`;

		// The launcher, polling as binder clients do (and through Berth's API, and a keep-alive).
		await eventually(async () => expect((await binder(`/jupyter-notebook/${id}`, { key: alice })).body).toEqual({ id, "template-name": "jupyter-notebook", location: withToken, status: "running" }));
		expect((await native(`/${id}`, { key: alice })).body.location).toBe(withToken);
		expect((await native(`/${id}/keepalive`, { method: "POST", key: alice })).body.location).toBe(withToken);
		// An admin sees the instance, not the token; lists and events never carry it; another user gets 404.
		expect((await native(`/${id}`, { key: mesh.adminKey })).body.location).toBe(`${PUBLIC_HOST}/user/${id}`);
		expect((await binder(`/jupyter-notebook/${id}`, { key: mesh.adminKey })).body.location).toBe(`${PUBLIC_HOST}/user/${id}`);
		for (const key of [alice, mesh.adminKey]) {
			const listed = await native("/", { key });
			expect(listed.status).toBe(200);
			expect(listed.text).not.toContain(token);
			expect((await binder("/jupyter-notebook", { key })).text).not.toContain(token);
		}
		expect((await native(`/${id}`, { key: bob })).status).toBe(404);
		expect(JSON.stringify(events)).not.toContain(token);
		expect((await native(`/${id}`, { method: "DELETE", key: alice })).status).toBe(200);
	});
});
