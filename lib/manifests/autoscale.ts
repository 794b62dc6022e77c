import type { V2HorizontalPodAutoscaler } from "../k8s";
import { deploymentAnnotations, deploymentLabels, objectNames, type AutoscaleSpec, type DeploymentEntity } from "./model";

/** The target when `autoscale` names neither cpu nor memory: Kubernetes' own default for an HPA without metrics. */
export const DEFAULT_CPU_UTILIZATION = 80;

function resourceMetric(name: "cpu" | "memory", averageUtilization: number) {
	return { type: "Resource", resource: { name, target: { type: "Utilization", averageUtilization } } };
}

/** The metrics of an autoscale spec: cpu and memory utilisation, cpu at 80% when it names neither. */
export function autoscaleMetrics(spec: AutoscaleSpec): NonNullable<V2HorizontalPodAutoscaler["spec"]>["metrics"] {
	const metrics = [];
	if (spec.cpu !== undefined || spec.memory === undefined) metrics.push(resourceMetric("cpu", spec.cpu ?? DEFAULT_CPU_UTILIZATION));
	if (spec.memory !== undefined) metrics.push(resourceMetric("memory", spec.memory));
	return metrics;
}

/** The autoscaling/v2 HPA of a deployment with `autoscale`, named like its Deployment; undefined without. */
export function hpaManifest(dep: DeploymentEntity): V2HorizontalPodAutoscaler | undefined {
	if (!dep.autoscale) return undefined;
	const names = objectNames(dep);
	return {
		apiVersion: "autoscaling/v2",
		kind: "HorizontalPodAutoscaler",
		metadata: { name: names.deployment, namespace: dep.namespaceName, labels: deploymentLabels(dep), annotations: deploymentAnnotations(dep) },
		spec: {
			scaleTargetRef: { apiVersion: "apps/v1", kind: "Deployment", name: names.deployment },
			minReplicas: dep.autoscale.minReplicas,
			maxReplicas: dep.autoscale.maxReplicas,
			metrics: autoscaleMetrics(dep.autoscale),
		},
	};
}
