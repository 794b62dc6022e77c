import type { Context, Service, ServiceSchema } from "moleculer";
import { strictParams } from "../lib/api/rules";
import { domainParams, type DomainParams, type NamespaceEntity, type NamespaceRole } from "../lib/api/namespaces";
import { loadConfig } from "../lib/config";
import { invalid, notFound } from "../lib/errors";
import { changedGrants, normalDomain } from "../lib/namespaces/domains";
import { requirePlatformAdmin, type CallerMeta } from "./membership.mixin";

/** What the namespaces service gives the mixin's `this`. */
interface DomainsHost {
	visibleNamespace(ctx: Context<unknown, CallerMeta>, id: string, need?: NamespaceRole): Promise<NamespaceEntity>;
	patchEntity(ctx: Context<unknown, CallerMeta>, id: string, changes: Record<string, unknown>): Promise<Record<string, unknown>>;
}

/**
 * Grants (`grant`) or revokes one domain of a namespace: platform admins only. A caller who cannot
 * see the namespace gets its 404; one who can but is no admin, 403. Revoking what is not granted: 404.
 */
async function changeDomains(self: DomainsHost, ctx: Context<DomainParams, CallerMeta>, grant: boolean): Promise<NamespaceEntity> {
	const entity = await self.visibleNamespace(ctx, ctx.params.id);
	requirePlatformAdmin(ctx, "grant or revoke domains");
	const domain = normalDomain(ctx.params.domain);
	const change = changedGrants(entity.domains ?? [], domain, grant, loadConfig().baseDomain);
	if ("errors" in change) throw invalid("Invalid domain", change.errors);
	if ("missing" in change) throw notFound(`Domain grant "${domain}" of namespace ${entity.name}`, domain);
	const saved = (await self.patchEntity(ctx, entity.id, { domains: change.domains })) as unknown as NamespaceEntity;
	ctx.emit("k8s.namespaces.updated", saved);
	return saved;
}

const domainAction = (rest: string, summary: string, grant: boolean) => ({
	rest,
	summary,
	params: strictParams(domainParams),
	handler(this: Service, ctx: Context<DomainParams, CallerMeta>): Promise<NamespaceEntity> {
		return changeDomains(this as unknown as DomainsHost, ctx, grant);
	},
});

/**
 * v1.k8s.namespaces' domain grants (lib/namespaces/domains.ts has the rule they feed): the
 * namespace entity's `domains`, changed one at a time by an admin.
 */
export function createDomainsMixin(): Partial<ServiceSchema> {
	return {
		actions: {
			grantDomain: domainAction("POST /:id/domains", "Grant a domain and its subdomains to a namespace (admins only)", true),
			revokeDomain: domainAction("DELETE /:id/domains/:domain", "Revoke a namespace's domain grant (admins only)", false),
		},
	};
}
