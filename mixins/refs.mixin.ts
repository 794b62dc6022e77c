import type { Context, Service, ServiceSchema } from "moleculer";
import type { LookupParams, NamespaceRef, NamespaceRole, QuotaReport } from "../lib/api/namespaces";
import { invalid } from "../lib/errors";
import { meshAdmission, withAdmission } from "../lib/namespaces/admission";
import type { CatalogImage } from "../lib/manifests/deployment";
import type { ResolveImageParams } from "../lib/images/resolve";
import type { CallerMeta } from "./membership.mixin";

/** A reference in the caller's request that names nothing: the caller's mistake, on that field. */
function missingReference(field: string, message: string, ref: string): Error {
	return invalid(message, [{ field, message, type: "reference", actual: ref }]);
}

/**
 * Lookups of what an entity refers to (its namespace, its catalog image), through the owning
 * services with the caller's context, and the one mapping of "not found" to the caller's field: a
 * 422 of type `reference` on `field`. And the namespace's admission, under which a quota is read,
 * checked and what it admits stored.
 */
export function createRefsMixin(): Partial<ServiceSchema> {
	return {
		methods: {
			/**
			 * The caller's namespace by id or name, where their role allows `need` (by default `edit`:
			 * creating in it). Missing (or another tenant's): 422 on `field`, or, with `field: null`,
			 * the namespaces service's own 404; too small a role: its 403.
			 */
			async lookupNamespace(this: Service, ctx: Context<unknown, CallerMeta>, ref: string, field: string | null = "namespace", need: NamespaceRole = "edit"): Promise<NamespaceRef> {
				try {
					return await ctx.call<NamespaceRef, LookupParams>("v1.k8s.namespaces.lookup", { ref, need });
				} catch (err) {
					if (field !== null && (err as { code?: number }).code === 404) throw missingReference(field, `Namespace "${ref}" not found`, ref);
					throw err;
				}
			},
			/**
			 * A catalog image the caller sees, by id, else by name; for `image` fields also an image
			 * reference IMAGE_POLICY admits (lib/images/resolve.ts). Anything else: 422 on `field`.
			 * Unmasked: what is deployed from it needs the values of the secrets it declares.
			 */
			async resolveImage(this: Service, ctx: Context<unknown, CallerMeta>, ref: string, how: Omit<ResolveImageParams, "ref"> = {}): Promise<CatalogImage> {
				const { field = "image", references = field === "image", sharedOnly } = how;
				return ctx.call<CatalogImage, ResolveImageParams>("v1.k8s.images.resolve", { ref, field, references, ...(sharedOnly ? { sharedOnly } : {}) });
			},
			/**
			 * Runs `work` (a quota check and the store of what it admits, given the quota read under the
			 * hold) while the namespace's admission is this request's: one step per namespace on every node.
			 */
			async withAdmission<T>(this: Service, ctx: Context<unknown, CallerMeta>, namespaceId: string, work: (quota: QuotaReport | undefined) => Promise<T>): Promise<T> {
				return withAdmission(meshAdmission(ctx, message => this.logger.warn(message)), namespaceId, work);
			},
		},
	};
}

/** Methods the refs mixin adds, for services' `this` typing. */
export interface RefsMethods {
	lookupNamespace(ctx: Context<unknown, CallerMeta>, ref: string, field?: string | null, need?: NamespaceRole): Promise<NamespaceRef>;
	resolveImage(ctx: Context<unknown, CallerMeta>, ref: string, how?: Omit<ResolveImageParams, "ref">): Promise<CatalogImage>;
	withAdmission<T>(ctx: Context<unknown, CallerMeta>, namespaceId: string, work: (quota: QuotaReport | undefined) => Promise<T>): Promise<T>;
}
