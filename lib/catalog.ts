import * as fs from "node:fs";
import * as path from "node:path";
import Validator from "fastest-validator";
import { MASK } from "./api/envs";
import { DNS1123_LABEL, ENV_KEY, objectList } from "./api/rules";
import type { CatalogEnv, CatalogImage, CatalogPort, CatalogResources, CatalogVolume } from "./api/images";
import { VOLUME_MOUNT_PATH } from "./api/volumes";
import { probeProblem, probeRule } from "./api/probes";
import { BASELINE_CAPABILITIES } from "./manifests/security";

// The entry's shape is the images contract (lib/api/images.ts); re-exported for the existing imports.
export type { CatalogEnv, CatalogImage, CatalogPort, CatalogResources, CatalogVolume };

/**
 * The image catalog: one JSON file per image under `images/` (or IMAGES_DIR), with the fields of
 * the seed's php example. Files are checked when they are loaded; a bad file is reported with its
 * path and the offending field, and nothing from that load is used.
 */

/** The fields a catalog entry may have, in the order the seed lists them. */
export const CATALOG_FIELDS = [
	"name", "namespace", "tag", "digest", "image", "registry", "repository", "description", "imagePullPolicy",
	"imagePullSecrets", "ports", "env", "volumes", "resources", "command", "args", "launchable", "public",
	"runAsUser", "runAsGroup", "capabilities", "readinessProbe", "livenessProbe", "startupProbe", "launchToken",
] as const;

/**
 * An entry as callers see it: the value of a `secret` env it declares with one is masked. Berth's
 * own services read the entry unmasked, to write that value into a deployment's Secret.
 */
export function maskCatalogSecrets<T extends Pick<CatalogImage, "env">>(image: T): T {
	if (!image.env?.some(e => e.type === "secret" && e.value !== undefined)) return image;
	return { ...image, env: image.env.map(e => (e.type === "secret" && e.value !== undefined ? { ...e, value: MASK } : e)) };
}

export class CatalogError extends Error {
	constructor(readonly file: string, readonly field: string, detail: string) {
		super(`${file}: ${field ? `field "${field}": ` : ""}${detail}`);
		this.name = "CatalogError";
	}
}

const resourcePair = (maxCpu: number, maxMemory: number) => ({
	type: "object",
	strict: true,
	props: {
		cpu: { type: "number", integer: true, min: 1, max: maxCpu },
		memory: { type: "number", integer: true, min: 1, max: maxMemory },
	},
});

/** The validator rules of an entry's fields (the files' and the API's: lib/images/entries.ts). */
export const CATALOG_RULES = {
	name: { type: "string", pattern: DNS1123_LABEL, max: 63 },
	namespace: { type: "string", min: 1, max: 255 },
	tag: { type: "string", pattern: /^[\w][\w.-]{0,127}$/ },
	digest: { type: "string", pattern: /^sha256:[a-f0-9]{64}$/, optional: true },
	image: { type: "string", pattern: /^([a-z0-9][-a-z0-9.]*(:\d+)?\/)?[a-z0-9]+([._\/-][a-z0-9]+)*(:[\w][\w.-]{0,127})?(@sha256:[a-f0-9]{64})?$/, max: 512 },
	registry: { type: "string", pattern: /^[a-z0-9]([-a-z0-9.]*[a-z0-9])?(:\d+)?$/, max: 253 },
	repository: { type: "string", pattern: /^[a-z0-9]+([._\/-][a-z0-9]+)*$/, max: 255 },
	description: { type: "string", min: 1, max: 1000 },
	imagePullPolicy: { type: "enum", values: ["Always", "IfNotPresent", "Never"] },
	imagePullSecrets: { type: "array", items: { type: "string", pattern: DNS1123_LABEL, max: 253 } },
	ports: objectList({
		name: { type: "string", pattern: DNS1123_LABEL, max: 15 },
		port: { type: "number", integer: true, min: 1, max: 65535 },
		protocol: { type: "enum", values: ["TCP", "UDP", "SCTP"] },
		expose: { type: "enum", values: ["public", "cluster"], optional: true },
	}),
	env: objectList({
		key: { type: "string", pattern: ENV_KEY, max: 253 },
		type: { type: "enum", values: ["as-is", "secret"] },
		value: { type: "string", optional: true, max: 65536 },
	}),
	volumes: objectList({
		name: { type: "string", pattern: DNS1123_LABEL, max: 63 },
		type: { type: "equal", value: "persistentVolumeClaim" },
		mountPath: { type: "string", pattern: VOLUME_MOUNT_PATH, max: 255 },
	}),
	resources: {
		type: "object",
		strict: true,
		props: { limits: resourcePair(64_000, 262_144), requests: resourcePair(64_000, 262_144) },
	},
	command: { type: "array", items: { type: "string", max: 4096 }, optional: true },
	args: { type: "array", items: { type: "string", max: 4096 }, optional: true },
	launchable: { type: "boolean", optional: true },
	public: { type: "boolean", optional: true },
	runAsUser: { type: "number", integer: true, min: 1, max: 2147483647, optional: true },
	runAsGroup: { type: "number", integer: true, min: 0, max: 2147483647, optional: true },
	capabilities: { type: "array", items: { type: "enum", values: [...BASELINE_CAPABILITIES] }, unique: true, optional: true },
	readinessProbe: probeRule,
	livenessProbe: probeRule,
	startupProbe: probeRule,
	launchToken: { type: "string", pattern: ENV_KEY, max: 253, optional: true },
};

const check = new Validator({ haltOnFirstError: false }).compile({ $$strict: true, ...CATALOG_RULES });

/** Checks one parsed catalog file; returns the image or throws a CatalogError naming the field. */
export function validateImage(data: unknown, file: string): CatalogImage {
	if (!data || typeof data !== "object" || Array.isArray(data)) throw new CatalogError(file, "", "must be a JSON object describing one image");
	const result = check(data);
	if (result !== true) {
		const first = (result as { field?: string; message?: string; type?: string; expected?: unknown; actual?: unknown }[])[0];
		if (first.type === "objectStrict") throw new CatalogError(file, unknownField(first), `is not a known field (allowed here: ${String(first.expected)})`);
		throw new CatalogError(file, first.field ?? "", first.message ?? "is invalid");
	}
	const image = data as CatalogImage;
	for (const kind of ["cpu", "memory"] as const) {
		if (image.resources.requests[kind] > image.resources.limits[kind])
			throw new CatalogError(file, `resources.requests.${kind}`, `must not exceed resources.limits.${kind} (${image.resources.limits[kind]})`);
	}
	for (const [list, key] of [["ports", "name"], ["env", "key"], ["volumes", "name"]] as const) {
		const seen = new Set<string>();
		(image[list] as unknown as Record<string, string>[]).forEach((item, i) => {
			if (seen.has(item[key])) throw new CatalogError(file, `${list}[${i}].${key}`, `duplicate ${key} "${item[key]}"`);
			seen.add(item[key]);
		});
	}
	if (image.public && !image.launchable) throw new CatalogError(file, "public", "only a launchable image can be public");
	if (image.runAsGroup !== undefined && image.runAsUser === undefined) throw new CatalogError(file, "runAsGroup", "needs runAsUser");
	if (image.launchToken && !image.env.some(e => e.key === image.launchToken && e.type === "secret")) throw new CatalogError(file, "launchToken", `names no secret env of the image ("${image.launchToken}")`);
	for (const kind of ["readinessProbe", "livenessProbe", "startupProbe"] as const) {
		const problem = image[kind] && probeProblem(image[kind], image.ports);
		if (problem) throw new CatalogError(file, kind, problem);
	}
	return image;
}

/** fastest-validator names the object, not the stray key, for strict-mode errors. */
function unknownField(err: { field?: string; actual?: unknown }): string {
	const prefix = err.field ? `${err.field}.` : "";
	const extra = typeof err.actual === "string" ? err.actual.split(",")[0].trim() : "";
	return extra ? `${prefix}${extra}` : (err.field ?? "");
}

/** The repository root: the nearest directory above this file with a package.json (works from dist/ too). */
function repoRoot(): string {
	let dir = __dirname;
	while (!fs.existsSync(path.join(dir, "package.json"))) {
		const parent = path.dirname(dir);
		if (parent === dir) return process.cwd();
		dir = parent;
	}
	return dir;
}

export function catalogDir(env: NodeJS.ProcessEnv = process.env): string {
	return env.IMAGES_DIR ? path.resolve(env.IMAGES_DIR) : path.join(repoRoot(), "images");
}

/**
 * Reads every `*.json` file of the catalog directory, sorted by file name. All or nothing: the
 * first bad file (unparsable, invalid, or a name another file already uses) throws.
 */
export function loadCatalog(dir: string = catalogDir()): CatalogImage[] {
	if (!fs.existsSync(dir)) throw new CatalogError(dir, "", "the image catalog directory does not exist (set IMAGES_DIR)");
	const files = fs.readdirSync(dir).filter(f => f.endsWith(".json")).sort();
	const byName = new Map<string, string>();
	const images: CatalogImage[] = [];
	for (const file of files) {
		const shown = path.join(path.basename(dir), file);
		let data: unknown;
		try {
			data = JSON.parse(fs.readFileSync(path.join(dir, file), "utf8"));
		} catch (err) {
			throw new CatalogError(shown, "", `is not valid JSON: ${(err as Error).message}`);
		}
		const image = validateImage(data, shown);
		const other = byName.get(image.name);
		if (other) throw new CatalogError(shown, "name", `"${image.name}" is already used by ${other}`);
		byName.set(image.name, shown);
		images.push(image);
	}
	return images;
}
