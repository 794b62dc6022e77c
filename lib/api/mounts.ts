/**
 * A deployment's `mounts` as callers write them. Each mount names what it mounts one of three ways:
 * a ConfigMap or Secret of the namespace by its Kubernetes name (`type` and `name`, Berth's stored
 * form), or a v1.k8s.configmaps / v1.k8s.secrets entity by id or name (`configMap`, `secret`), which
 * lib/deployments/mounts.ts turns into the stored form. XOS's `mount_path` and `sub_path` are taken
 * for `mountPath` and `subPath`; the rule's check below renames them, so nothing after it sees them.
 */
import type { ConfigMount } from "./deployment-model";
import { ABSOLUTE_PATH, DATA_KEY, DNS1123_SUBDOMAIN } from "./rules";

/** One mount as a caller may send it. */
export interface MountParam extends Partial<ConfigMount> {
	/** A v1.k8s.configmaps entity of the deployment's namespace, by id or name. */
	configMap?: string;
	/** A v1.k8s.secrets entity of the deployment's namespace, by id or name. */
	secret?: string;
	/** Alias of mountPath. */
	mount_path?: string;
	/** Alias of subPath. */
	sub_path?: string;
}

/** The alias fields and the names Berth stores them under. */
export const MOUNT_ALIASES = { mount_path: "mountPath", sub_path: "subPath" } as const;

export interface RuleError {
	type: string;
	field: string;
	actual?: unknown;
}

/** Messages of the check's own error types (fastest-validator fills in `{field}`). */
export const MOUNT_MESSAGES = {
	mountAlias: "The '{field}' field is an alias of a field also given: give one of them.",
	mountTarget: "The '{field}' field names what to mount: give type and name, configMap, or secret (one of them).",
};

/**
 * The aliases renamed in place, and each mount's errors: a path, and exactly one thing to mount.
 * `mounts[i]` is `value[i]` as the caller sent it.
 */
export function mountErrors(mounts: Record<string, unknown>[]): RuleError[] {
	const errors: RuleError[] = [];
	mounts.forEach((m, i) => {
		if (!m || typeof m !== "object") return;
		for (const [alias, name] of Object.entries(MOUNT_ALIASES)) {
			if (m[alias] === undefined) continue;
			if (m[name] !== undefined && m[name] !== m[alias]) errors.push({ type: "mountAlias", field: `mounts[${i}].${alias}`, actual: m[alias] });
			m[name] = m[alias];
			delete m[alias];
		}
		if (m.mountPath === undefined) errors.push({ type: "required", field: `mounts[${i}].mountPath` });
		const targets = [m.type !== undefined || m.name !== undefined, m.configMap !== undefined, m.secret !== undefined].filter(Boolean).length;
		if (targets !== 1) errors.push({ type: "mountTarget", field: `mounts[${i}]`, actual: m });
		else if (m.type !== undefined && m.name === undefined) errors.push({ type: "required", field: `mounts[${i}].name` });
		else if (m.name !== undefined && m.type === undefined) errors.push({ type: "required", field: `mounts[${i}].type` });
	});
	return errors;
}

const pathRule = { type: "string", optional: true, pattern: ABSOLUTE_PATH, max: 1024 } as const;
const subPathRule = { type: "string", optional: true, pattern: DATA_KEY, max: 253 } as const;
const entityRef = { type: "string", optional: true, min: 1, max: 253 } as const;

/** The `mounts` rule of deployments' create and update. */
export const mountsRule = {
	type: "array",
	optional: true,
	max: 20,
	items: {
		type: "object",
		strict: true,
		props: {
			type: { type: "enum", values: ["configMap", "secret"], optional: true },
			name: { type: "string", pattern: DNS1123_SUBDOMAIN, max: 253, optional: true },
			configMap: entityRef,
			secret: entityRef,
			mountPath: pathRule,
			mount_path: pathRule,
			subPath: subPathRule,
			sub_path: subPathRule,
			readOnly: { type: "boolean", optional: true },
			optional: { type: "boolean", optional: true },
		},
	},
	messages: MOUNT_MESSAGES,
	custom(value: unknown, errors: RuleError[]): unknown {
		if (Array.isArray(value)) errors.push(...mountErrors(value as Record<string, unknown>[]));
		return value;
	},
} as const;
