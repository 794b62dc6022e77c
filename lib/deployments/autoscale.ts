/**
 * Autoscaling's rules: the bounds, the replicas a quota books (maxReplicas: the HPA may go there),
 * and scale's answer while an HPA owns the replicas (409: the HPA would undo it at once).
 */
import { conflict, type FieldError } from "../errors";
import type { DeploymentEntity } from "../manifests/model";

export function autoscaleErrors(draft: Pick<DeploymentEntity, "autoscale">): FieldError[] {
	const a = draft.autoscale;
	if (!a || a.minReplicas <= a.maxReplicas) return [];
	return [{ field: "autoscale.minReplicas", message: `autoscale.minReplicas (${a.minReplicas}) must not exceed autoscale.maxReplicas (${a.maxReplicas})`, type: "invalid", actual: a.minReplicas }];
}

/** The replicas the quota counts: as many as the HPA may make, or the deployment's own. */
export function bookedReplicas(dep: Pick<DeploymentEntity, "replicas" | "autoscale">): number {
	return dep.autoscale ? dep.autoscale.maxReplicas : dep.replicas;
}

/** A scale of an autoscaled deployment is refused: its replicas are the HPA's (change `autoscale` instead). */
export function checkScalable(dep: Pick<DeploymentEntity, "name" | "autoscale">): void {
	if (!dep.autoscale) return;
	const { minReplicas, maxReplicas } = dep.autoscale;
	throw conflict(`Deployment "${dep.name}" is autoscaled (${minReplicas}-${maxReplicas} replicas): change autoscale, or remove it to scale by hand`, { field: "replicas", autoscale: dep.autoscale });
}
