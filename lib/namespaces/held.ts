/**
 * The cluster's own `default` namespace, as Berth holds it for the seed's example. The seed's code
 * begins with `resolveName({name: "default"})` and then acts as the answer's `owner`, in it; so
 * Berth keeps an entity for that namespace, held by its system identity:
 *
 * - `owner` is the system identity ("system"), `members` stays empty, and it has no Berth quota
 *   (the cluster's own rules for `default` apply; Berth does not label it nor put a ResourceQuota
 *   or LimitRange in it).
 * - Who sees and uses it: callers acting as that identity, that is mesh code that passes
 *   `meta.userID: "system"` as the seed does (mesh callers are trusted with the meta they send),
 *   and administrators. A tenant's API key never acts as "system": the keys service issues no key
 *   for that user, and no member can be added. So for tenants it does not exist (404).
 * - It is never created, changed, given members or removed through Berth: the name stays reserved,
 *   and update, remove, clean and the membership actions refuse it.
 *
 * Pure: the live Namespace and the system identity are passed in.
 */
import type { NamespaceEntity } from "../api/namespaces";
import { forbidden } from "../errors";
import type { V1Namespace } from "../k8s";

/** The cluster's namespace the seed's example resolves. */
export const HELD_DEFAULT = "default";

/** Whether an entity is the held `default` (by its name and its system owner: tenants cannot make either). */
export function isHeldDefault(entity: Pick<NamespaceEntity, "name" | "owner">, systemUser: string): boolean {
	return entity.name === HELD_DEFAULT && entity.owner === systemUser;
}

/** The entity to store for the cluster's `default` namespace as it is now. */
export function heldDefaultDoc(live: V1Namespace, systemUser: string): Omit<NamespaceEntity, "id" | "createdAt" | "updatedAt"> {
	return { name: HELD_DEFAULT, owner: systemUser, members: [], quota: null, phase: live.status?.phase ?? "Active", uid: live.metadata?.uid ?? null };
}

/** The refusal of any change to the held `default`. */
export function heldDefaultRefused(): Error {
	return forbidden(`The cluster's "${HELD_DEFAULT}" namespace is held by Berth's system identity: it is not changed, shared or removed through Berth`);
}
