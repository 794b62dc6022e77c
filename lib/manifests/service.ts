import type { V1Service } from "../k8s";
import { selectorLabels } from "./labels";
import { deploymentAnnotations, deploymentLabels, effectivePorts, objectNames, type CatalogImage, type DeploymentEntity } from "./model";

/**
 * The ClusterIP Service in front of a deployment's pods, one port per image port; undefined
 * when there is nothing to expose (a Service without ports is invalid).
 */
export function serviceManifest(dep: DeploymentEntity, image: Pick<CatalogImage, "ports">): V1Service | undefined {
	const ports = effectivePorts(dep, image);
	if (!ports.length) return undefined;
	return {
		apiVersion: "v1",
		kind: "Service",
		metadata: { name: objectNames(dep).service, namespace: dep.namespaceName, labels: deploymentLabels(dep), annotations: deploymentAnnotations(dep) },
		spec: {
			type: "ClusterIP",
			selector: selectorLabels(dep.name),
			ports: ports.map(p => ({ name: p.name, port: p.port, targetPort: p.port, protocol: p.protocol })),
		},
	};
}
