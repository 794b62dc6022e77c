/**
 * The rules about a service's fields beyond the document's own shape (lib/specs/parse.ts): the
 * exposure, and what the claims already in the cluster allow. Pure: every input is passed in.
 */
import type { ServiceSpec, SpecObject } from "../api/services";
import { conflict, invalid, type FieldError } from "../errors";
import type { V1PersistentVolumeClaim } from "../k8s";
import { claimSizes } from "../manifests/spec";
import { parseSpec, type GpuOptions } from "./parse";

/** `exposed_service` names a container and `exposed_port` one of its TCP ports; both or neither. */
export function checkExposure(spec: ServiceSpec, exposedService: string | null | undefined, exposedPort: number | null | undefined): FieldError[] {
	const hasService = exposedService !== undefined && exposedService !== null;
	const hasPort = exposedPort !== undefined && exposedPort !== null;
	if (!hasService && !hasPort) return [];
	if (!hasService) return [{ field: "exposed_service", message: "exposed_port needs exposed_service: the container whose port is exposed", type: "required" }];
	if (!hasPort) return [{ field: "exposed_port", message: "exposed_service needs exposed_port: the container port to expose", type: "required" }];
	const container = spec.containers.find(ct => ct.name === exposedService);
	if (!container) return [{ field: "exposed_service", message: `exposed_service must name a container of the spec (${spec.containers.map(ct => ct.name).join(", ")})`, type: "reference", actual: exposedService }];
	const port = container.ports.find(p => p.port === exposedPort);
	if (!port) return [{ field: "exposed_port", message: `exposed_port must be a port of container "${container.name}" (${container.ports.map(p => p.port).join(", ")})`, type: "reference", actual: exposedPort }];
	if (port.protocol !== "TCP") return [{ field: "exposed_port", message: "Only TCP ports can be exposed over HTTP", type: "invalid", actual: exposedPort }];
	return [];
}

/** The parsed spec, or 422 naming every YAML path (and exposure field) at fault. */
export function validateSpec(text: string, exposedService: string | null | undefined, exposedPort: number | null | undefined, gpuOptions: GpuOptions): ServiceSpec {
	const result = parseSpec(text, { gpuOptions });
	if (!result.ok) throw invalid("Invalid deployment spec", result.errors);
	const errors: FieldError[] = checkExposure(result.spec, exposedService, exposedPort);
	if (errors.length) throw invalid("Invalid exposure", errors);
	return result.spec;
}

/** The claims among the manifests. */
export function claimsOf(manifests: SpecObject[]): V1PersistentVolumeClaim[] {
	return manifests.filter(m => m.kind === "PersistentVolumeClaim") as V1PersistentVolumeClaim[];
}

/** A claim cannot shrink (the YAML path says which volume), nor be applied while it is being deleted. */
export function checkVolumes(spec: ServiceSpec, manifests: SpecObject[], live: V1PersistentVolumeClaim[]): void {
	const current = claimSizes(live);
	const wanted = claimSizes(claimsOf(manifests));
	// Applying to a terminating claim changes nothing, and the pod would wait for a claim that is about to vanish.
	const leaving = live.find(p => p.metadata?.deletionTimestamp && wanted[p.metadata.name as string] !== undefined);
	if (leaving) throw conflict(`Volume claim "${leaving.metadata?.name}" is still being deleted; deploy again in a moment`, { kind: "PersistentVolumeClaim", name: leaving.metadata?.name });
	const errors: FieldError[] = [];
	Object.keys(wanted).forEach((claim, i) => {
		const now = current[claim];
		if (now !== undefined && wanted[claim] < now)
			errors.push({ field: `volumes[${i}].size`, message: `Volume "${spec.volumes[i].name}" exists with ${live.find(p => p.metadata?.name === claim)?.spec?.resources?.requests?.storage}; a volume cannot shrink`, type: "invalid", actual: spec.volumes[i].size });
	});
	if (errors.length) throw invalid("Invalid deployment spec", errors);
}
