/**
 * Service specs: the KITeGG endpoint's YAML description of a multi-container service (containers
 * with ports, an optional GPU and volume mounts; volumes with a size). Parsed with the `yaml`
 * library and checked here, before anything is stored or applied. Every error names the YAML path
 * at fault (`containers[0].ports[0].port`) and, where the document has one, its line and column.
 */
import { LineCounter, parseDocument, type Document } from "yaml";
import { MAX_SPEC_BYTES, type Protocol, type ServiceSpec, type SpecAmounts, type SpecContainer, type SpecEnvVar, type SpecMount, type SpecPort, type SpecResources, type SpecVolume } from "../api/services";
import { ABSOLUTE_PATH, DNS1123_LABEL, IMAGE_REF, K8S_ENV_NAME } from "../api/rules";
import type { FieldError } from "../errors";
import { VOLUME_SIZE } from "../manifests/volume";
import { bytes, cpuMillis, isQuantity, parseQuantity } from "../quantity";

/** What one `gpu` value stands for: an extended resource and how many of it a container gets. */
export interface GpuOption {
	resource: string;
	count: number;
}

export type GpuOptions = Record<string, GpuOption>;

/** Used when SPEC_GPU_OPTIONS is unset. `nvidia/gpu` is the value the seed's example uses. */
export const DEFAULT_GPU_OPTIONS: GpuOptions = Object.freeze({
	"nvidia/gpu": { resource: "nvidia.com/gpu", count: 1 },
	"nvidia/gpu-2": { resource: "nvidia.com/gpu", count: 2 },
	"nvidia/mig-1g.10gb": { resource: "nvidia.com/mig-1g.10gb", count: 1 },
}) as GpuOptions;

/** An extended resource name: a domain-qualified name such as `nvidia.com/gpu`. */
const EXTENDED_RESOURCE = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)+\/[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/;

/**
 * The GPU options from SPEC_GPU_OPTIONS (a JSON object: option → {resource, count}), else the
 * defaults. A malformed value throws: a node must not start with GPU options nobody meant.
 */
export function gpuOptionsFromEnv(env: NodeJS.ProcessEnv = process.env): GpuOptions {
	const raw = env.SPEC_GPU_OPTIONS;
	if (raw === undefined || raw.trim() === "") return DEFAULT_GPU_OPTIONS;
	let parsed: unknown;
	try {
		parsed = JSON.parse(raw);
	} catch (err) {
		throw new Error(`SPEC_GPU_OPTIONS is not JSON: ${(err as Error).message}`);
	}
	if (!parsed || typeof parsed !== "object" || Array.isArray(parsed)) throw new Error('SPEC_GPU_OPTIONS must be a JSON object such as {"nvidia/gpu": {"resource": "nvidia.com/gpu", "count": 1}}');
	const out: GpuOptions = {};
	for (const [name, value] of Object.entries(parsed as Record<string, unknown>)) {
		const v = value as Partial<GpuOption> | null;
		if (!name || name.length > 63) throw new Error(`SPEC_GPU_OPTIONS: option "${name}" must be 1-63 characters`);
		if (!v || typeof v.resource !== "string" || !EXTENDED_RESOURCE.test(v.resource)) throw new Error(`SPEC_GPU_OPTIONS: option "${name}" needs a resource such as "nvidia.com/gpu"`);
		if (!Number.isInteger(v.count) || (v.count as number) < 1 || (v.count as number) > 64) throw new Error(`SPEC_GPU_OPTIONS: option "${name}" needs a count from 1 to 64`);
		out[name] = { resource: v.resource, count: v.count as number };
	}
	return out;
}

/** A FieldError whose `field` is a YAML path; line and column (1-based) when the document has the node. */
export interface SpecError extends FieldError {
	line?: number;
	column?: number;
}

export type SpecResult = { ok: true; spec: ServiceSpec } | { ok: false; errors: SpecError[] };

export interface ParseOptions {
	gpuOptions: GpuOptions;
}

/** The field name of errors that are about the YAML text as a whole (syntax, not a mapping). */
export const DOCUMENT_FIELD = "deployment";
export const MAX_CONTAINERS = 10;
export const MAX_VOLUMES = 20;
const MAX_LIST = 50;

/** IANA service name: what Kubernetes accepts as a port name. */
const PORT_NAME = /^(?=.*[a-z])[a-z0-9]([a-z0-9]|-(?!-))*[a-z0-9]$|^[a-z]$/;

type Segment = string | number;

/** `["containers", 0, "ports", 0, "port"]` → `containers[0].ports[0].port`. */
export function formatPath(path: Segment[]): string {
	let out = "";
	for (const s of path) out += typeof s === "number" ? `[${s}]` : out ? `.${s}` : s;
	return out || DOCUMENT_FIELD;
}

class Checker {
	readonly errors: { path: Segment[]; message: string; type: string; actual?: unknown }[] = [];

	fail(path: Segment[], message: string, type: string, actual?: unknown): void {
		this.errors.push({ path, message, type, actual });
	}

	/** A mapping with only the allowed keys; unknown keys are refused (a typo like `readonly` must not pass silently). */
	object(value: unknown, path: Segment[], allowed: readonly string[]): Record<string, unknown> | undefined {
		if (!value || typeof value !== "object" || Array.isArray(value)) {
			this.fail(path, `${formatPath(path)} must be a mapping`, "object", value);
			return undefined;
		}
		for (const key of Object.keys(value)) if (!allowed.includes(key)) this.fail([...path, key], `Unknown field "${key}" (allowed: ${allowed.join(", ")})`, "unknown", key);
		return value as Record<string, unknown>;
	}

	list(value: unknown, path: Segment[], max: number, required: boolean): unknown[] | undefined {
		if (value === undefined || value === null) {
			if (required) this.fail(path, `${formatPath(path)} is required`, "required");
			return undefined;
		}
		if (!Array.isArray(value)) {
			this.fail(path, `${formatPath(path)} must be a list`, "array", value);
			return undefined;
		}
		if (required && value.length === 0) {
			this.fail(path, `${formatPath(path)} needs at least one entry`, "arrayMin", value.length);
			return undefined;
		}
		if (value.length > max) {
			this.fail(path, `${formatPath(path)} may have at most ${max} entries`, "arrayMax", value.length);
			return undefined;
		}
		return value;
	}

	string(value: unknown, path: Segment[], opts: { required?: boolean; pattern?: RegExp; max: number; hint?: string }): string | undefined {
		if (value === undefined || value === null) {
			if (opts.required) this.fail(path, `${formatPath(path)} is required`, "required");
			return undefined;
		}
		if (typeof value !== "string") {
			this.fail(path, `${formatPath(path)} must be a string`, "string", value);
			return undefined;
		}
		if (value.length === 0 || value.length > opts.max) {
			this.fail(path, `${formatPath(path)} must be 1-${opts.max} characters`, "stringLength", value);
			return undefined;
		}
		if (opts.pattern && !opts.pattern.test(value)) {
			this.fail(path, `${formatPath(path)} ${opts.hint ?? "is not valid"}`, "stringPattern", value);
			return undefined;
		}
		return value;
	}

	/** Each entry of a list (see `list`) that is a mapping with only the allowed keys, with its path. */
	mappings(value: unknown, path: Segment[], opts: { max: number; required: boolean; allowed: readonly string[] }, visit: (obj: Record<string, unknown>, p: Segment[]) => void): void {
		(this.list(value, path, opts.max, opts.required) ?? []).forEach((item, i) => {
			const obj = this.object(item, [...path, i], opts.allowed);
			if (obj) visit(obj, [...path, i]);
		});
	}

	stringList(value: unknown, path: Segment[]): string[] | undefined {
		const items = this.list(value, path, MAX_LIST, false);
		if (!items) return undefined;
		const out: string[] = [];
		items.forEach((item, i) => {
			if (typeof item === "string" && item.length <= 4096) out.push(item);
			else this.fail([...path, i], `${formatPath([...path, i])} must be a string of at most 4096 characters`, "string", item);
		});
		return out;
	}
}

function checkAmounts(c: Checker, value: unknown, path: Segment[]): SpecAmounts | undefined {
	const obj = c.object(value, path, ["cpu", "memory"]);
	if (!obj) return undefined;
	const out: SpecAmounts = {};
	for (const key of ["cpu", "memory"] as const) {
		const v = obj[key];
		if (v === undefined || v === null) continue;
		const text = typeof v === "number" ? String(v) : v;
		const ok = typeof text === "string" && isQuantity(text) && (key === "cpu" ? cpuMillis(text) >= 1 : bytes(text) >= 2 ** 20);
		if (!ok) {
			c.fail([...path, key], `${formatPath([...path, key])} must be a Kubernetes quantity of at least ${key === "cpu" ? '1m (e.g. "500m", "2")' : '1Mi (e.g. "512Mi", "2Gi")'}`, "quantity", v);
			continue;
		}
		out[key] = text as string;
	}
	return out;
}

function checkResources(c: Checker, value: unknown, path: Segment[]): SpecResources | undefined {
	if (value === undefined || value === null) return undefined;
	const obj = c.object(value, path, ["requests", "limits"]);
	if (!obj) return undefined;
	const out: SpecResources = {};
	if (obj.requests !== undefined && obj.requests !== null) out.requests = checkAmounts(c, obj.requests, [...path, "requests"]);
	if (obj.limits !== undefined && obj.limits !== null) out.limits = checkAmounts(c, obj.limits, [...path, "limits"]);
	for (const key of ["cpu", "memory"] as const) {
		const req = out.requests?.[key];
		const lim = out.limits?.[key];
		if (req && lim && parseQuantity(req) > parseQuantity(lim)) c.fail([...path, "requests", key], `${formatPath([...path, "requests", key])} (${req}) may not exceed ${formatPath([...path, "limits", key])} (${lim})`, "quantityMax", req);
	}
	return out;
}

function checkEnv(c: Checker, value: unknown, path: Segment[]): SpecEnvVar[] {
	const out: SpecEnvVar[] = [];
	const seen = new Set<string>();
	c.mappings(value, path, { max: 200, required: false, allowed: ["name", "value"] }, (obj, p) => {
		const name = c.string(obj.name, [...p, "name"], { required: true, pattern: K8S_ENV_NAME, max: 256, hint: "must be letters, digits, '_', '-' and '.', not starting with a digit" });
		const raw = obj.value ?? "";
		if (!["string", "number", "boolean"].includes(typeof raw)) {
			c.fail([...p, "value"], `${formatPath([...p, "value"])} must be a string`, "string", raw);
			return;
		}
		if (!name) return;
		if (seen.has(name)) c.fail([...p, "name"], `Environment variable "${name}" is set twice`, "unique", name);
		seen.add(name);
		out.push({ name, value: String(raw) });
	});
	return out;
}

function checkPorts(c: Checker, value: unknown, path: Segment[]): SpecPort[] {
	const ports: SpecPort[] = [];
	const portNames = new Set<string>();
	c.mappings(value, path, { max: MAX_LIST, required: true, allowed: ["name", "port", "protocol"] }, (port, p) => {
		const portName = c.string(port.name, [...p, "name"], { pattern: PORT_NAME, max: 15, hint: "must be at most 15 lower-case letters, digits and '-', with at least one letter" });
		if (portName && portNames.has(portName)) c.fail([...p, "name"], `Port name "${portName}" is used twice in this container`, "unique", portName);
		if (portName) portNames.add(portName);
		const number = port.port;
		if (number === undefined || number === null) c.fail([...p, "port"], `${formatPath([...p, "port"])} is required`, "required");
		else if (typeof number !== "number" || !Number.isInteger(number) || number < 1 || number > 65535) c.fail([...p, "port"], `${formatPath([...p, "port"])} must be a whole number from 1 to 65535`, "number", number);
		const protocol = port.protocol ?? "TCP";
		if (!["TCP", "UDP", "SCTP"].includes(protocol as string)) c.fail([...p, "protocol"], `${formatPath([...p, "protocol"])} must be TCP, UDP or SCTP`, "enum", protocol);
		if (typeof number === "number" && Number.isInteger(number) && number >= 1 && number <= 65535) ports.push({ ...(portName ? { name: portName } : {}), port: number, protocol: protocol as Protocol });
	});
	return ports;
}

function checkGpu(c: Checker, value: unknown, path: Segment[], opts: ParseOptions): string | undefined {
	if (value === undefined || value === null) return undefined;
	if (typeof value === "string" && Object.prototype.hasOwnProperty.call(opts.gpuOptions, value)) return value;
	const options = Object.keys(opts.gpuOptions);
	c.fail(path, options.length ? `${formatPath(path)} must be one of: ${options.join(", ")}` : "No GPU options are offered here", "enum", value);
	return undefined;
}

function checkMounts(c: Checker, value: unknown, path: Segment[]): SpecMount[] {
	const volumeMounts: SpecMount[] = [];
	const mountPaths = new Set<string>();
	c.mappings(value, path, { max: MAX_VOLUMES, required: false, allowed: ["name", "mountPath", "readOnly"] }, (mount, p) => {
		const volume = c.string(mount.name, [...p, "name"], { required: true, max: 63 });
		const mountPath = c.string(mount.mountPath, [...p, "mountPath"], { required: true, pattern: ABSOLUTE_PATH, max: 1024, hint: "must be an absolute path without ':'" });
		if (mountPath && mountPaths.has(mountPath)) c.fail([...p, "mountPath"], `Mount path "${mountPath}" is used twice in this container`, "unique", mountPath);
		if (mountPath) mountPaths.add(mountPath);
		// YAML 1.2 reads `yes` as a string: refusing it beats mounting writable what was meant read-only.
		if (mount.readOnly !== undefined && mount.readOnly !== null && typeof mount.readOnly !== "boolean") c.fail([...p, "readOnly"], `${formatPath([...p, "readOnly"])} must be true or false`, "boolean", mount.readOnly);
		if (volume && mountPath) volumeMounts.push({ name: volume, mountPath, readOnly: mount.readOnly === true });
	});
	return volumeMounts;
}

function checkContainer(c: Checker, value: unknown, i: number, opts: ParseOptions): SpecContainer | undefined {
	const path: Segment[] = ["containers", i];
	const obj = c.object(value, path, ["name", "image", "ports", "gpu", "volumeMounts", "resources", "env", "command", "args"]);
	if (!obj) return undefined;
	const name = c.string(obj.name, [...path, "name"], { required: true, pattern: DNS1123_LABEL, max: 63, hint: "must be lower-case letters, digits and '-', starting and ending with a letter or digit" });
	const image = c.string(obj.image, [...path, "image"], { required: true, pattern: IMAGE_REF, max: 512, hint: 'must be an image reference such as "nginx:latest"' });
	const ports = checkPorts(c, obj.ports, [...path, "ports"]);
	const gpu = checkGpu(c, obj.gpu, [...path, "gpu"], opts);
	const volumeMounts = checkMounts(c, obj.volumeMounts, [...path, "volumeMounts"]);
	const resources = checkResources(c, obj.resources, [...path, "resources"]);
	const env = checkEnv(c, obj.env, [...path, "env"]);
	const command = c.stringList(obj.command, [...path, "command"]);
	const args = c.stringList(obj.args, [...path, "args"]);
	if (!name || !image) return undefined;
	const container: SpecContainer = { name, image, ports, volumeMounts };
	if (gpu) container.gpu = gpu;
	if (resources) container.resources = resources;
	if (env?.length) container.env = env;
	if (command?.length) container.command = command;
	if (args?.length) container.args = args;
	return container;
}

/** Checks across containers and volumes: unique names, mounts of declared volumes, one owner per port. */
function checkReferences(c: Checker, containers: (SpecContainer | undefined)[], volumes: (Partial<SpecVolume> | undefined)[]): void {
	const containerNames = new Map<string, number>();
	containers.forEach((ct, i) => {
		if (!ct) return;
		if (containerNames.has(ct.name)) c.fail(["containers", i, "name"], `Container name "${ct.name}" is used twice`, "unique", ct.name);
		containerNames.set(ct.name, i);
	});
	const volumeNames = new Set<string>();
	volumes.forEach((v, i) => {
		if (!v?.name) return;
		if (volumeNames.has(v.name)) c.fail(["volumes", i, "name"], `Volume name "${v.name}" is used twice`, "unique", v.name);
		volumeNames.add(v.name);
	});
	// The containers share the pod's network: one port number (per protocol) can be bound by one of them only.
	const ports = new Map<string, string>();
	containers.forEach((ct, i) => {
		ct?.ports.forEach((p, j) => {
			const key = `${p.port}/${p.protocol}`;
			const owner = ports.get(key);
			if (owner !== undefined) c.fail(["containers", i, "ports", j, "port"], `Port ${key} is already declared by ${owner}`, "unique", p.port);
			else ports.set(key, `containers[${i}]`);
		});
		ct?.volumeMounts.forEach((m, j) => {
			if (!volumeNames.has(m.name)) c.fail(["containers", i, "volumeMounts", j, "name"], volumeNames.size ? `No volume named "${m.name}" in volumes (declared: ${[...volumeNames].join(", ")})` : `No volume named "${m.name}": declare it under volumes`, "reference", m.name);
		});
	});
}

/** The node's position (1-based line and column), for the deepest part of `path` that exists. */
function locate(doc: Document, lines: LineCounter, path: Segment[]): { line?: number; column?: number } {
	for (let n = path.length; n >= 0; n--) {
		const node = (n === 0 ? doc.contents : doc.getIn(path.slice(0, n), true)) as { range?: [number, number, number] } | undefined;
		if (node?.range) {
			const pos = lines.linePos(node.range[0]);
			return { line: pos.line, column: pos.col };
		}
	}
	return {};
}

/** Parses and validates a spec. Never throws: a bad document answers with its errors. */
export function parseSpec(text: string, opts: ParseOptions): SpecResult {
	if (typeof text !== "string" || text.trim() === "") return { ok: false, errors: [{ field: DOCUMENT_FIELD, message: "The deployment YAML is empty", type: "required" }] };
	if (Buffer.byteLength(text) > MAX_SPEC_BYTES) return { ok: false, errors: [{ field: DOCUMENT_FIELD, message: `The deployment YAML may be at most ${MAX_SPEC_BYTES} bytes`, type: "stringMax" }] };
	const lines = new LineCounter();
	const doc = parseDocument(text, { lineCounter: lines, prettyErrors: true, uniqueKeys: true });
	if (doc.errors.length) {
		return {
			ok: false,
			errors: doc.errors.map(e => ({
				field: DOCUMENT_FIELD,
				// The pretty message ends with a quote of the source; the first line says it all.
				message: `Invalid YAML: ${e.message.split("\n")[0].replace(/:$/, "")}`,
				type: "yaml",
				line: e.linePos?.[0].line,
				column: e.linePos?.[0].col,
			})),
		};
	}
	let value: unknown;
	try {
		// Aliases are expanded: a handful of them must not grow into a billion entries.
		value = doc.toJS({ maxAliasCount: 50 });
	} catch (err) {
		return { ok: false, errors: [{ field: DOCUMENT_FIELD, message: `Invalid YAML: ${(err as Error).message}`, type: "yaml" }] };
	}
	const c = new Checker();
	const root = c.object(value, [], ["containers", "volumes"]);
	let containers: (SpecContainer | undefined)[] = [];
	// A volume with a bad size still counts as declared: its mounts need no error of their own.
	let volumes: (Partial<SpecVolume> | undefined)[] = [];
	if (root) {
		containers = (c.list(root.containers, ["containers"], MAX_CONTAINERS, true) ?? []).map((item, i) => checkContainer(c, item, i, opts));
		volumes = (c.list(root.volumes, ["volumes"], MAX_VOLUMES, false) ?? []).map((item, i) => {
			const path: Segment[] = ["volumes", i];
			const obj = c.object(item, path, ["name", "size"]);
			if (!obj) return undefined;
			const name = c.string(obj.name, [...path, "name"], { required: true, pattern: DNS1123_LABEL, max: 63, hint: "must be lower-case letters, digits and '-', starting and ending with a letter or digit" });
			const size = c.string(obj.size, [...path, "size"], { required: true, pattern: VOLUME_SIZE, max: 5, hint: 'must be 1-999 Gi or Mi, e.g. "1Gi" or "500Mi"' });
			return { name, size };
		});
		checkReferences(c, containers, volumes);
	}
	if (c.errors.length) {
		return { ok: false, errors: c.errors.map(e => ({ field: formatPath(e.path), message: e.message, type: e.type, ...(e.actual !== undefined ? { actual: e.actual } : {}), ...locate(doc, lines, e.path) })) };
	}
	return { ok: true, spec: { containers: containers as SpecContainer[], volumes: volumes as SpecVolume[] } };
}
