import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { ServiceBroker, type ServiceSchema } from "moleculer";
import { setKubeClient } from "../../lib/k8s";
import { MASK } from "../../lib/api/envs";
import type { ImageEntity, LoadReport } from "../../lib/api/images";
import ImagesService from "../../services/k8s.images.service";
import NamespacesService from "../../services/k8s.namespaces.service";
import { FakeKube, startFakeNode } from "./namespaces.fakes";

const shipped = path.join(__dirname, "..", "..", "images");
const alice = { meta: { userID: "alice" } };
const admin = { meta: { userID: "root", roles: ["admin"] } };

describe("v1.k8s.images", () => {
	let dir: string;
	let broker: ServiceBroker;

	const write = (file: string, content: unknown) => fs.writeFileSync(path.join(dir, file), JSON.stringify(content, null, 2));
	const read = (file: string) => JSON.parse(fs.readFileSync(path.join(dir, file), "utf8"));

	beforeEach(async () => {
		dir = fs.mkdtempSync(path.join(os.tmpdir(), "berth-images-"));
		for (const f of fs.readdirSync(shipped)) fs.copyFileSync(path.join(shipped, f), path.join(dir, f));
		process.env.IMAGES_DIR = dir;
		broker = await startFakeNode(new FakeKube(), [ImagesService, NamespacesService]);
	});
	afterEach(async () => {
		await broker.stop();
		setKubeClient(undefined);
		fs.rmSync(dir, { recursive: true, force: true });
		delete process.env.IMAGES_DIR;
	});

	it("loads the catalog at start", async () => {
		const images = await broker.call<ImageEntity[], object>("v1.k8s.images.list", {}, alice);
		expect(images.map(i => i.name)).toEqual(["jupyter-notebook", "nginx", "node", "php-8-1-0-fpm", "postgres", "python", "redis"]);
		expect(images[0]).toHaveProperty("id");
		expect((await broker.call<ImageEntity[], object>("v1.k8s.images.list", { launchable: true }, alice)).map(i => i.name)).toEqual(["jupyter-notebook"]);
		expect(await broker.call<ImageEntity[], object>("v1.k8s.images.list", { launchable: "false" }, alice)).toHaveLength(6);
	});

	it("finds images by id, by name and by image reference", async () => {
		const php = await broker.call<ImageEntity, object>("v1.k8s.images.resolveName", { name: "php-8-1-0-fpm" });
		expect(php).toMatchObject({ name: "php-8-1-0-fpm", image: "php:8.1.0-fpm", resources: { limits: { cpu: 500, memory: 500 } } });
		await expect(broker.call("v1.k8s.images.get", { id: php.id })).resolves.toEqual(php);
		await expect(broker.call("v1.k8s.images.getImage", { name: "php-8-1-0-fpm" })).resolves.toEqual(php);
		await expect(broker.call("v1.k8s.images.getImage", { name: "php:8.1.0-fpm" })).resolves.toEqual(php);
	});

	it("masks the secret defaults an entry declares in list and get, but not for Berth's own services (scope: false)", async () => {
		write("vault.json", { ...read("redis.json"), name: "vault", image: "vault:1", env: [{ key: "ROOT_TOKEN", type: "secret", value: "catalog-default-s3cret" }, { key: "GENERATED", type: "secret" }, { key: "MODE", type: "as-is", value: "dev" }] });
		await broker.call("v1.k8s.images.loadImages", {}, admin);
		const masked = [{ key: "ROOT_TOKEN", type: "secret", value: MASK }, { key: "GENERATED", type: "secret" }, { key: "MODE", type: "as-is", value: "dev" }];
		const listed = (await broker.call<ImageEntity[], object>("v1.k8s.images.list", {}, alice)).find(i => i.name === "vault") as ImageEntity;
		expect(listed.env).toEqual(masked);
		expect((await broker.call<ImageEntity, object>("v1.k8s.images.get", { id: listed.id }, alice)).env).toEqual(masked);
		expect((await broker.call<ImageEntity, object>("v1.k8s.images.getImage", { name: "vault:1" }, admin)).env).toEqual(masked);
		expect((await broker.call<ImageEntity, object>("v1.k8s.images.resolveName", { name: "vault" }, alice)).env).toEqual(masked);
		expect(JSON.stringify(await broker.call("v1.k8s.images.find", {}, alice))).not.toContain("catalog-default-s3cret");
		const unmasked = await broker.call<ImageEntity, object>("v1.k8s.images.get", { id: listed.id, scope: false });
		expect(unmasked.env[0]).toEqual({ key: "ROOT_TOKEN", type: "secret", value: "catalog-default-s3cret" });
		expect((await broker.call<ImageEntity, object>("v1.k8s.images.resolveName", { name: "vault", scope: false })).env[0].value).toBe("catalog-default-s3cret");
	});

	it("answers 404 for unknown images", async () => {
		await expect(broker.call("v1.k8s.images.get", { id: "0dk8kKmgG4TeGMbVdVV2" })).rejects.toMatchObject({ code: 404, type: "NOT_FOUND" });
		await expect(broker.call("v1.k8s.images.resolveName", { name: "cobol" })).rejects.toMatchObject({ code: 404 });
		await expect(broker.call("v1.k8s.images.getImage", { name: "cobol:1" })).rejects.toMatchObject({ code: 404 });
	});

	it("reloads: updates changed entries, adds new ones, never duplicates", async () => {
		const before = await broker.call<ImageEntity, object>("v1.k8s.images.resolveName", { name: "redis" });
		write("redis.json", { ...read("redis.json"), tag: "7.4.1-alpine", image: "redis:7.4.1-alpine" });
		write("memcached.json", { ...read("redis.json"), name: "memcached", image: "memcached:1.6", repository: "library/memcached", tag: "1.6", ports: [{ name: "memcached", port: 11211, protocol: "TCP" }] });
		const report = await broker.call<LoadReport, object>("v1.k8s.images.loadImages", {}, admin);
		expect(report.added).toEqual(["memcached"]);
		expect(report.updated).toEqual(["redis"]);
		expect(report.unchanged).toHaveLength(6);
		const after = await broker.call<ImageEntity, object>("v1.k8s.images.resolveName", { name: "redis" });
		expect(after).toMatchObject({ id: before.id, image: "redis:7.4.1-alpine" });
		const again = await broker.call<LoadReport, object>("v1.k8s.images.loadImages", {}, admin);
		expect(again).toMatchObject({ added: [], updated: [] });
		expect(await broker.call("v1.k8s.images.count", {}, admin)).toBe(8);
	});

	it("drops fields a file no longer has", async () => {
		write("nginx.json", { ...read("nginx.json"), digest: `sha256:${"b".repeat(64)}` });
		await broker.call("v1.k8s.images.loadImages", {}, admin);
		expect(await broker.call("v1.k8s.images.resolveName", { name: "nginx" })).toHaveProperty("digest");
		const { digest: _drop, ...plain } = read("nginx.json");
		write("nginx.json", plain);
		await broker.call("v1.k8s.images.loadImages", {}, admin);
		expect(await broker.call("v1.k8s.images.resolveName", { name: "nginx" })).not.toHaveProperty("digest");
	});

	it("refuses a bad file on reload with the file and the field, and changes nothing", async () => {
		write("redis.json", { ...read("redis.json"), tag: "8" });
		write("zz-bad.json", { ...read("nginx.json"), name: "bad", ports: [{ name: "http", port: -1, protocol: "TCP" }] });
		await expect(broker.call("v1.k8s.images.loadImages", {}, admin)).rejects.toMatchObject({
			code: 422,
			type: "VALIDATION_ERROR",
			message: expect.stringContaining("zz-bad.json"),
			data: [expect.objectContaining({ field: "ports[0].port" })],
		});
		expect((await broker.call<ImageEntity, object>("v1.k8s.images.resolveName", { name: "redis" })).tag).toBe("7.4-alpine");
	});

	it("lets only administrators reload or clean the catalog", async () => {
		await expect(broker.call("v1.k8s.images.loadImages", {}, alice)).rejects.toMatchObject({ code: 403 });
		await expect(broker.call("v1.k8s.images.loadImages", {})).rejects.toMatchObject({ code: 401 });
		await expect(broker.call("v1.k8s.images.clean", {}, alice)).rejects.toMatchObject({ code: 403 });
		await expect(broker.call("v1.k8s.images.clean", {}, admin)).resolves.toEqual({ removed: 7 });
		expect(await broker.call("v1.k8s.images.count", {}, admin)).toBe(0);
	});

	it("filters by field values only", async () => {
		expect((await broker.call<ImageEntity[], object>("v1.k8s.images.find", { query: { launchable: true } }, alice)).map(i => i.name)).toEqual(["jupyter-notebook"]);
		await expect(broker.call("v1.k8s.images.find", { query: { $where: "1" } }, alice)).rejects.toMatchObject({ code: 422, data: [expect.objectContaining({ field: "query" })] });
		await expect(broker.call("v1.k8s.images.list", { query: '{"name":{"$regex":"."}}' }, alice)).rejects.toMatchObject({ code: 422 });
	});

	it("checks single entries' writes as files are checked, and offers no bulk insert", async () => {
		await expect(broker.call("v1.k8s.images.create", { name: "x" }, admin)).rejects.toMatchObject({ code: 422, data: expect.arrayContaining([expect.objectContaining({ field: "tag" })]) });
		await expect(broker.call("v1.k8s.images.create", { ...read("nginx.json"), name: "nginx-two", public: true }, admin)).rejects.toMatchObject({ code: 422, data: [expect.objectContaining({ field: "public" })] });
		await expect(broker.call("v1.k8s.images.remove", { id: "x" }, admin)).rejects.toMatchObject({ code: 404 });
		await expect(broker.call("v1.k8s.images.insert", { entities: [] }, admin)).rejects.toMatchObject({ name: "ServiceNotFoundError" });
	});

	describe("deploy", () => {
		it("needs a namespace the caller can use", async () => {
			const nginx = await broker.call<ImageEntity, object>("v1.k8s.images.resolveName", { name: "nginx" });
			await expect(broker.call("v1.k8s.images.deploy", { id: nginx.id }, alice)).rejects.toMatchObject({ code: 422, data: [expect.objectContaining({ field: "namespace" })] });
			const bobs = await broker.call<{ id: string }, object>("v1.k8s.namespaces.create", { name: "bobs" }, { meta: { userID: "bob" } });
			await expect(broker.call("v1.k8s.images.deploy", { id: nginx.id, namespace: bobs.id }, alice)).rejects.toMatchObject({ code: 404 });
			await broker.call("v1.k8s.namespaces.create", { name: "one" }, alice);
			await broker.call("v1.k8s.namespaces.create", { name: "two" }, alice);
			await expect(broker.call("v1.k8s.images.deploy", { id: nginx.id }, alice)).rejects.toMatchObject({ code: 422, message: expect.stringContaining("several") });
		});

		it("validates its params", async () => {
			await expect(broker.call("v1.k8s.images.deploy", { id: "x", name: "Bad_Name" }, alice)).rejects.toMatchObject({ code: 422, data: [expect.objectContaining({ field: "name" })] });
			await expect(broker.call("v1.k8s.images.deploy", { id: "x", replicas: 1000 }, alice)).rejects.toMatchObject({ code: 422, data: [expect.objectContaining({ field: "replicas" })] });
			await expect(broker.call("v1.k8s.images.deploy", { id: "x", vHosts: ["not a host"] }, alice)).rejects.toMatchObject({ code: 422 });
			await expect(broker.call("v1.k8s.images.deploy", { id: "no-such-image" }, alice)).rejects.toMatchObject({ code: 404 });
		});

		it("answers 503 while the deployments service is not running", async () => {
			await broker.call("v1.k8s.namespaces.create", { name: "solo" }, alice);
			await expect(broker.call("v1.k8s.images.deploy", { id: "nginx" }, alice)).rejects.toMatchObject({ code: 503 });
		});
	});
});

describe("v1.k8s.images with a bad catalog", () => {
	it("does not start, and says which file and field are wrong", async () => {
		const dir = fs.mkdtempSync(path.join(os.tmpdir(), "berth-images-"));
		fs.writeFileSync(path.join(dir, "broken.json"), JSON.stringify({ ...JSON.parse(fs.readFileSync(path.join(shipped, "nginx.json"), "utf8")), imagePullPolicy: "Sometimes" }));
		process.env.IMAGES_DIR = dir;
		const broker = new ServiceBroker({ logger: false });
		broker.createService(ImagesService as unknown as ServiceSchema);
		try {
			await expect(broker.start()).rejects.toThrow(/broken\.json: field "imagePullPolicy"/);
		} finally {
			await broker.stop().catch(() => undefined);
			fs.rmSync(dir, { recursive: true, force: true });
			delete process.env.IMAGES_DIR;
		}
	});
});
