/**
 * Which hosts a namespace may serve (README "Domains", docs/api/namespaces.md). Pure: the caller
 * passes the namespace's name, its admin grants and BASE_DOMAIN.
 *
 * - `<namespace>.<BASE_DOMAIN>` and every host under it belong to that namespace, and no other
 *   host under BASE_DOMAIN does (it is another namespace's, now or later).
 * - An admin grants a namespace other domains; a grant of `shop.example` covers it and every host
 *   under it.
 * - A wildcard host (`*.shop.example`) needs a grant of that wildcard itself: no grant of a plain
 *   domain, nor the namespace's own domain, lets a tenant catch every name below one. A grant of
 *   `*.shop.example` also covers the plain hosts under shop.example (not shop.example itself).
 * - A host is taken when another Ingress in the cluster already serves it: the same host, or a
 *   wildcard rule (`*.x` serves `a.x`) that the new host would take traffic from.
 */
import { HOST } from "../api/rules";
import type { FieldError } from "../errors";

/** The most domains one namespace holds. */
export const MAX_DOMAINS = 50;

export function isWildcard(host: string): boolean {
	return host.startsWith("*.");
}

/** `host` is `domain` or a name under it. */
function under(host: string, domain: string): boolean {
	return host === domain || host.endsWith(`.${domain}`);
}

/** The domain every host of namespace `namespace` may use without a grant. */
export function ownDomain(namespace: string, baseDomain: string): string {
	return `${namespace}.${baseDomain}`;
}

/** Whether grant `grant` covers `host` (see the module's rules). */
export function grantCovers(grant: string, host: string): boolean {
	if (isWildcard(host)) return host === grant;
	if (isWildcard(grant)) return host.endsWith(grant.slice(1));
	return under(host, grant);
}

/** Why namespace `namespace` may not serve `host`; undefined when it may. */
export function hostRefusal(host: string, namespace: string, grants: readonly string[], baseDomain: string): string | undefined {
	const own = ownDomain(namespace, baseDomain);
	if (under(host.replace(/^\*\./, ""), baseDomain)) {
		if (isWildcard(host)) return `Wildcard hosts under ${baseDomain} are not served`;
		return under(host, own) ? undefined : `Hosts under ${baseDomain} belong to the namespace they name: this namespace's end with .${own}`;
	}
	if (grants.some(g => grantCovers(g, host))) return undefined;
	if (isWildcard(host)) return `A wildcard host needs an administrator's grant of "${host}" to the namespace`;
	return `"${host}" is outside the namespace's domains (${[own, ...grants].join(", ")}); an administrator grants others`;
}

export function hostAllowed(host: string, namespace: string, grants: readonly string[], baseDomain: string): boolean {
	return hostRefusal(host, namespace, grants, baseDomain) === undefined;
}

/**
 * The 422 field errors of `hosts` (each on `field[i]`) that namespace `namespace` may not serve;
 * hosts in `kept` (what the deployment already serves) are not checked again, so revoking a grant
 * does not block an unrelated change.
 */
export function hostErrors(field: string, hosts: readonly string[], scope: { namespace: string; grants: readonly string[]; baseDomain: string }, kept: readonly string[] = []): FieldError[] {
	const errors: FieldError[] = [];
	hosts.forEach((host, i) => {
		if (kept.includes(host)) return;
		const refusal = hostRefusal(host, scope.namespace, scope.grants, scope.baseDomain);
		if (refusal) errors.push({ field: `${field}[${i}]`, message: refusal, type: "domain", actual: host });
	});
	return errors;
}

/** Whether an Ingress rule for `served` takes the traffic of `host` (or the reverse): the same host, or a wildcard over it. */
export function serves(served: string, host: string): boolean {
	if (served === host) return true;
	if (!isWildcard(served) || isWildcard(host)) return false;
	// An Ingress wildcard matches exactly one label: `*.x` serves `a.x`, not `b.a.x` nor `x`.
	const rest = host.slice(host.indexOf(".") + 1);
	return `*.${rest}` === served;
}

/** The first of `hosts` that `ingressHosts` (the other Ingresses' rules) already serve. */
export function takenHost(hosts: readonly string[], ingressHosts: readonly string[]): { host: string; by: string } | undefined {
	for (const host of hosts) {
		const by = ingressHosts.find(served => serves(served, host));
		if (by) return { host, by };
	}
	return undefined;
}

/** A domain as stored: lower case, without a trailing dot. */
export function normalDomain(domain: string): string {
	return domain.trim().toLowerCase().replace(/\.$/, "");
}

/**
 * The field errors of a domain an admin grants: a host name of two labels or more (`*.` allowed in
 * front), not BASE_DOMAIN nor under it (those hosts are the namespaces' own).
 */
export function grantErrors(domain: string, baseDomain: string): FieldError[] {
	if (!HOST.test(domain)) return [{ field: "domain", message: 'domain must be a DNS name of two labels or more, such as "shop.example" or "*.shop.example"', type: "domain", actual: domain }];
	if (under(domain.replace(/^\*\./, ""), baseDomain))
		return [{ field: "domain", message: `Hosts under ${baseDomain} belong to the namespace they name; they are not granted`, type: "domain", actual: domain }];
	return [];
}

/**
 * The grants after granting (`grant`) or revoking `domain` (normalized), or why not: a 422 field
 * error on `domain`, or `missing` for a revoke of a domain not granted.
 */
export function changedGrants(current: readonly string[], domain: string, grant: boolean, baseDomain: string): { domains: string[] } | { errors: FieldError[] } | { missing: true } {
	if (!grant) return current.includes(domain) ? { domains: current.filter(d => d !== domain) } : { missing: true };
	const errors = grantErrors(domain, baseDomain);
	if (!errors.length && !current.includes(domain) && current.length >= MAX_DOMAINS) errors.push({ field: "domain", message: `A namespace holds at most ${MAX_DOMAINS} domains`, type: "max", actual: domain });
	return errors.length ? { errors } : { domains: [...new Set([...current, domain])].sort() };
}
