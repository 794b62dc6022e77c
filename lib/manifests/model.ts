import type { V1ConfigMap, V1Deployment, V1Ingress, V1Service, V1ServiceAccount, V2HorizontalPodAutoscaler } from "../k8s";
import { LABEL_PREFIX, entityAnnotations, managedLabels } from "./labels";
import type { AssignedNodePort, AutoscaleSpec, CatalogImage, Condition, ConfigMount, DeploymentConfigMap, DeploymentEntity, DeploymentStatus, DeploymentVolume, Exposure, ImageEnvDeclaration, ImagePort, JointSpec, NodePortRequest, ProbeOverrides, ProbeSpec, Protocol, ResourceAmounts, ResourceSpec, ServiceAccountRequest, TlsSpec } from "../api/deployment-model";

// The entity's shape is the contract in lib/api/deployments.ts; re-exported for the builders.
export type { AssignedNodePort, AutoscaleSpec, CatalogImage, Condition, ConfigMount, DeploymentConfigMap, DeploymentEntity, DeploymentStatus, DeploymentVolume, Exposure, ImageEnvDeclaration, ImagePort, JointSpec, NodePortRequest, ProbeOverrides, ProbeSpec, Protocol, ResourceAmounts, ResourceSpec, ServiceAccountRequest, TlsSpec };

/**
 * The leaf of lib/manifests: a deployment entity's shape, the names and labels of what is generated
 * for it, and its ports. The builders (deployment.ts, configmap.ts, service.ts, ingress.ts, joint.ts,
 * secret.ts) import from here; this module imports no builder, so lib/manifests has no cycle.
 */

/** `app.kubernetes.io/component` of every object generated for a deployment entity. */
export const DEPLOYMENT_KIND = "deployment";
/** `app.kubernetes.io/component` of the env ConfigMap and Secret (owned by v1.k8s.envs). */
export const ENV_KIND = "deployment-env";

export const ANNOTATION_ENV_CHECKSUM = `${LABEL_PREFIX}/env-checksum`;
export const ANNOTATION_CONFIG_CHECKSUM = `${LABEL_PREFIX}/config-checksum`;
/** What `kubectl rollout restart` sets; Berth's restart does the same. */
export const ANNOTATION_RESTARTED_AT = "kubectl.kubernetes.io/restartedAt";

/** Names of the objects generated for a deployment called `name`. */
export interface ObjectNames {
	deployment: string;
	/** `<name>-service`: the seed's nginx config reaches php-fpm at `<php name>-service.<namespace>.svc.cluster.local`. */
	service: string;
	ingress: string;
	/** The configMap's files, `<name>-<configMap.name>`: two deployments may both call theirs "nginx-config". */
	configMap?: string;
	/** The env ConfigMap and Secret (same name, different kinds). */
	env: string;
	container: string;
}

export function objectNames(dep: Pick<DeploymentEntity, "name" | "configMap">): ObjectNames {
	return {
		deployment: dep.name,
		service: `${dep.name}-service`,
		ingress: dep.name,
		configMap: dep.configMap ? `${dep.name}-${dep.configMap.name}` : undefined,
		env: `${dep.name}-env`,
		container: dep.name,
	};
}

/** The pods' ServiceAccount name, or undefined for the namespace's default. */
export function serviceAccountName(dep: Pick<DeploymentEntity, "name">, req: ServiceAccountRequest | null | undefined): string | undefined {
	if (!req) return undefined;
	return req.name ?? dep.name;
}

/** One object a deployment holds by name, and the field of the deployment its name comes from. */
export interface GeneratedName {
	kind: "Deployment" | "Service" | "Ingress" | "ConfigMap" | "Secret" | "ServiceAccount";
	name: string;
	field: "name" | "configMap.name" | "serviceAccount.name";
}

/**
 * Every object a deployment may hold by name: the naming rule (objectNames) as kinds and names,
 * whether or not its image has ports, and its envs are written yet. Two deployments collide where
 * these meet; a shared ServiceAccount is no one's, so it is not among them.
 */
export function generatedNames(dep: Pick<DeploymentEntity, "name" | "configMap" | "serviceAccount">): GeneratedName[] {
	const names = objectNames(dep);
	const out: GeneratedName[] = [
		{ kind: "Deployment", name: names.deployment, field: "name" },
		{ kind: "Service", name: names.service, field: "name" },
		{ kind: "Ingress", name: names.ingress, field: "name" },
		{ kind: "ConfigMap", name: names.env, field: "name" },
		{ kind: "Secret", name: names.env, field: "name" },
	];
	if (names.configMap) out.push({ kind: "ConfigMap", name: names.configMap, field: "configMap.name" });
	const account = serviceAccountName(dep, dep.serviceAccount);
	if (account && !dep.serviceAccount?.shared) out.push({ kind: "ServiceAccount", name: account, field: "serviceAccount.name" });
	return out;
}

/** Labels on every generated object; `berth.dev/id` maps it back to the entity. */
export function deploymentLabels(dep: Pick<DeploymentEntity, "id" | "name">): Record<string, string> {
	return managedLabels(DEPLOYMENT_KIND, dep.id, dep.name);
}

export function deploymentAnnotations(dep: Pick<DeploymentEntity, "id">): Record<string, string> {
	return entityAnnotations(DEPLOYMENT_KIND, dep.id);
}

/** The default configMap mount when neither the deployment nor the image names one. */
export const DEFAULT_CONFIG_MOUNT = "/etc/config";

/**
 * Ports of the deployment, or of its image. A port's exposure is its own, else that of the image's
 * port of the same number, else public (an image that declares none was always reached by Ingress).
 */
export function effectivePorts(dep: Pick<DeploymentEntity, "ports">, image: Pick<CatalogImage, "ports">): Required<ImagePort>[] {
	const ports = dep.ports?.length ? dep.ports : (image.ports ?? []);
	const declared = (port: number) => image.ports?.find(p => p.port === port)?.expose;
	return ports.map((p, i) => ({ name: p.name ?? (ports.length === 1 ? "main" : `port-${i}`), port: p.port, protocol: p.protocol ?? "TCP", expose: p.expose ?? declared(p.port) ?? "public" }));
}

/** Every kind generated for a deployment (the joint ServiceAccount included). */
export type GeneratedObject = V1ConfigMap | V1Service | V1Deployment | V1Ingress | V1ServiceAccount | V2HorizontalPodAutoscaler;

/** Where a deployment is served: at its host's root (BERTH_BASE_PATH is "", so "$(BERTH_BASE_PATH)/" is "/"). */
export const SERVED_AT_ROOT: Record<string, string> = { BERTH_BASE_PATH: "" };

/**
 * A catalog command or args with Berth's own variables (`$(BERTH_BASE_PATH)`, `$(BERTH_APP_ID)`)
 * written out, so the applied object shows where the workload is served (jupyter's base URL).
 * Kubernetes' escape `$$(NAME)` is left for Kubernetes; other names are Kubernetes' to expand.
 */
export function expandBerthVars(items: string[], vars: Record<string, string>): string[] {
	return items.map(s => s.replace(/(\$?)\$\((BERTH_[A-Z_]+)\)/g, (m, escaped: string, key: string) => (escaped || vars[key] === undefined ? m : vars[key])));
}
