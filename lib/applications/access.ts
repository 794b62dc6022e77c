/**
 * Who may see and end an instance. Differs from the membership mixin's findVisible on purpose: an
 * anonymous instance is visible to anyone who has its id (the id is the capability, as in binder),
 * and instances are found by their public id, not the DB's. For the rest the service passes in the
 * membership mixin's mayAccess, the one rule for owned entities.
 */
import { notFound, unauthorized } from "../errors";
import { isAppId } from "./checks";
import type { ApplicationStore, StoredApplication } from "./store";

/** The caller, as these rules need it (built by the service from its context). */
export interface Caller {
	/** Has a key (a user id). */
	signedIn: boolean;
	/** An admin, or mesh code that opted out of scoping. */
	privileged: boolean;
	/** The namespaces a confined key may act in. */
	confinedTo?: string[];
	/** The membership mixin's mayAccess: owner, member or privileged; a confined key only inside its namespaces. */
	mayAccess(doc: StoredApplication): boolean;
}

/** The instance if the caller may see it; another caller's instance is 404, like a missing one. */
export async function findVisibleInstance(store: ApplicationStore, caller: Caller, appId: string, template?: string): Promise<StoredApplication> {
	const doc = isAppId(appId) ? await store.load(appId) : undefined;
	if (!doc || (template !== undefined && doc.template !== template)) throw notFound("Application", appId);
	// The id is the capability for an anonymous instance, but a key confined elsewhere acts nowhere else.
	const confinedOut = caller.confinedTo !== undefined && !caller.confinedTo.includes(doc.namespaceName);
	if ((doc.anonymous && !confinedOut) || caller.mayAccess(doc)) return doc;
	throw notFound("Application", appId);
}

/** Only an admin (or mesh code) ends an anonymous instance: its id lets anyone watch it, not delete it. */
export function checkRemovable(caller: Caller, doc: StoredApplication): void {
	if (doc.anonymous && !caller.privileged) throw notFound("Application", doc.appId);
}

/**
 * `filter` narrowed to what the caller may list: anonymous instances only for the privileged, and a
 * confined key's namespaces only, as mayAccess would decide one by one. A list needs a caller.
 * (The owner/member scope is the membership mixin's scopedQuery, added by the service.)
 */
export function listFilter(caller: Caller, filter: Record<string, unknown>): Record<string, unknown> {
	if (!caller.signedIn && !caller.privileged) throw unauthorized();
	const terms = [filter];
	if (!caller.privileged) terms.push({ anonymous: { $ne: true } });
	if (caller.confinedTo) terms.push({ namespaceName: { $in: caller.confinedTo } });
	return terms.length === 1 ? filter : { $and: terms };
}
