/**
 * Every rule about a job's fields, in one place, pure: the command, the environment, the
 * resources (defaults filled in, capped), and the run a Job manifest is built from.
 */
import { MAX_CMD_BYTES, type CreateJobParams, type EnvInput, type JobsSettings, type ResourcesInput } from "../api/jobs";
import { K8S_ENV_NAME } from "../api/rules";
import { invalid, invalidField, type FieldError } from "../errors";
import { argvOf, type JobResources, type JobRun } from "../manifests/job";
import { isQuantity, parseQuantity } from "../quantity";
import { loadConfig } from "../config";
import { referenceRefusal } from "../images/policy";

/** Exactly one of cmd and command, not blank, not huge. */
export function checkCommand(params: { cmd?: string; command?: string[] }): void {
	const hasCmd = params.cmd !== undefined && params.cmd !== null;
	const hasCommand = params.command !== undefined && params.command !== null;
	if (hasCmd && hasCommand)
		throw invalid("Give either cmd (a shell string) or command (an argv array), not both", [
			{ field: "cmd", message: "cmd and command are exclusive", type: "exclusive" },
			{ field: "command", message: "cmd and command are exclusive", type: "exclusive" },
		]);
	if (!hasCmd && !hasCommand) throw invalidField("cmd", "Give cmd (a shell string) or command (an argv array)");
	if (hasCmd) {
		if (params.cmd!.trim().length === 0) throw invalidField("cmd", "cmd is empty", params.cmd);
		if (Buffer.byteLength(params.cmd!) > MAX_CMD_BYTES) throw invalidField("cmd", `cmd is longer than ${MAX_CMD_BYTES} bytes`, `${Buffer.byteLength(params.cmd!)} bytes`);
	} else {
		const argv = params.command!;
		if (argv.length === 0 || argv[0].trim().length === 0) throw invalidField("command", "command needs a program as its first element", argv);
		const size = argv.reduce((n, a) => n + Buffer.byteLength(a), 0);
		if (size > MAX_CMD_BYTES) throw invalidField("command", `command is longer than ${MAX_CMD_BYTES} bytes in total`, `${size} bytes`);
	}
}

/** The caller's `env` as Kubernetes wants it; names follow Kubernetes' rules for env names. */
export function normalizeEnv(env: EnvInput | undefined): { name: string; value: string }[] {
	if (!env) return [];
	const pairs = Array.isArray(env) ? env.map(e => [e.name, e.value ?? ""] as const) : Object.entries(env);
	const out: { name: string; value: string }[] = [];
	const errors: FieldError[] = [];
	pairs.forEach(([name, value], i) => {
		if (typeof name !== "string" || !K8S_ENV_NAME.test(name) || name.length > 256)
			errors.push({ field: `env[${i}].name`, message: "An environment variable name is letters, digits, '_', '-' and '.', not starting with a digit", type: "invalid", actual: name });
		else if (typeof value !== "string") errors.push({ field: `env.${name}`, message: "An environment variable value is a string", type: "invalid", actual: value });
		else out.push({ name, value });
	});
	if (out.length > 100) errors.push({ field: "env", message: "At most 100 environment variables", type: "invalid" });
	if (Buffer.byteLength(JSON.stringify(out)) > 64 * 1024) errors.push({ field: "env", message: "Environment variables may total at most 64 KiB", type: "invalid" });
	if (errors.length) throw invalid("Invalid environment variables", errors);
	return out;
}

type Limits = Pick<JobsSettings, "defaultResources" | "maxResources">;

/** Each quantity valid, positive and under the cap. */
function quantityErrors(res: JobResources, max: Limits["maxResources"]): FieldError[] {
	const errors: FieldError[] = [];
	for (const kind of ["requests", "limits"] as const) {
		for (const r of ["cpu", "memory"] as const) {
			const q = res[kind][r];
			const field = `resources.${kind}.${r}`;
			if (!isQuantity(q) || parseQuantity(q) <= 0) errors.push({ field, message: `${field} must be a positive Kubernetes quantity (e.g. "500m", "256Mi")`, type: "invalid", actual: q });
			else if (parseQuantity(q) > parseQuantity(max[r])) errors.push({ field, message: `${field} may be at most ${max[r]}`, type: "invalid", actual: q });
		}
	}
	return errors;
}

/** Requests and limits with defaults filled in; each a valid quantity, under the cap, requests ≤ limits. */
export function normalizeResources(input: ResourcesInput | undefined, settings: Limits): JobResources {
	const d = settings.defaultResources;
	const res: JobResources = {
		requests: { cpu: input?.requests?.cpu ?? d.requests.cpu, memory: input?.requests?.memory ?? d.requests.memory },
		limits: { cpu: input?.limits?.cpu ?? d.limits.cpu, memory: input?.limits?.memory ?? d.limits.memory },
	};
	// A request above the default limit raises the limit with it, rather than failing a valid ask.
	for (const r of ["cpu", "memory"] as const)
		if (!input?.limits?.[r] && isQuantity(res.requests[r]) && parseQuantity(res.requests[r]) > parseQuantity(res.limits[r])) res.limits[r] = res.requests[r];
	const errors = quantityErrors(res, settings.maxResources);
	if (!errors.length)
		for (const r of ["cpu", "memory"] as const)
			if (parseQuantity(res.requests[r]) > parseQuantity(res.limits[r]))
				errors.push({ field: `resources.requests.${r}`, message: `resources.requests.${r} may not exceed resources.limits.${r}`, type: "invalid", actual: res.requests[r] });
	if (errors.length) throw invalid("Invalid resources", errors);
	return res;
}

/** What a Job is built from: the caller's params checked, the settings' defaults and caps applied. */
export function jobRunOf(params: Omit<CreateJobParams, "namespace">, settings: Omit<JobsSettings, "rest">, name: string): Omit<JobRun, "id"> {
	const refused = params.image !== undefined ? referenceRefusal(params.image) : undefined;
	if (refused) throw invalid(refused, [{ field: "image", message: refused, type: "policy", actual: params.image }]);
	return {
		name,
		command: argvOf(params),
		image: params.image ?? settings.defaultImage,
		env: normalizeEnv(params.env),
		resources: normalizeResources(params.resources, settings),
		timeoutSeconds: Math.min(params.timeoutSeconds ?? settings.defaultTimeoutSeconds, settings.maxTimeoutSeconds),
		backoffLimit: params.backoffLimit ?? 0,
		ttlSecondsAfterFinished: params.ttlSecondsAfterFinished ?? settings.defaultTtlSeconds,
	};
}

function positiveInt(value: string | undefined, fallback: number): number {
	const n = Number(value);
	return value && Number.isInteger(n) && n > 0 ? n : fallback;
}

/** The settings from the environment (read when a broker creates the service). */
export function jobsSettings(env: NodeJS.ProcessEnv = process.env): Omit<JobsSettings, "rest"> {
	return {
		defaultImage: env.JOBS_DEFAULT_IMAGE || "python:3.12-slim",
		compatNamespace: loadConfig(env).ownNamespaces.jobsCompat,
		defaultTimeoutSeconds: positiveInt(env.JOBS_DEFAULT_TIMEOUT_SECONDS, 600),
		maxTimeoutSeconds: 24 * 3600,
		defaultTtlSeconds: positiveInt(env.JOBS_TTL_SECONDS, 3600),
		maxLogBytes: positiveInt(env.JOBS_MAX_LOG_BYTES, 1024 * 1024),
		defaultResources: { requests: { cpu: "100m", memory: "128Mi" }, limits: { cpu: "500m", memory: "512Mi" } },
		maxResources: { cpu: "4", memory: "8Gi" },
	};
}
