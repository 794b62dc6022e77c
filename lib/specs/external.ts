/**
 * The KITeGG routes' ids. The LLP keeps its service records in its own collection, addresses them by
 * its own ids, and calls `PUT /kubernetes/services/<its id>/deploy` with the record in the body.
 * Berth keeps such an id as the entity's `externalId` (unique where present, in both stores: a
 * sparse unique index) beside its own entity id, which stays what it is for every other route.
 * Ids are global: an id another tenant holds answers 404 like one nobody holds, and is never
 * taken over. Pure rules; the lookups are passed in.
 */
import type { CompatDeployParams } from "../api/services";
import { invalid, type FieldError } from "../errors";

/** The seed's record, as stored: all of it, so a field the payload leaves out is cleared (the exposure). */
export interface RecordFields {
	name: string;
	deployment: string;
	exposed_service: string | null;
	exposed_port: number | null;
}

/** Whether the PUT carries the seed's payload; without one, the stored record is deployed as it is. */
export function hasPayload(p: CompatDeployParams): boolean {
	return p.name !== undefined || p.deployment !== undefined || p.exposed_service !== undefined || p.exposed_port !== undefined;
}

/** The payload as the stored record, or 422 naming `name` and `deployment` where they are missing. */
export function recordOf(p: CompatDeployParams): RecordFields {
	const errors: FieldError[] = [];
	for (const field of ["name", "deployment"] as const)
		if (p[field] === undefined) errors.push({ field, message: `The payload needs ${field} (the seed's record: name, deployment, exposed_service?, exposed_port?)`, type: "required" });
	if (errors.length) throw invalid("Incomplete service record", errors);
	return { name: p.name as string, deployment: p.deployment as string, exposed_service: p.exposed_service ?? null, exposed_port: p.exposed_port ?? null };
}

/**
 * Where a new record goes: `?namespace=` (name or entity id), else the one namespace the caller's
 * key is confined to. Anything else is a 422 naming `namespace`: the seed's payload has no field
 * for it, and picking one of several would be a guess.
 */
export function namespaceFor(requested: string | undefined, confined: string[] | undefined): string {
	if (requested) return requested;
	if (confined?.length === 1) return confined[0];
	const message = confined?.length
		? `This key is confined to ${confined.length} namespaces; say which with ?namespace=<name>`
		: "A new service record needs a namespace: ?namespace=<name or id>, or a key confined to one namespace";
	throw invalid(message, [{ field: "namespace", message, type: "required" }]);
}

/** A record stays in its namespace: a `?namespace=` that names another one is a 422. */
export function checkSameNamespace(requested: string | undefined, doc: { namespace: string; namespaceName: string }): void {
	if (requested === undefined || requested === doc.namespace || requested === doc.namespaceName) return;
	const message = `This service record is in namespace "${doc.namespaceName}"; it cannot move to "${requested}"`;
	throw invalid(message, [{ field: "namespace", message, type: "immutable", actual: requested }]);
}

/** The entity id an id of the KITeGG routes names: the record with that externalId, else the id itself (an entity id). */
export async function entityIdFor(id: string, byExternalId: (id: string) => Promise<string | undefined>): Promise<string> {
	return (await byExternalId(id)) ?? id;
}
