/**
 * Keyless callers of the seeds' root routes (issue #20): the seeds' clients send no key, so an
 * operator may let those routes act as one user of their choosing (COMPAT_ANONYMOUS_USER), with
 * role `user` and, if COMPAT_ANONYMOUS_NAMESPACES says so, confined to some namespaces as a key
 * can be. Everything else about the call is as for that user's key: rate limits, quotas, owners.
 */

/** What the gateway puts in ctx.meta for such a call (the CallerMeta of mixins/membership.mixin.ts). */
export interface AnonymousCaller {
	userID: string;
	roles: string[];
	namespaces?: string[];
}

/** The seeds' root routes: orchestrate's `/jobs`, binder's `/applications`, KITeGG's `/kubernetes/services`. */
const SEED_ROUTES = /^\/(jobs|applications|kubernetes\/services)(\/|$)/;

export function isSeedRoute(fullPath: string | undefined): boolean {
	return SEED_ROUTES.test(fullPath ?? "");
}

/** Who a keyless call to `fullPath` acts as; undefined (a key is needed) when unset or not a seed route. */
export function anonymousCaller(setting: { userID: string; namespaces?: string[] } | undefined, fullPath: string | undefined): AnonymousCaller | undefined {
	if (!setting || !isSeedRoute(fullPath)) return undefined;
	return { userID: setting.userID, roles: ["user"], ...(setting.namespaces ? { namespaces: [...setting.namespaces] } : {}) };
}
