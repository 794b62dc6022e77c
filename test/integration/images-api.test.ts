import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import type { ServiceSchema } from "moleculer";
import { Kinds, type V1Deployment, type V1LimitRange } from "../../lib/k8s";
import { kube, uniqueName } from "../helpers/cluster";
import { backends as dbBackends, dropDatabase, useStore } from "../helpers/backends";
import { eventually } from "../helpers/eventually";
import { addMember, issueKey } from "../helpers/access";
import { createNamespace, request, startMesh, type Mesh } from "../helpers/mesh";

const shipped = path.resolve(__dirname, "..", "..", "images");

/** An entry as a file would give it (valid as is). */
function entry(name: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
	return {
		name,
		namespace: "library",
		tag: "1.2.3",
		image: `ghcr.io/acme/${name}:1.2.3`,
		registry: "ghcr.io",
		repository: `acme/${name}`,
		description: `The ${name} service`,
		imagePullPolicy: "IfNotPresent",
		imagePullSecrets: [],
		ports: [{ name: "http", port: 8080, protocol: "TCP" }],
		env: [
			{ key: "MODE", type: "as-is", value: "prod" },
			{ key: "API_TOKEN", type: "secret", value: "s3cret-token-value" },
		],
		volumes: [],
		resources: { limits: { cpu: 200, memory: 128 }, requests: { cpu: 50, memory: 64 } },
		...extra,
	};
}

interface Heard {
	event: string;
	params: Record<string, unknown>;
}

describe.each(dbBackends())("images through the API on %s", (_backend, pickMongo) => {
	let mesh: Mesh;
	let uri: string | undefined;
	let dir: string;
	const heard: Heard[] = [];
	const made: string[] = [];
	const users = { a: uniqueName("img-a"), b: uniqueName("img-b"), viewer: uniqueName("img-v") };
	const keys: Record<keyof typeof users, string> = { a: "", b: "", viewer: "" };
	let nsA: { id: string; name: string };
	let nsB: { id: string; name: string };

	const api = (p: string, key: string, init: { method?: string; body?: unknown } = {}) => request(`${mesh.url}/api/v1/k8s${p}`, { key, ...init });
	const fieldsOf = (body: { data?: { field?: string }[] }) => (body.data ?? []).map(d => d.field);

	beforeAll(async () => {
		uri = pickMongo();
		useStore(uri);
		dir = fs.mkdtempSync(path.join(os.tmpdir(), "berth-it-images-api-"));
		for (const f of fs.readdirSync(shipped)) fs.copyFileSync(path.join(shipped, f), path.join(dir, f));
		process.env.IMAGES_DIR = dir;
		mesh = await startMesh(["api", "keys", "k8s.namespaces", "k8s.images", "k8s.volumes", "k8s.deployments", "k8s.envs"]);
		const spy: ServiceSchema = {
			name: uniqueName("images-spy"),
			events: {
				"k8s.images.*"(ctx: { eventName: string | null; params: Record<string, unknown> }) {
					heard.push({ event: String(ctx.eventName), params: ctx.params });
				},
			},
		};
		mesh.broker.createService(spy);
		for (const who of Object.keys(users) as (keyof typeof users)[]) keys[who] = (await issueKey(mesh, users[who])).key;
		nsA = await createNamespace(mesh, keys.a, uniqueName("it-imga"));
		nsB = await createNamespace(mesh, keys.b, uniqueName("it-imgb"));
		made.push(nsA.name, nsB.name);
		await addMember(mesh, keys.a, nsA.id, users.viewer, "view");
	});
	afterAll(async () => {
		await mesh?.stop();
		await Promise.all(made.map(name => kube().delete({ apiVersion: "v1", kind: "Namespace", name }).catch(() => undefined)));
		if (uri) await dropDatabase(uri);
		fs.rmSync(dir, { recursive: true, force: true });
		delete process.env.IMAGES_DIR;
		delete process.env.MONGO_URI;
		delete process.env.IMAGE_POLICY;
	});

	it("lets a platform admin create, update and remove catalog images, with events that hold no secret value", async () => {
		const name = uniqueName("web");
		const created = await api("/images", mesh.adminKey, { method: "POST", body: entry(name) });
		expect(created.status).toBe(201);
		expect(created.headers.get("location")).toBe(`/api/v1/k8s/images/${created.body.id}`);
		expect(created.body).toMatchObject({ name, source: "api", image: `ghcr.io/acme/${name}:1.2.3` });
		expect(created.text).not.toContain("s3cret-token-value");
		expect(created.body.key).toBeUndefined();
		// Visible to any key, as the catalog is.
		expect((await api(`/images/${created.body.id}`, keys.b)).body).toMatchObject({ name });
		expect((await api("/images", mesh.adminKey, { method: "POST", body: entry(name) })).status).toBe(409);
		expect((await api("/images", keys.a, { method: "POST", body: entry(uniqueName("web")) })).status).toBe(403);

		const updated = await api(`/images/${created.body.id}`, mesh.adminKey, { method: "PATCH", body: { description: "Changed", tag: "1.2.4", image: `ghcr.io/acme/${name}:1.2.4` } });
		expect(updated.status).toBe(200);
		expect(updated.body).toMatchObject({ id: created.body.id, description: "Changed", tag: "1.2.4", ports: [{ port: 8080 }] });
		expect((await api(`/images/${created.body.id}`, keys.a, { method: "PATCH", body: { description: "Mine" } })).status).toBe(403);

		const removed = await api(`/images/${created.body.id}`, mesh.adminKey, { method: "DELETE" });
		expect(removed.status).toBe(200);
		expect((await api(`/images/${created.body.id}`, mesh.adminKey)).status).toBe(404);

		await eventually(() => expect(heard.filter(h => h.params.id === created.body.id).map(h => h.event)).toEqual(["k8s.images.created", "k8s.images.updated", "k8s.images.removed"]));
		for (const h of heard.filter(x => x.params.id === created.body.id)) expect(JSON.stringify(h.params)).not.toContain("s3cret-token-value");
	});

	it("refuses a bad field with a 422 naming it, and stores nothing", async () => {
		const name = uniqueName("bad");
		const cases: [Record<string, unknown>, string][] = [
			[{ ...entry(name), berthNoSuchField: 1 }, "berthNoSuchField"],
			[entry(name, { ports: [{ name: "http", port: 0, protocol: "TCP" }] }), "ports[0].port"],
			[entry(name, { resources: { limits: { cpu: 100, memory: 64 }, requests: { cpu: 200, memory: 64 } } }), "resources.requests.cpu"],
			[entry(name, { capabilities: ["SYS_ADMIN"] }), "capabilities[0]"],
			[entry(name, { public: true }), "public"],
		];
		for (const [body, field] of cases) {
			const res = await api("/images", mesh.adminKey, { method: "POST", body });
			expect([field, res.status, res.body.type]).toEqual([field, 422, "VALIDATION_ERROR"]);
			expect(fieldsOf(res.body)).toContain(field);
		}
		expect((await api(`/images/name/${name}`, mesh.adminKey)).status).toBe(404);
		const nginx = (await api("/images/name/nginx", mesh.adminKey)).body;
		const patch = await api(`/images/${nginx.id}`, mesh.adminKey, { method: "PATCH", body: { resources: { limits: { cpu: 10, memory: 64 }, requests: { cpu: 20, memory: 64 } } } });
		expect([patch.status, fieldsOf(patch.body)]).toEqual([422, ["resources.requests.cpu"]]);
		expect((await api(`/images/${nginx.id}`, mesh.adminKey)).body).toEqual(nginx);
	});

	it("keeps a namespace's image to its members: another tenant gets 404 on get, list, name, deploy, update and remove", async () => {
		const name = uniqueName("tool");
		expect(fieldsOf((await api("/images", keys.a, { method: "POST", body: { ...entry(name, { launchable: true, public: true }), namespaceId: nsA.id } })).body)).toEqual(["public", "launchable"]);
		expect((await api("/images", keys.a, { method: "POST", body: { ...entry("nginx"), namespaceId: nsA.id } })).status).toBe(409);
		// Not a namespace of A's: the same 422 as a missing one.
		expect(fieldsOf((await api("/images", keys.a, { method: "POST", body: { ...entry(name), namespaceId: nsB.id } })).body)).toEqual(["namespaceId"]);
		const mine = await api("/images", keys.a, { method: "POST", body: { ...entry(name), namespaceId: nsA.name } });
		expect(mine.status).toBe(201);
		expect(mine.body).toMatchObject({ name, namespaceId: nsA.id, source: "api" });
		const id = mine.body.id;

		expect((await api("/images", keys.a)).body.map((i: { id: string }) => i.id)).toContain(id);
		expect((await api(`/images/name/${name}`, keys.viewer)).body).toMatchObject({ id });
		expect((await api(`/images/${id}`, keys.viewer, { method: "PATCH", body: { description: "x" } })).status).toBe(403);

		const list = await api("/images", keys.b);
		expect(list.text).not.toContain(name);
		for (const [p, method, body] of [[`/images/${id}`, "GET"], [`/images/name/${name}`, "GET"], [`/images/${id}/deploy`, "POST", { namespace: nsB.id }], [`/images/${id}`, "PATCH", { description: "Theirs" }], [`/images/${id}`, "DELETE"]] as [string, string, unknown?][]) {
			const res = await api(p, keys.b, { method, body });
			expect([method, p, res.status]).toEqual([method, p, 404]);
			// What the caller did not send stays unsaid (a name route echoes the name it was given).
			if (!p.includes(name)) expect(res.text).not.toContain(name);
		}
		// Naming it in a deployment of B's: the image field's 422, as for a name the catalog lacks.
		const dep = await api("/deployments", keys.b, { method: "POST", body: { name: "stolen", namespace: nsB.id, image: id } });
		expect([dep.status, fieldsOf(dep.body)]).toEqual([422, ["image"]]);
		// B may use the same name in B's namespace: names are unique per namespace, and nothing of A's shows.
		expect((await api("/images", keys.b, { method: "POST", body: { ...entry(name), namespaceId: nsB.id } })).status).toBe(201);

		const deployed = await api(`/images/${id}/deploy`, keys.a, { method: "POST", body: { namespace: nsA.id, name: "tool", replicas: 0 } });
		expect(deployed.status).toBe(201);
		expect(deployed.body).toMatchObject({ image: id, namespace: nsA.id });
		await eventually(async () => {
			const d = await kube().get<V1Deployment>({ apiVersion: "apps/v1", kind: "Deployment", name: "tool", namespace: nsA.name });
			expect(d?.spec?.template?.spec?.containers?.[0]?.image).toBe(`ghcr.io/acme/${name}:1.2.3`);
		});
		expect((await api(`/images/${id}`, keys.a, { method: "DELETE" })).status).toBe(200);
	});

	it("accepts a namespace's image from Berth's own services (a build's entry) with its source", async () => {
		const name = uniqueName("built");
		const saved = await mesh.broker.call<{ id: string; source: string; namespaceId: string }, Record<string, unknown>>("v1.k8s.images.create", { ...entry(name), namespaceId: nsA.id, source: "build", scope: false });
		expect(saved).toMatchObject({ source: "build", namespaceId: nsA.id });
		expect((await api(`/images/${saved.id}`, keys.a)).status).toBe(200);
		expect((await api(`/images/${saved.id}`, keys.b)).status).toBe(404);
		const res = await api("/images", keys.a, { method: "POST", body: { ...entry(uniqueName("built")), namespaceId: nsA.id, source: "build" } });
		expect([res.status, fieldsOf(res.body)]).toEqual([422, ["source"]]);
	});

	it("reports the file entries the API has overridden, and keeps them as the API left them", async () => {
		const redis = (await api("/images/name/redis", mesh.adminKey)).body;
		expect(redis.source).toBe("file");
		const changed = await api(`/images/${redis.id}`, mesh.adminKey, { method: "PUT", body: { description: "Redis, as we run it" } });
		expect(changed.body).toMatchObject({ source: "file", overridden: true, description: "Redis, as we run it" });
		const file = JSON.parse(fs.readFileSync(path.join(dir, "redis.json"), "utf8"));
		fs.writeFileSync(path.join(dir, "redis.json"), JSON.stringify({ ...file, description: "From the file" }));
		const load = await api("/images/load", mesh.adminKey, { method: "POST", body: {} });
		expect(load.status).toBe(200);
		expect(load.body.overridden).toContain("redis");
		expect(load.body.updated).not.toContain("redis");
		expect((await api("/images/name/redis", mesh.adminKey)).body).toMatchObject({ id: redis.id, description: "Redis, as we run it" });
	});

	it("deploys an image reference with the request's ports, and resources from the namespace's LimitRange", async () => {
		const ref = "ghcr.io/acme/echo:2.0.1";
		const res = await api("/deployments", keys.a, { method: "POST", body: { name: "echo", namespace: nsA.id, image: ref, replicas: 0, ports: [{ name: "http", port: 5678 }] } });
		expect(res.status).toBe(201);
		expect(res.body).toMatchObject({ image: ref, imageName: ref, ports: [{ name: "http", port: 5678 }] });
		const [range] = await kube().list<V1LimitRange>(Kinds.LimitRange, { namespace: nsA.name });
		const defaults = range.spec?.limits?.find(l => l.type === "Container");
		await eventually(async () => {
			const d = await kube().get<V1Deployment>({ apiVersion: "apps/v1", kind: "Deployment", name: "echo", namespace: nsA.name });
			const container = d?.spec?.template?.spec?.containers?.[0];
			expect(container?.image).toBe(ref);
			expect(container?.ports?.map(p => p.containerPort)).toEqual([5678]);
			expect(container?.resources?.limits).toEqual(defaults?._default);
			expect(container?.resources?.requests).toEqual(defaults?.defaultRequest);
		});
		// A name the catalog lacks is not taken for Docker Hub's `…:latest`.
		const typo = await api("/deployments", keys.a, { method: "POST", body: { name: "typo", namespace: nsA.id, image: "ngnix" } });
		expect([typo.status, fieldsOf(typo.body)]).toEqual([422, ["image"]]);
	});

	it("refuses an image reference IMAGE_POLICY does not admit with a 422 on image, storing nothing", async () => {
		process.env.IMAGE_POLICY = "ghcr.io/acme/*, quay.io";
		try {
			const refused = await api("/deployments", keys.a, { method: "POST", body: { name: "miner", namespace: nsA.id, image: "docker.io/evil/miner:1.0" } });
			expect([refused.status, refused.body.type, fieldsOf(refused.body)]).toEqual([422, "VALIDATION_ERROR", ["image"]]);
			expect(refused.body.message).toContain("IMAGE_POLICY");
			const list = await api(`/deployments?namespace=${nsA.id}`, keys.a);
			expect(JSON.stringify(list.body)).not.toContain("miner");
			expect(await kube().get({ apiVersion: "apps/v1", kind: "Deployment", name: "miner", namespace: nsA.name })).toBeFalsy();
			const admitted = await api("/deployments", keys.a, { method: "POST", body: { name: "quayed", namespace: nsA.id, image: "quay.io/acme/tool@sha256:" + "a".repeat(64), replicas: 0 } });
			expect(admitted.status).toBe(201);
			// Catalog entries are not references: the policy does not apply to them.
			expect((await api("/deployments", keys.a, { method: "POST", body: { name: "web", namespace: nsA.id, image: "nginx", replicas: 0 } })).status).toBe(201);
		} finally {
			delete process.env.IMAGE_POLICY;
		}
	});
});
