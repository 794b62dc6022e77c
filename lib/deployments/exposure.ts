/**
 * The rules of a deployment's exposure and probes that need the operator's settings or the image:
 * `tls: true` needs TLS_ISSUER, `annotations` only with keys INGRESS_ANNOTATIONS_ALLOWED lists,
 * and a probe's named port must be one of the container's.
 */
import { probeProblem } from "../api/probes";
import { ingressConfig, type IngressConfig } from "../config";
import type { FieldError } from "../errors";
import type { IngressSite } from "../manifests/ingress";
import { effectivePorts, type CatalogImage, type DeploymentEntity } from "../manifests/model";
import { PROBE_KINDS } from "../manifests/probes";

/** The site the Ingresses of BASE_DOMAIN are made for, with the operator's current settings. */
export function ingressSite(baseDomain: string, config: IngressConfig = ingressConfig()): IngressSite {
	return { baseDomain, ...config };
}

export function exposureErrors(draft: Pick<DeploymentEntity, "tls" | "annotations" | "probes" | "ports">, image: Pick<CatalogImage, "ports">, config: IngressConfig = ingressConfig()): FieldError[] {
	const errors: FieldError[] = [];
	if (draft.tls === true && !config.tlsIssuer) errors.push({ field: "tls", message: "tls: true needs a certificate issuer, and this Berth has none (TLS_ISSUER); name a Secret with tls: {secretName}", type: "invalid", actual: true });
	const allowed = new Set(config.annotationsAllowed);
	const refused = Object.keys(draft.annotations ?? {}).filter(k => !allowed.has(k));
	if (refused.length) {
		const which = allowed.size ? `only ${[...allowed].join(", ")} may be set` : "none may be set (INGRESS_ANNOTATIONS_ALLOWED is empty)";
		errors.push({ field: "annotations", message: `Ingress annotations ${refused.join(", ")} are not allowed: ${which}`, type: "invalid", actual: refused });
	}
	const ports = effectivePorts(draft, image);
	for (const { key } of PROBE_KINDS) {
		const probe = draft.probes?.[key];
		const problem = probe ? probeProblem(probe, ports) : undefined;
		if (problem) errors.push({ field: `probes.${key}`, message: `probes.${key}: ${problem}`, type: "invalid" });
	}
	return errors;
}
