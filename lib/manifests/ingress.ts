import type { V1Ingress } from "../k8s";
import { deploymentAnnotations, deploymentLabels, effectivePorts, objectNames, type CatalogImage, type DeploymentEntity, type ImagePort } from "./model";

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

/** An Ingress with one rule per host, all to the deployment's Service; undefined without a TCP port. */
export function ingressManifest(dep: DeploymentEntity, image: Pick<CatalogImage, "ports">, baseDomain: string): V1Ingress | undefined {
	const port = httpPort(effectivePorts(dep, image));
	if (!port) return undefined;
	const names = objectNames(dep);
	return {
		apiVersion: "networking.k8s.io/v1",
		kind: "Ingress",
		metadata: { name: names.ingress, namespace: dep.namespaceName, labels: deploymentLabels(dep), annotations: deploymentAnnotations(dep) },
		spec: {
			rules: effectiveHosts(dep, baseDomain).map(host => ({
				host,
				http: { paths: [{ path: "/", pathType: "Prefix", backend: { service: { name: names.service, port: { number: port.port } } } }] },
			})),
		},
	};
}
