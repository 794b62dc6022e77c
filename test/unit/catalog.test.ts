import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { CatalogError, catalogDir, loadCatalog, validateImage, type CatalogImage } from "../../lib/catalog";
import { SEED_PHP } from "../helpers/images";

const valid: CatalogImage = JSON.parse(fs.readFileSync(path.join(__dirname, "..", "..", "images", "php-8-1-0-fpm.json"), "utf8"));

function fieldOf(fn: () => unknown): string | undefined {
	try {
		fn();
	} catch (err) {
		if (err instanceof CatalogError) return err.field;
		throw err;
	}
	return undefined;
}

describe("the shipped catalog", () => {
	const images = loadCatalog();

	it("is found at the repository root and every file is valid", () => {
		expect(catalogDir({})).toBe(path.resolve(__dirname, "..", "..", "images"));
		expect(images.map(i => i.name).sort()).toEqual(["jupyter-notebook", "nginx", "node", "php-8-1-0-fpm", "postgres", "python", "redis"]);
	});

	it("has the seed's php example as php-8-1-0-fpm", () => {
		expect(images.find(i => i.name === "php-8-1-0-fpm")).toMatchObject({
			namespace: "library",
			tag: "8.1.0-fpm",
			registry: "docker.io",
			repository: "library/php",
			...SEED_PHP,
		});
	});

	it("offers the notebook server as a launchable template", () => {
		expect(images.find(i => i.name === "jupyter-notebook")).toMatchObject({ launchable: true, ports: [{ port: 8888 }] });
	});

	it("honours IMAGES_DIR", () => {
		expect(catalogDir({ IMAGES_DIR: "/tmp/elsewhere" })).toBe("/tmp/elsewhere");
	});
});

describe("validateImage", () => {
	const bad = (patch: Record<string, unknown>) => () => validateImage({ ...valid, ...patch }, "images/x.json");

	it("accepts a valid entry and an optional digest", () => {
		expect(validateImage(valid, "f")).toBe(valid);
		expect(validateImage({ ...valid, digest: `sha256:${"a".repeat(64)}` }, "f").digest).toMatch(/^sha256:/);
	});

	it.each([
		[{ name: "Not Valid" }, "name"],
		[{ name: undefined }, "name"],
		[{ tag: "" }, "tag"],
		[{ digest: "md5:abc" }, "digest"],
		[{ image: "UPPER:case" }, "image"],
		[{ imagePullPolicy: "Sometimes" }, "imagePullPolicy"],
		[{ imagePullSecrets: "secret" }, "imagePullSecrets"],
		[{ ports: [{ name: "http", port: 70000, protocol: "TCP" }] }, "ports[0].port"],
		[{ ports: [{ name: "http", port: 80, protocol: "HTTP" }] }, "ports[0].protocol"],
		[{ env: [{ key: "1BAD", type: "secret" }] }, "env[0].key"],
		[{ env: [{ key: "A", type: "magic" }] }, "env[0].type"],
		[{ volumes: [{ name: "d", type: "hostPath", mountPath: "/d" }] }, "volumes[0].type"],
		[{ volumes: [{ name: "d", type: "persistentVolumeClaim", mountPath: "relative" }] }, "volumes[0].mountPath"],
		[{ resources: { limits: { cpu: "500m", memory: 500 }, requests: { cpu: 100, memory: 20 } } }, "resources.limits.cpu"],
		[{ resources: { limits: { cpu: 100, memory: 500 }, requests: { cpu: 200, memory: 20 } } }, "resources.requests.cpu"],
		[{ ports: [{ name: "a", port: 80, protocol: "TCP" }, { name: "a", port: 81, protocol: "TCP" }] }, "ports[1].name"],
		[{ colour: "blue" }, "colour"],
		[{ resources: { limits: { cpu: 1, memory: 1, gpu: 1 }, requests: { cpu: 1, memory: 1 } } }, "resources.limits.gpu"],
		[{ public: true }, "public"],
	])("names the field of %p", (patch, field) => {
		expect(fieldOf(bad(patch))).toBe(field);
	});

	it("names the file in the message", () => {
		expect(bad({ ports: [{ name: "http", port: 0, protocol: "TCP" }] })).toThrow(/^images\/x\.json: field "ports\[0\]\.port": /);
	});

	it("refuses what is not an object", () => {
		expect(() => validateImage([], "images/list.json")).toThrow(/images\/list\.json: must be a JSON object/);
	});
});

describe("loadCatalog", () => {
	let dir: string;
	beforeEach(() => {
		dir = fs.mkdtempSync(path.join(os.tmpdir(), "berth-catalog-"));
	});
	afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

	const write = (file: string, content: unknown) => fs.writeFileSync(path.join(dir, file), typeof content === "string" ? content : JSON.stringify(content));

	it("reads every .json file in name order and ignores other files", () => {
		write("b.json", { ...valid, name: "b" });
		write("a.json", { ...valid, name: "a" });
		write("README.md", "# not an image");
		expect(loadCatalog(dir).map(i => i.name)).toEqual(["a", "b"]);
	});

	it("reports unparsable JSON with the file", () => {
		write("broken.json", "{ name: ");
		expect(() => loadCatalog(dir)).toThrow(/broken\.json: is not valid JSON/);
	});

	it("refuses two files with one name, naming both", () => {
		write("one.json", valid);
		write("two.json", valid);
		const err = (() => {
			try {
				loadCatalog(dir);
			} catch (e) {
				return e as CatalogError;
			}
		})();
		expect(err).toBeInstanceOf(CatalogError);
		expect(err?.field).toBe("name");
		expect(err?.message).toMatch(/two\.json.*already used by .*one\.json/);
	});

	it("reports a missing directory", () => {
		expect(() => loadCatalog(path.join(dir, "nope"))).toThrow(/does not exist/);
	});
});
