import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import type { V1Deployment } from "../../lib/k8s";
import { kube, uniqueName } from "../helpers/cluster";
import { backends as dbBackends, dropDatabase, useStore } from "../helpers/backends";
import { eventually } from "../helpers/eventually";
import { request, startMesh, type Mesh } from "../helpers/mesh";

const shipped = path.resolve(__dirname, "..", "..", "images");

const backends = dbBackends();

const NAMES = ["jupyter-notebook", "nginx", "node", "php-8-1-0-fpm", "postgres", "python", "redis"];

describe.each(backends)("v1.k8s.images on %s", (_backend, pickMongo) => {
	let mesh: Mesh;
	let user: string;
	let uri: string | undefined;
	let dir: string;
	const made: string[] = [];

	const images = (p: string, init: { method?: string; key?: string; body?: unknown } = {}) => request(`${mesh.url}/api/v1/k8s/images${p}`, { key: user, ...init });
	const readFile = (file: string) => JSON.parse(fs.readFileSync(path.join(dir, file), "utf8"));
	const writeFile = (file: string, content: unknown) => fs.writeFileSync(path.join(dir, file), JSON.stringify(content, null, 2));

	beforeAll(async () => {
		uri = pickMongo();
		useStore(uri);
		// A copy of the shipped catalog, so reload tests can change it.
		dir = fs.mkdtempSync(path.join(os.tmpdir(), "berth-it-images-"));
		for (const f of fs.readdirSync(shipped)) fs.copyFileSync(path.join(shipped, f), path.join(dir, f));
		process.env.IMAGES_DIR = dir;
		mesh = await startMesh(["api", "keys", "k8s.namespaces", "k8s.images", "k8s.volumes", "k8s.deployments", "k8s.envs"]);
		user = (await request(`${mesh.url}/api/v1/keys`, { method: "POST", key: mesh.adminKey, body: { name: "images-user", userID: uniqueName("img-user") } })).body.key;
	});
	afterAll(async () => {
		await mesh?.stop();
		await Promise.all(made.map(name => kube().delete({ apiVersion: "v1", kind: "Namespace", name }).catch(() => undefined)));
		if (uri) await dropDatabase(uri);
		fs.rmSync(dir, { recursive: true, force: true });
		delete process.env.IMAGES_DIR;
		delete process.env.MONGO_URI;
	});

	it("serves the starter catalog to any key", async () => {
		const res = await images("");
		expect(res.status).toBe(200);
		expect(res.body.map((i: { name: string }) => i.name)).toEqual(NAMES);
		const php = res.body.find((i: { name: string }) => i.name === "php-8-1-0-fpm");
		expect(php).toMatchObject({ id: expect.any(String), image: "php:8.1.0-fpm", ports: [{ name: "php", port: 9000, protocol: "TCP" }], resources: { limits: { cpu: 500, memory: 500 }, requests: { cpu: 100, memory: 20 } } });
		expect((await images(`/${php.id}`)).body).toEqual(php);
		expect((await images("/name/php-8-1-0-fpm")).body).toEqual(php);
		expect((await images("?launchable=true")).body.map((i: { name: string }) => i.name)).toEqual(["jupyter-notebook"]);
		expect((await request(`${mesh.url}/api/v1/k8s/images`)).status).toBe(401);
	});

	it("answers the seed's resolveName and get over the mesh", async () => {
		const php = await mesh.broker.call<{ id: string; name: string }, object>("v1.k8s.images.resolveName", { name: "php-8-1-0-fpm" });
		await expect(mesh.broker.call("v1.k8s.images.get", { id: php.id })).resolves.toMatchObject({ name: "php-8-1-0-fpm" });
		await expect(mesh.broker.call("v1.k8s.images.getImage", { name: "php:8.1.0-fpm" })).resolves.toMatchObject({ id: php.id });
	});

	it("answers 404 for unknown images and ids", async () => {
		for (const p of ["/0dk8kKmgG4TeGMbVdVV2", "/507f1f77bcf86cd799439011", "/name/cobol"]) {
			const res = await images(p);
			expect([p, res.status, res.body.type]).toEqual([p, 404, "NOT_FOUND"]);
		}
	});

	it("reloads: updates existing entries, adds new ones, never duplicates; admin only", async () => {
		expect((await images("/load", { method: "POST" })).status).toBe(403);
		const before = (await images("/name/redis")).body;
		writeFile("redis.json", { ...readFile("redis.json"), tag: "7.4.2-alpine", image: "redis:7.4.2-alpine" });
		writeFile("valkey.json", { ...readFile("redis.json"), name: "valkey", image: "valkey/valkey:8.0", repository: "valkey/valkey", namespace: "valkey", tag: "8.0" });
		const res = await images("/load", { method: "POST", key: mesh.adminKey });
		expect(res.status).toBe(200);
		expect(res.body).toEqual({ added: ["valkey"], updated: ["redis"], unchanged: NAMES.filter(n => n !== "redis"), overridden: [] });
		expect((await images("/name/redis")).body).toMatchObject({ id: before.id, image: "redis:7.4.2-alpine" });
		const again = await images("/load", { method: "POST", key: mesh.adminKey });
		expect(again.body).toMatchObject({ added: [], updated: [] });
		expect((await images("")).body).toHaveLength(NAMES.length + 1);
	});

	it("refuses a reload with an invalid file, naming the file and the field", async () => {
		writeFile("zz-broken.json", { ...readFile("nginx.json"), name: "broken", resources: { limits: { cpu: 100, memory: 64 }, requests: { cpu: 200, memory: 64 } } });
		try {
			const res = await images("/load", { method: "POST", key: mesh.adminKey });
			expect(res.status).toBe(422);
			expect(res.body.message).toContain("zz-broken.json");
			expect(res.body.data).toEqual([expect.objectContaining({ field: "resources.requests.cpu" })]);
			expect((await images("/name/broken")).status).toBe(404);
		} finally {
			fs.rmSync(path.join(dir, "zz-broken.json"));
		}
	});

	it("deploys an image into the caller's namespace through v1.k8s.deployments", async () => {
		const nginx = (await images("/name/nginx")).body;
		expect((await images(`/${nginx.id}/deploy`, { method: "POST", body: {} })).body).toMatchObject({ code: 422, data: [expect.objectContaining({ field: "namespace" })] });
		const nsName = uniqueName("it-img");
		made.push(nsName);
		const ns = (await request(`${mesh.url}/api/v1/k8s/namespaces`, { method: "POST", key: user, body: { name: nsName } })).body;
		const res = await images(`/${nginx.id}/deploy`, { method: "POST", body: { name: "web", replicas: 2 } });
		expect(res.status).toBeLessThan(300);
		expect(res.body).toMatchObject({ name: "web", namespace: ns.id, image: nginx.id, replicas: 2 });
		await eventually(async () => {
			const dep = await kube().get<V1Deployment>({ apiVersion: "apps/v1", kind: "Deployment", name: "web", namespace: nsName });
			expect(dep?.spec?.replicas).toBe(2);
			expect(dep?.spec?.template?.spec?.containers?.[0]?.image).toBe("nginx:1.27");
		});
		const bad = await images(`/${nginx.id}/deploy`, { method: "POST", body: { namespace: ns.id, name: "Bad_Name" } });
		expect(bad.status).toBe(422);
		expect(bad.body.data).toEqual([expect.objectContaining({ field: "name" })]);
	});
});
