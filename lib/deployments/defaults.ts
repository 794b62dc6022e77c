/**
 * A deployment of an image reference (no catalog entry, so no defaults of its own): its resources
 * default from the namespace's LimitRange, written into the deployment so that the quota check
 * counts what its pods will ask for.
 */
import { Kinds, type KubeClient, type V1LimitRange } from "../k8s";
import type { CatalogImage, ResourceSpec } from "../manifests/deployment";

/** The Container defaults of the namespace's LimitRanges (the first that sets each amount). */
export async function limitRangeDefaults(kube: Pick<KubeClient, "list">, namespace: string): Promise<ResourceSpec> {
	const out: ResourceSpec = { limits: {}, requests: {} };
	for (const range of await kube.list<V1LimitRange>(Kinds.LimitRange, { namespace }))
		for (const item of range.spec?.limits ?? []) {
			if (item.type !== "Container") continue;
			for (const [section, values] of [["limits", item._default], ["requests", item.defaultRequest]] as const)
				for (const key of ["cpu", "memory"] as const) {
					const value = values?.[key];
					if (value !== undefined && out[section]![key] === undefined) out[section]![key] = String(value);
				}
		}
	return out;
}

/** The resources a deployment of `image` gets: as asked, each missing amount from the LimitRange when the image has no defaults. */
export async function resourcesFor(kube: Pick<KubeClient, "list">, namespace: string, image: Pick<CatalogImage, "resources">, asked: ResourceSpec | undefined): Promise<ResourceSpec | undefined> {
	if (image.resources) return asked;
	const defaults = await limitRangeDefaults(kube, namespace);
	const out: ResourceSpec = {};
	for (const section of ["limits", "requests"] as const) {
		const amounts = { ...defaults[section], ...asked?.[section] };
		if (Object.keys(amounts).length) out[section] = amounts;
	}
	return Object.keys(out).length ? out : asked;
}
