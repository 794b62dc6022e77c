import type { V1Ingress } from "../k8s";
import { deploymentAnnotations, deploymentLabels, effectivePorts, objectNames, type CatalogImage, type DeploymentEntity, type ImagePort } from "./model";

/** The annotation cert-manager reads to issue an Ingress's certificate. */
export const ANNOTATION_CLUSTER_ISSUER = "cert-manager.io/cluster-issuer";

/** How the cluster's Ingresses are made: the operator's settings (lib/config.ts `ingress`) and BASE_DOMAIN. */
export interface IngressSite {
	baseDomain: string;
	/** INGRESS_CLASS: `spec.ingressClassName`. */
	ingressClass?: string;
	/** TLS_ISSUER: the cert-manager ClusterIssuer of `tls: true`. */
	tlsIssuer?: string;
	/** INGRESS_ANNOTATIONS_ALLOWED: the keys a deployment's `annotations` may set. */
	annotationsAllowed?: string[];
}

/** A bare BASE_DOMAIN (the builders' older callers) as a site without class, TLS or annotations. */
export function siteOf(site: string | IngressSite): IngressSite {
	return typeof site === "string" ? { baseDomain: site } : site;
}

/** `<name>.<namespace>.<baseDomain>`: the host of a deployment that names no vHosts. */
export function defaultHost(dep: Pick<DeploymentEntity, "name" | "namespaceName">, baseDomain: string): string {
	return `${dep.name}.${dep.namespaceName}.${baseDomain}`;
}

export function effectiveHosts(dep: Pick<DeploymentEntity, "name" | "namespaceName" | "vHosts">, baseDomain: string): string[] {
	return dep.vHosts?.length ? dep.vHosts : [defaultHost(dep, baseDomain)];
}

/** The port HTTP traffic goes to: one named http, else 80, else 8080, else the first. */
export function httpPort(ports: Required<ImagePort>[]): Required<ImagePort> | undefined {
	const tcp = ports.filter(p => p.protocol === "TCP");
	return tcp.find(p => p.name === "http") ?? tcp.find(p => p.port === 80) ?? tcp.find(p => p.port === 8080) ?? tcp[0];
}

/** The Secret of a deployment's certificate: the one it names, or `<name>-tls` for cert-manager to fill. */
export function tlsSecretName(dep: Pick<DeploymentEntity, "name" | "tls">): string | undefined {
	if (!dep.tls) return undefined;
	return dep.tls === true ? `${dep.name}-tls` : dep.tls.secretName;
}

/** The Ingress's annotations: the deployment's allowed ones, cert-manager's issuer for `tls: true`, Berth's own last (they win). */
function ingressAnnotations(dep: DeploymentEntity, site: IngressSite): Record<string, string> {
	const allowed = new Set(site.annotationsAllowed ?? []);
	const out: Record<string, string> = Object.fromEntries(Object.entries(dep.annotations ?? {}).filter(([k]) => allowed.has(k)));
	if (dep.tls === true && site.tlsIssuer) out[ANNOTATION_CLUSTER_ISSUER] = site.tlsIssuer;
	return { ...out, ...deploymentAnnotations(dep) };
}

/**
 * An Ingress with one rule per host, all to the deployment's HTTP port among its public ones;
 * undefined without a public TCP port (a database's port stays inside the cluster).
 */
export function ingressManifest(dep: DeploymentEntity, image: Pick<CatalogImage, "ports">, site: string | IngressSite): V1Ingress | undefined {
	const { baseDomain, ingressClass, tlsIssuer } = siteOf(site);
	const port = httpPort(effectivePorts(dep, image).filter(p => p.expose === "public"));
	if (!port) return undefined;
	const names = objectNames(dep);
	const hosts = effectiveHosts(dep, baseDomain);
	const secretName = dep.tls === true && !tlsIssuer ? undefined : tlsSecretName(dep);
	return {
		apiVersion: "networking.k8s.io/v1",
		kind: "Ingress",
		metadata: { name: names.ingress, namespace: dep.namespaceName, labels: deploymentLabels(dep), annotations: ingressAnnotations(dep, siteOf(site)) },
		spec: {
			...(ingressClass ? { ingressClassName: ingressClass } : {}),
			...(secretName ? { tls: [{ hosts, secretName }] } : {}),
			rules: hosts.map(host => ({
				host,
				http: { paths: [{ path: "/", pathType: "Prefix", backend: { service: { name: names.service, port: { number: port.port } } } }] },
			})),
		},
	};
}
