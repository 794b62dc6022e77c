import { randomBytes } from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import mongoose from "mongoose";
import type { Context } from "moleculer";
import type { KubernetesObject, V1ConfigMap, V1Deployment, V1Secret } from "../../lib/k8s";
import { dropStore, isolatedMongoUri, useStore } from "../helpers/backends";
import { kube, uniqueName } from "../helpers/cluster";
import { eventually } from "../helpers/eventually";
import { keyFor, request, startMesh, type HttpResult, type Mesh } from "../helpers/mesh";

/**
 * v1.k8s.configmaps and v1.k8s.secrets through REST against the real control plane, on both
 * stores: the objects they make and keep, Secret values that never come back and are not in the
 * store as text, deployments mounting them by id or name (with XOS's mount_path and sub_path),
 * the 422 of a missing one, the 409 of removing a mounted one, and another tenant's 404s.
 */
const SERVICES = ["api", "keys", "k8s.namespaces", "k8s.images", "k8s.configmaps", "k8s.secrets", "k8s.deployments", "k8s.envs"];

/** Everything a store holds, as text: the DATA_DIR files, or every document of the FerretDB database. */
async function storeText(uri: string | undefined, dataDir: string): Promise<string> {
	if (!uri) return fs.readdirSync(dataDir).map(f => fs.readFileSync(path.join(dataDir, f), "utf8")).join("\n");
	const conn = await mongoose.createConnection(uri, { serverSelectionTimeoutMS: 5000 }).asPromise();
	try {
		const db = conn.db as NonNullable<mongoose.Connection["db"]>;
		const out: string[] = [];
		for (const c of await db.listCollections().toArray()) out.push(JSON.stringify(await db.collection(c.name).find({}).toArray()));
		return out.join("\n");
	} finally {
		await conn.close();
	}
}

const stores: [string, () => string | undefined][] = [
	["NeDB files", () => undefined],
	["FerretDB", () => isolatedMongoUri("berth_dobj")],
];

describe.each(stores)("v1.k8s.configmaps and v1.k8s.secrets on %s against the real apiserver", (_store, pickUri) => {
	let mesh: Mesh;
	let uri: string | undefined;
	let alice: string;
	let bob: string;
	let ns: { id: string; name: string };
	let bobNs: { id: string; name: string };
	const savedDataDir = process.env.DATA_DIR;
	const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "berth-dobj-"));
	const made: string[] = [];
	const events: { event: string; params: unknown }[] = [];
	/** Every answer of the suite, checked at the end for the Secret values. */
	const answers: string[] = [];
	const SECRET_A = `first-value-${randomBytes(10).toString("hex")}`;
	const SECRET_B = `second-value-${randomBytes(10).toString("hex")}`;

	const call = async (p: string, init: { method?: string; key?: string; body?: unknown } = {}): Promise<HttpResult<any>> => {
		const res = await request(`${mesh.url}/api/v1/k8s${p}`, { key: alice, ...init });
		answers.push(res.text);
		return res;
	};
	const newNamespace = async (key: string) => {
		const name = uniqueName("it-dobj");
		made.push(name);
		const res = await request(`${mesh.url}/api/v1/k8s/namespaces`, { method: "POST", key, body: { name, quota: { cpu: "4", memory: "4Gi", pods: 20 } } });
		expect(res.status).toBe(201);
		return res.body as { id: string; name: string };
	};
	const live = <T extends KubernetesObject>(kind: "ConfigMap" | "Secret" | "Deployment", name: string, namespace = ns.name) =>
		kube().get<T>({ apiVersion: kind === "Deployment" ? "apps/v1" : "v1", kind, name, namespace });
	const secretText = (s: V1Secret | undefined) => Object.fromEntries(Object.entries(s?.data ?? {}).map(([k, v]) => [k, Buffer.from(v, "base64").toString()]));

	beforeAll(async () => {
		uri = pickUri();
		useStore(uri);
		process.env.DATA_DIR = dataDir;
		mesh = await startMesh(SERVICES);
		mesh.broker.createService({
			name: "dobj-probe",
			events: {
				"k8s.configmaps.*"(ctx: Context) {
					events.push({ event: ctx.eventName as string, params: ctx.params });
				},
				"k8s.secrets.*"(ctx: Context) {
					events.push({ event: ctx.eventName as string, params: ctx.params });
				},
			},
		});
		alice = await keyFor(mesh, uniqueName("alice"));
		bob = await keyFor(mesh, uniqueName("bob"));
		ns = await newNamespace(alice);
		bobNs = await newNamespace(bob);
	});
	afterAll(async () => {
		await mesh?.stop();
		await Promise.all(made.map(name => kube().delete({ apiVersion: "v1", kind: "Namespace", name }).catch(() => undefined)));
		await dropStore(uri);
		process.env.DATA_DIR = savedDataDir;
		fs.rmSync(dataDir, { recursive: true, force: true });
	});

	it("creates, reads, lists, updates and removes a ConfigMap, kept in the cluster as Berth's", async () => {
		const created = await call("/configmaps", { method: "POST", body: { namespace: ns.name, name: "app-config", data: { "app.conf": "level=info", "b.txt": "b" } } });
		expect(created.status).toBe(201);
		expect(created.headers.get("location")).toBe(`/api/v1/k8s/configmaps/${created.body.id}`);
		const id = created.body.id as string;
		expect(created.body).toMatchObject({ namespace: ns.id, name: "app-config", data: { "app.conf": "level=info", "b.txt": "b" } });
		const cm = await live<V1ConfigMap>("ConfigMap", "app-config");
		expect(cm?.data).toEqual({ "app.conf": "level=info", "b.txt": "b" });
		expect(cm?.metadata?.labels).toMatchObject({ "app.kubernetes.io/managed-by": "berth", "app.kubernetes.io/component": "configmap", "berth.dev/id": id });
		expect((await call(`/configmaps/${id}`)).body).toMatchObject({ id, data: { "app.conf": "level=info" } });
		const listed = await call(`/configmaps?namespace=${ns.name}`);
		expect(listed.body.map((c: { id: string }) => c.id)).toEqual([id]);

		const updated = await call(`/configmaps/${id}`, { method: "PATCH", body: { data: { "app.conf": "level=debug" } } });
		expect(updated.status).toBe(200);
		expect(updated.body.data).toEqual({ "app.conf": "level=debug" });
		expect((await live<V1ConfigMap>("ConfigMap", "app-config"))?.data).toEqual({ "app.conf": "level=debug" });

		// Deleted behind Berth's back: the leader's watch puts it back.
		await kube().delete({ apiVersion: "v1", kind: "ConfigMap", name: "app-config", namespace: ns.name });
		await eventually(async () => expect((await live<V1ConfigMap>("ConfigMap", "app-config"))?.data).toEqual({ "app.conf": "level=debug" }));

		expect((await call("/configmaps", { method: "POST", body: { namespace: ns.name, name: "app-config", data: {} } })).status).toBe(409);
		expect((await call(`/configmaps/${id}`, { method: "DELETE" })).status).toBe(200);
		expect(await live("ConfigMap", "app-config")).toBeUndefined();
		expect((await call(`/configmaps/${id}`)).status).toBe(404);
		await eventually(async () => expect(events.filter(e => e.event.startsWith("k8s.configmaps.")).map(e => e.event)).toEqual(["k8s.configmaps.created", "k8s.configmaps.updated", "k8s.configmaps.removed"]));
	});

	it("refuses a value that is not a string with a 422 naming data.<key>, and stores nothing", async () => {
		const res = await call("/configmaps", { method: "POST", body: { namespace: ns.name, name: "bad-values", data: { ok: "1", port: 8080 } } });
		expect(res.status).toBe(422);
		expect(res.body.data).toEqual([expect.objectContaining({ field: "data.port" })]);
		const secret = await call("/secrets", { method: "POST", body: { namespace: ns.name, name: "bad-secret", data: { token: { nested: true } } } });
		expect(secret.status).toBe(422);
		expect(secret.body.data).toEqual([expect.objectContaining({ field: "data.token" })]);
		expect((await call(`/configmaps?namespace=${ns.name}`)).body.map((c: { name: string }) => c.name)).not.toContain("bad-values");
		expect(await live("ConfigMap", "bad-values")).toBeUndefined();
		expect(await live("Secret", "bad-secret")).toBeUndefined();
	});

	it("keeps Secret values write-only: reads, lists and events give key names; the store holds no value as text", async () => {
		const created = await call("/secrets", { method: "POST", body: { namespace: ns.id, name: "db-creds", data: { password: SECRET_A, user: "app" } } });
		expect(created.status).toBe(201);
		const id = created.body.id as string;
		expect(created.body).toEqual(expect.objectContaining({ id, name: "db-creds", keys: ["password", "user"] }));
		expect(created.body.data).toBeUndefined();
		expect((await call(`/secrets/${id}`)).body).toEqual(expect.objectContaining({ keys: ["password", "user"] }));
		expect((await call(`/secrets?namespace=${ns.id}`)).body).toEqual([expect.objectContaining({ id, keys: ["password", "user"] })]);
		const secret = await live<V1Secret>("Secret", "db-creds");
		expect(secretText(secret)).toEqual({ password: SECRET_A, user: "app" });
		expect(secret?.metadata?.labels).toMatchObject({ "app.kubernetes.io/component": "secret", "berth.dev/id": id });

		const updated = await call(`/secrets/${id}`, { method: "PUT", body: { data: { password: SECRET_B } } });
		expect(updated.status).toBe(200);
		expect(updated.body.keys).toEqual(["password"]);
		await eventually(async () => expect(secretText(await live<V1Secret>("Secret", "db-creds"))).toEqual({ password: SECRET_B }));

		const stored = await storeText(uri, dataDir);
		expect(stored).toContain("db-creds");
		for (const value of [SECRET_A, SECRET_B]) expect(stored).not.toContain(value);
		await eventually(async () => expect(events.filter(e => e.event.startsWith("k8s.secrets.")).map(e => e.event)).toEqual(["k8s.secrets.created", "k8s.secrets.updated"]));
		for (const value of [SECRET_A, SECRET_B]) expect(JSON.stringify(events)).not.toContain(value);
	});

	describe("mounted by deployments", () => {
		let secretId: string;
		let cmId: string;
		let depId: string;

		beforeAll(async () => {
			cmId = (await call("/configmaps", { method: "POST", body: { namespace: ns.name, name: "web-conf", data: { "site.conf": "server {}" } } })).body.id;
			secretId = (await call("/secrets", { method: "POST", body: { namespace: ns.name, name: "web-tls", data: { "tls.key": SECRET_A } } })).body.id;
		});

		it("mounts a ConfigMap by name and a Secret by id, with mount_path and sub_path, stored in Berth's names", async () => {
			const res = await call("/deployments", {
				method: "POST",
				body: { namespace: ns.name, image: "nginx", name: "web", mounts: [{ configMap: "web-conf", mount_path: "/etc/web" }, { secret: secretId, mount_path: "/etc/tls/tls.key", sub_path: "tls.key" }] },
			});
			expect(res.status).toBe(201);
			depId = res.body.id;
			expect(res.body.mounts).toEqual([
				{ type: "configMap", name: "web-conf", mountPath: "/etc/web" },
				{ type: "secret", name: "web-tls", mountPath: "/etc/tls/tls.key", subPath: "tls.key" },
			]);
			const dep = await live<V1Deployment>("Deployment", "web");
			const pod = dep?.spec?.template.spec;
			expect(pod?.volumes).toEqual(expect.arrayContaining([expect.objectContaining({ configMap: expect.objectContaining({ name: "web-conf" }) }), expect.objectContaining({ secret: expect.objectContaining({ secretName: "web-tls" }) })]));
			expect(pod?.containers[0].volumeMounts).toEqual(expect.arrayContaining([expect.objectContaining({ mountPath: "/etc/web" }), expect.objectContaining({ mountPath: "/etc/tls/tls.key", subPath: "tls.key" })]));
		});

		it("mounts a ConfigMap by id and a Secret by name on update", async () => {
			const res = await call(`/deployments/${depId}`, { method: "PATCH", body: { mounts: [{ configMap: cmId, mountPath: "/srv/conf" }, { secret: "web-tls", mountPath: "/srv/tls" }] } });
			expect(res.status).toBe(200);
			expect(res.body.mounts).toEqual([
				{ type: "configMap", name: "web-conf", mountPath: "/srv/conf" },
				{ type: "secret", name: "web-tls", mountPath: "/srv/tls" },
			]);
			await eventually(async () => {
				const mounts = (await live<V1Deployment>("Deployment", "web"))?.spec?.template.spec?.containers[0].volumeMounts ?? [];
				expect(mounts.map(m => m.mountPath)).toEqual(expect.arrayContaining(["/srv/conf", "/srv/tls"]));
			});
		});

		it("refuses a mount of a missing ConfigMap with a 422 naming the mount, and stores nothing", async () => {
			const res = await call("/deployments", { method: "POST", body: { namespace: ns.name, image: "nginx", name: "no-conf", mounts: [{ configMap: "not-there", mountPath: "/etc/x" }] } });
			expect(res.status).toBe(422);
			expect(res.body.data).toEqual([expect.objectContaining({ field: "mounts[0].configMap" })]);
			expect((await call(`/deployments?namespace=${ns.name}`)).body.map((d: { name: string }) => d.name)).not.toContain("no-conf");
			expect(await live("Deployment", "no-conf")).toBeUndefined();
		});

		it("refuses to remove a mounted Secret (409), and removes it once nothing mounts it", async () => {
			const refused = await call(`/secrets/${secretId}`, { method: "DELETE" });
			expect(refused.status).toBe(409);
			expect(refused.body.data.deployments).toContain("web");
			expect(secretText(await live<V1Secret>("Secret", "web-tls"))).toEqual({ "tls.key": SECRET_A });
			expect((await call(`/deployments/${depId}`, { method: "DELETE" })).status).toBe(200);
			await eventually(async () => expect((await call(`/secrets/${secretId}`, { method: "DELETE" })).status).toBe(200));
			expect(await live("Secret", "web-tls")).toBeUndefined();
		});

		it("keeps them from another tenant: 404 on reads and writes, and no mount of them from its namespace", async () => {
			for (const [method, body] of [["GET"], ["PATCH", { data: { a: "b" } }], ["DELETE"]] as const) {
				const res = await request(`${mesh.url}/api/v1/k8s/configmaps/${cmId}`, { method, key: bob, body });
				expect([method, res.status]).toEqual([method, 404]);
			}
			expect((await request(`${mesh.url}/api/v1/k8s/configmaps`, { key: bob })).body).toEqual([]);
			const mount = await request(`${mesh.url}/api/v1/k8s/deployments`, { method: "POST", key: bob, body: { namespace: bobNs.name, image: "nginx", name: "steal", mounts: [{ configMap: cmId, mountPath: "/x" }] } });
			expect(mount.status).toBe(422);
			expect(mount.body.data).toEqual([expect.objectContaining({ field: "mounts[0].configMap" })]);
			const into = await request(`${mesh.url}/api/v1/k8s/secrets`, { method: "POST", key: bob, body: { namespace: ns.name, name: "planted", data: {} } });
			expect(into.status).toBe(404);
		});
	});

	it("never answered a Secret value", () => {
		for (const value of [SECRET_A, SECRET_B]) expect(answers.join("\n")).not.toContain(value);
	});
});
