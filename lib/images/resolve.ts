/**
 * A deployment's `image` that names no catalog entry: an image reference (`registry/repo:tag`,
 * `…@sha256:…`) that IMAGE_POLICY admits stands for an entry without defaults: no ports, env or
 * resources but what the deployment asks for (its resources default from the namespace's LimitRange).
 */
import type { CatalogImage } from "../api/deployment-model";
import { invalid } from "../errors";
import { parseImageReference, policyRefusal } from "./policy";

export interface ResolveImageParams {
	/** A catalog id or name, or an image reference. */
	ref: string;
	/** The caller's field that named it (errors name it). */
	field?: string;
	/** Whether an image reference outside the catalog will do (deployments: yes; application templates: no). */
	references?: boolean;
	/** Only the shared catalog, none of a namespace's entries (application templates run outside tenants' namespaces). */
	sharedOnly?: boolean;
}

export const resolveImageParams = {
	ref: { type: "string", min: 1, max: 512 },
	field: { type: "string", min: 1, max: 64, optional: true },
	references: { type: "boolean", optional: true },
	sharedOnly: { type: "boolean", optional: true },
	scope: { type: "any", optional: true },
};

/** An entry that came from a reference, not from the catalog: its id is the reference itself. */
export type ReferenceEntry = CatalogImage & { source: "reference" };

/** Whether a deployment's stored `image` is a reference rather than a catalog entry's id. */
export function isReferenceEntry(image: Pick<CatalogImage, "id"> & { source?: string }): boolean {
	return image.source === "reference";
}

/**
 * The entry a reference stands for, or the 422 on `field` that says why there is none. The policy is
 * for what callers write (`checkPolicy`): a deployment stored before IMAGE_POLICY changed keeps running.
 */
export function referenceEntry(ref: string, field: string, references: boolean, checkPolicy = true): ReferenceEntry {
	const parsed = references ? parseImageReference(ref) : undefined;
	if (!parsed) {
		const message = references ? `Image "${ref}" is not in the catalog, and not an image reference with a tag or digest (registry/repo:tag or …@sha256:…)` : `Image "${ref}" is not in the catalog`;
		throw invalid(message, [{ field, message, type: "reference", actual: ref }]);
	}
	const refused = checkPolicy ? policyRefusal(parsed) : undefined;
	if (refused) throw invalid(refused, [{ field, message: refused, type: "policy", actual: ref }]);
	return { id: ref, name: ref, image: ref, registry: parsed.registry, repository: parsed.repository, tag: parsed.tag, digest: parsed.digest, ports: [], env: [], source: "reference" };
}
