/**
 * Catalog entries written through the API (v1.k8s.images create, update, remove): the same rules
 * as the files, the rules a tenant's entry adds, who sees which entry, and the stored key that
 * keeps names unique within one scope (the shared catalog, or one namespace's entries).
 */
import { CATALOG_FIELDS, CATALOG_RULES, CatalogError, maskCatalogSecrets, validateImage, type CatalogImage } from "../catalog";
import { imageIdParams, imageScopeRules, type ImageEntity } from "../api/images";
import { strictParams } from "../api/rules";
import { invalid, invalidField, type FieldError } from "../errors";

/** What an entry stores besides the file's fields (public), and `key` (internal, unique). */
export const ENTRY_FIELDS = ["namespaceId", "source", "overridden"] as const;

export const createImageParams = strictParams({ ...CATALOG_RULES, ...imageScopeRules });

/** Every field optional: a PATCH (or PUT) replaces the fields it names. */
export const updateImageParams = strictParams({
	...imageIdParams,
	...Object.fromEntries(Object.entries(CATALOG_RULES).map(([field, rule]) => [field, { ...rule, optional: true }])),
});

/**
 * The unique key of an entry: its name in the shared catalog, `<namespaceId>/<name>` for a
 * tenant's. Names are unique per scope; a tenant's name never collides with another tenant's (so
 * nothing of theirs can be learnt from a 409).
 */
export function entryKey(name: string, namespaceId?: string): string {
	return namespaceId ? `${namespaceId}/${name}` : name;
}

/** The catalog fields of an entry (what a file would hold), without the entity's own. */
export function catalogPart(doc: Partial<ImageEntity> & Record<string, unknown>): CatalogImage {
	const out: Record<string, unknown> = {};
	for (const f of CATALOG_FIELDS) if (doc[f] !== undefined) out[f] = doc[f];
	return out as unknown as CatalogImage;
}

/** The file rules over a whole entry, as a 422 naming the field (the entry is the request's body). */
export function checkEntry(entry: CatalogImage): CatalogImage {
	try {
		return validateImage(entry, "image");
	} catch (err) {
		if (err instanceof CatalogError) throw invalidField(err.field, err.message.replace(/^image: /, ""), err.field ? (entry as unknown as Record<string, unknown>)[err.field.split(/[.[]/)[0]] : undefined);
		throw err;
	}
}

/**
 * What a tenant's entry may not be: a template of Berth's shared applications namespace
 * (`launchable`) or one anyone may launch without a key (`public`). Its capabilities and user are
 * within the files' limits already.
 */
export function tenantEntryErrors(entry: CatalogImage): FieldError[] {
	const errors: FieldError[] = [];
	if (entry.public) errors.push({ field: "public", message: "A namespace's image cannot be public", type: "invalid", actual: true });
	if (entry.launchable) errors.push({ field: "launchable", message: "A namespace's image cannot be an application template (launchable)", type: "invalid", actual: true });
	return errors;
}

export function checkTenantEntry(entry: CatalogImage): void {
	const errors = tenantEntryErrors(entry);
	if (errors.length) throw invalid("Invalid image", errors);
}

/** Which entries a caller sees: the shared catalog and the entries of these namespaces (ids), or all. */
export type Sight = "all" | string[];

export function sees(sight: Sight, doc: { namespaceId?: unknown }): boolean {
	return !doc.namespaceId || sight === "all" || sight.includes(String(doc.namespaceId));
}

/** The store filter of what `sight` sees (undefined: everything). */
export function sightFilter(sight: Sight): Record<string, unknown> | undefined {
	if (sight === "all") return undefined;
	return { $or: [{ namespaceId: { $exists: false } }, { namespaceId: { $in: sight } }] };
}

/** An event's payload: the entry without secret values. */
export function eventPayload(entry: ImageEntity): ImageEntity {
	return maskCatalogSecrets(entry);
}
