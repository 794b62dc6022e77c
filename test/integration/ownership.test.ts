import type { KubernetesObject, V1ConfigMap, V1Deployment, V1Service } from "../../lib/k8s";
import { envBackends } from "../helpers/backends";
import { kube, uniqueName } from "../helpers/cluster";
import { eventually } from "../helpers/eventually";
import { legacyDeployment, legacyServer } from "../helpers/legacy";
import { createNamespace, keyFor, request, startMesh, type HttpResult, type Mesh } from "../helpers/mesh";

/**
 * Issue #18 item 5, through REST against the real control plane: a deployment never overwrites
 * another's objects, nor objects Berth did not make; adoption still takes the external ones over.
 */
const SERVICES = ["api", "keys", "k8s.namespaces", "k8s.images", "k8s.deployments", "k8s.envs", "k8s.inventory"];

describe.each(envBackends)("ownership of generated objects against the real control plane, stored in %s", (_backend, useBackend) => {
	let mesh: Mesh;
	let alice: string;
	let nsName: string;
	const api = (path: string) => `${mesh.url}/api/v1/k8s/deployments${path}`;
	const create = (body: Record<string, unknown>): Promise<HttpResult<any>> => request(api("/"), { method: "POST", key: alice, body: { namespace: nsName, image: "nginx", ...body } });
	const get = <T extends KubernetesObject>(kind: string, apiVersion: string, name: string) => kube().get<T>({ apiVersion, kind, name, namespace: nsName });
	const configMap = (name: string) => get<V1ConfigMap>("ConfigMap", "v1", name);
	/** Made with the kube client, as a person would: no Berth labels. */
	const external = <T extends KubernetesObject>(obj: T) => kube().apply<T>({ ...obj, metadata: { ...obj.metadata, namespace: nsName } });

	beforeAll(async () => {
		useBackend();
		mesh = await startMesh(SERVICES);
		alice = await keyFor(mesh, uniqueName("alice"));
		nsName = (await createNamespace(mesh, alice, uniqueName("it-own"), { cpu: "4", memory: "4Gi", pods: 20 })).name;
	});

	afterAll(async () => {
		await mesh.stop();
		await kube().delete({ apiVersion: "v1", kind: "Namespace", name: nsName });
	});

	it("refuses w with configMap.name v-env while w-v exists, and w-v while w exists: both are ConfigMap w-v-env", async () => {
		const wv = await create({ name: "w-v", env: [{ key: "MODE", value: "production" }] });
		expect(wv.status).toBe(201);
		const w = await create({ name: "w", configMap: { name: "v-env", data: { "site.conf": "server {}" } } });
		expect(w.status).toBe(409);
		expect(w.body).toMatchObject({ type: "CONFLICT", data: { field: "configMap.name", objects: [{ kind: "ConfigMap", name: "w-v-env", heldBy: "deployment" }] } });
		expect(JSON.stringify(w.body)).not.toContain(wv.body.id);
		expect((await configMap("w-v-env"))?.data).toEqual({ MODE: "production" });

		// The reverse order: u first, with its files at u-v-env; then u-v, whose env would be u-v-env.
		expect((await create({ name: "u", configMap: { name: "v-env", data: { "site.conf": "server {}" } } })).status).toBe(201);
		const uv = await create({ name: "u-v", env: [{ key: "MODE", value: "production" }] });
		expect(uv.status).toBe(409);
		expect(uv.body).toMatchObject({ type: "CONFLICT", data: { field: "name", objects: [{ kind: "ConfigMap", name: "u-v-env" }] } });
		expect((await configMap("u-v-env"))?.data).toEqual({ "site.conf": "server {}" });
		expect((await request(api(`/?namespace=${nsName}`), { key: alice })).body.map((d: { name: string }) => d.name).sort()).toEqual(["u", "w-v"]);
	});

	it("refuses a name where an object made outside Berth is, and leaves that object as it was", async () => {
		await external<V1ConfigMap>({ apiVersion: "v1", kind: "ConfigMap", metadata: { name: "handmade-env" }, data: { TOKEN: "theirs" } });
		await external<V1Service>({ apiVersion: "v1", kind: "Service", metadata: { name: "handmade-service" }, spec: { ports: [{ port: 8080 }], selector: { app: "theirs" } } });
		const res = await create({ name: "handmade" });
		expect(res.status).toBe(409);
		expect(res.body).toMatchObject({ type: "CONFLICT", data: { reason: "ObjectHeld", namespace: nsName } });
		expect(res.body.data.objects).toEqual(
			expect.arrayContaining([
				{ kind: "Service", name: "handmade-service", heldBy: "external" },
				{ kind: "ConfigMap", name: "handmade-env", heldBy: "external" },
			]),
		);
		const cm = await configMap("handmade-env");
		expect(cm?.data).toEqual({ TOKEN: "theirs" });
		expect(cm?.metadata?.labels).toBeUndefined();
		const svc = await get<V1Service>("Service", "v1", "handmade-service");
		expect(svc?.spec?.selector).toEqual({ app: "theirs" });
		expect(svc?.metadata?.labels).toBeUndefined();
		expect(await get("Deployment", "apps/v1", "handmade")).toBeUndefined();
	});

	it("leaves an object that became foreign alone in the reconcile loop, and says why in the status", async () => {
		const res = await create({ name: "later" });
		expect(res.status).toBe(201);
		const id = res.body.id;
		// Someone takes the name over: the Service is no longer Berth's (its labels are gone, its ports are theirs).
		const live = (await get<V1Service>("Service", "v1", "later-service")) as V1Service;
		await kube().replace<V1Service>({ ...live, metadata: { ...live.metadata, labels: undefined, annotations: undefined, managedFields: undefined }, spec: { ...live.spec, ports: [{ port: 9000 }], selector: { app: "theirs" } } });

		const apply = await request(api(`/${id}/apply`), { method: "POST", key: alice });
		expect(apply.status).toBe(409);
		expect(apply.body.data.objects).toEqual([{ kind: "Service", name: "later-service", heldBy: "external" }]);
		const status = (await request(api(`/${id}`), { key: alice })).body.status;
		expect(status.conditions.find((c: { type: string }) => c.type === "Applied")).toMatchObject({ status: "False", reason: "ObjectHeld", message: expect.stringContaining('Service "later-service"') });
		const svc = await get<V1Service>("Service", "v1", "later-service");
		expect(svc?.spec?.ports?.map(p => p.port)).toEqual([9000]);
		expect(svc?.metadata?.labels).toBeUndefined();
		// The Deployment itself stays Berth's.
		expect((await get<V1Deployment>("Deployment", "apps/v1", "later"))?.metadata?.labels?.["berth.dev/id"]).toBe(id);
	});

	it("still lets an adoption take external objects at Berth's names over", async () => {
		await kube().apply({ ...legacyDeployment({ metadata: { namespace: nsName }, replicas: 1, pod: { containers: [legacyServer()] } }) });
		await external<V1Service>({ apiVersion: "v1", kind: "Service", metadata: { name: "legacy-service" }, spec: { ports: [{ name: "http", port: 80 }], selector: { app: "legacy" } } });
		await eventually(async () => expect((await request(`${mesh.url}/api/v1/k8s/inventory/deployments/${nsName}/legacy`, { key: alice })).status).toBe(200), { timeoutMs: 10_000 });
		const res = await request(`${mesh.url}/api/v1/k8s/inventory/adopt`, { method: "POST", key: alice, body: { namespace: nsName, name: "legacy", confirm: true } });
		expect([res.status, res.body.message]).toEqual([201, undefined]);
		const id = res.body.deployment.id;
		await eventually(async () => {
			const svc = await get<V1Service>("Service", "v1", "legacy-service");
			expect(svc?.metadata?.labels).toMatchObject({ "app.kubernetes.io/managed-by": "berth", "berth.dev/id": id });
			expect(svc?.spec?.selector).toEqual({ "app.kubernetes.io/name": "legacy", "app.kubernetes.io/instance": "legacy" });
		});
		const status = (await request(api(`/${id}`), { key: alice })).body.status;
		expect(status.conditions.find((c: { type: string }) => c.type === "Applied")).toMatchObject({ status: "True" });
	});
});
