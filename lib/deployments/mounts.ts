/**
 * Mounts that name a v1.k8s.configmaps or v1.k8s.secrets entity (`configMap` / `secret`, by id or
 * name) become mounts of its object in Berth's stored form (`type` and `name`), before the
 * deployment's checks see them. A ref that names no entity of the deployment's namespace the caller
 * may see is a 422 naming the mount's field; nothing is stored.
 */
import type { Context } from "moleculer";
import type { ConfigMount } from "../api/deployment-model";
import type { ResolveDataObjectsParams } from "../api/data-objects";
import type { MountParam } from "../api/mounts";
import { invalid, type FieldError } from "../errors";

const ENTITY_MOUNTS = [
	{ field: "configMap", type: "configMap", kind: "ConfigMap", action: "v1.k8s.configmaps.resolve" },
	{ field: "secret", type: "secret", kind: "Secret", action: "v1.k8s.secrets.resolve" },
] as const;

/** `mounts` with every entity ref resolved in `namespace` (entity id or name), through the caller's ctx. */
export async function resolveEntityMounts(ctx: Context, namespace: string, mounts: MountParam[]): Promise<ConfigMount[]> {
	const errors: FieldError[] = [];
	const out = mounts.map(m => ({ ...m }));
	for (const { field, type, kind, action } of ENTITY_MOUNTS) {
		const at = out.map((m, i) => (m[field] === undefined ? -1 : i)).filter(i => i >= 0);
		if (!at.length) continue;
		if (!ctx.broker.registry.actions.isAvailable(action)) {
			for (const i of at) errors.push({ field: `mounts[${i}].${field}`, message: `Mounting a ${kind} entity needs the ${action.split(".").slice(0, 3).join(".")} service, which is not running`, type: "invalid", actual: out[i][field] });
			continue;
		}
		const refs = [...new Set(at.map(i => out[i][field] as string))];
		const names = await ctx.call<Record<string, string>, ResolveDataObjectsParams>(action, { namespace, refs });
		for (const i of at) {
			const ref = out[i][field] as string;
			if (!names[ref]) {
				errors.push({ field: `mounts[${i}].${field}`, message: `No ${kind} "${ref}" in the deployment's namespace`, type: "invalid", actual: ref });
				continue;
			}
			delete out[i][field];
			Object.assign(out[i], { type, name: names[ref] });
		}
	}
	if (errors.length) throw invalid("Invalid deployment", errors);
	return out as ConfigMount[];
}

/** What the before hook needs of the deployments service: the visibility check of a stored deployment. */
interface MountHookHost {
	findVisible(ctx: Context, id: string, need: "edit"): Promise<{ namespace: string }>;
}

/**
 * The deployments service's before hook of create, generate and update: resolves entity mounts in
 * the deployment's namespace (a create's `namespace`, an update's stored one). Only mounts with an
 * entity ref cost a call.
 */
export async function resolveMountsHook(this: MountHookHost, ctx: Context<{ id?: string; namespace?: string; mounts?: MountParam[] | null }>): Promise<void> {
	const mounts = ctx.params.mounts;
	if (!mounts?.some(m => ENTITY_MOUNTS.some(e => m[e.field] !== undefined))) return;
	// An update: the caller's visibility first, so another tenant's deployment stays a plain 404.
	const namespace = ctx.params.id !== undefined ? (await this.findVisible(ctx, ctx.params.id, "edit")).namespace : ctx.params.namespace;
	if (namespace === undefined) return;
	ctx.params.mounts = await resolveEntityMounts(ctx, namespace, mounts);
}
