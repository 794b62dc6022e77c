import type { V1Container, V1Deployment, V1EnvVar, V1Ingress, V1LimitRange, V1Namespace, V1NetworkPolicy, V1Pod, V1ResourceQuota, V1Secret, V1Service } from "../k8s";
import { effectivePorts, expandBerthVars, imageReference, podFootprint, podResources, type CatalogImage } from "./deployment";
import { httpPort } from "./ingress";
import { LABEL_COMPONENT, LABEL_PREFIX, entityAnnotations, managedLabels, selectorLabels } from "./labels";
import { namespaceManifests, networkPolicyManifest, type NamespaceQuota } from "./namespace";
import { workloadSecurity, type TenantPolicy } from "./security";

/** `app.kubernetes.io/component` of every object generated for an ephemeral application. */
export const APPLICATION_KIND = "application";
/** The template an instance was launched from (a catalog image name). */
export const LABEL_TEMPLATE = `${LABEL_PREFIX}/template`;
/** Where an instance is served, under the public host. */
export const USER_PATH_PREFIX = "/user/";

/** `berth.dev/id` of the applications namespace: how Berth knows the namespace is its own. */
export const APPS_NAMESPACE_ID = "applications";
/** `app.kubernetes.io/component` of the applications namespace (tenants' namespaces are "namespace"). */
export const APPS_NAMESPACE_KIND = "applications-namespace";

/**
 * The one namespace every instance runs in, with a quota, container defaults, a Pod Security level
 * and a NetworkPolicy like a tenant's. It belongs to the applications service, not to
 * v1.k8s.namespaces: applying it again adopts it.
 */
export function applicationsNamespaceManifests(name: string, quota: NamespaceQuota, policy: TenantPolicy): [V1Namespace, V1ResourceQuota, V1LimitRange, V1NetworkPolicy] {
	const entity = { id: APPS_NAMESPACE_ID, name, owner: "system", quota };
	const [ns, rq, limits] = namespaceManifests(entity, policy.podSecurityLevel);
	ns.metadata = { ...ns.metadata, labels: { ...ns.metadata?.labels, [LABEL_COMPONENT]: APPS_NAMESPACE_KIND } };
	return [ns, rq, limits, networkPolicyManifest(entity, policy)];
}

/** What an instance runs: the catalog entry as it was at launch (the instance keeps it even if the catalog changes). */
export type ApplicationTemplate = Omit<CatalogImage, "configMountPath">;

export interface ApplicationInstance {
	/** 32 hex characters. */
	id: string;
	/** The Kubernetes namespace of the applications. */
	namespace: string;
	template: ApplicationTemplate;
}

export interface ApplicationOptions {
	/** `PUBLIC_HOST`: a host name or address, optionally with a scheme and port ("104.197.56.211"). */
	publicHost: string;
	ingressClassName?: string;
}

export interface ApplicationNames {
	/** Deployment, Service and Ingress share it. */
	name: string;
	/** The generated secret env values. */
	secret: string;
	container: string;
}

export function applicationNames(id: string): ApplicationNames {
	return { name: `app-${id}`, secret: `app-${id}-env`, container: "app" };
}

export function userPath(id: string): string {
	return `${USER_PATH_PREFIX}${id}`;
}

/** `<PUBLIC_HOST>/user/<id>`, as the binder protocol writes locations. */
export function locationOf(publicHost: string, id: string): string {
	return `${publicHost.replace(/\/+$/, "")}${userPath(id)}`;
}

/**
 * The host an Ingress rule can name for PUBLIC_HOST, or undefined for a rule that matches any host:
 * Kubernetes refuses addresses (and ports) in `host`, and an address is what binder used.
 */
export function ingressHost(publicHost: string): string | undefined {
	const host = publicHost.replace(/^[a-z][a-z0-9+.-]*:\/\//i, "").replace(/[/?#].*$/, "").replace(/:\d+$/, "").toLowerCase();
	if (!host || /^[\d.]+$/.test(host) || host.includes(":") || host === "localhost") return undefined;
	return /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)+$/.test(host) ? host : undefined;
}

export function applicationLabels(inst: Pick<ApplicationInstance, "id" | "template">): Record<string, string> {
	return managedLabels(APPLICATION_KIND, inst.id, applicationNames(inst.id).name, { [LABEL_TEMPLATE]: inst.template.name });
}

function annotations(inst: Pick<ApplicationInstance, "id">): Record<string, string> {
	return entityAnnotations(APPLICATION_KIND, inst.id);
}

/** The metadata every object of an instance carries: its name (default: the instance's), namespace, labels and annotations. */
function instanceMeta(inst: ApplicationInstance, name = applicationNames(inst.id).name) {
	return { name, namespace: inst.namespace, labels: applicationLabels(inst), annotations: annotations(inst) };
}

/** The template's secret env vars: kept in the instance's Secret, never in the Deployment. */
export function secretEnvKeys(template: Pick<ApplicationTemplate, "env">): string[] {
	return (template.env ?? []).filter(e => e.type === "secret").map(e => e.key);
}

/** The keys whose values are generated per instance (secret and without a value in the catalog). */
export function generatedSecretKeys(template: Pick<ApplicationTemplate, "env">): string[] {
	return (template.env ?? []).filter(e => e.type === "secret" && e.value === undefined).map(e => e.key);
}

/**
 * The instance's Secret: catalog values as they are, `generated` for the others. Undefined when the
 * template has no secret env. `data` rather than stringData, as everywhere in Berth.
 */
export function applicationSecret(inst: ApplicationInstance, generated: Record<string, string>): V1Secret | undefined {
	const keys = secretEnvKeys(inst.template);
	if (!keys.length) return undefined;
	const values: Record<string, string> = {};
	for (const e of inst.template.env ?? []) if (e.type === "secret") values[e.key] = e.value ?? generated[e.key] ?? "";
	return {
		apiVersion: "v1",
		kind: "Secret",
		type: "Opaque",
		metadata: instanceMeta(inst, applicationNames(inst.id).secret),
		data: Object.fromEntries(Object.entries(values).map(([k, v]) => [k, Buffer.from(v, "utf8").toString("base64")])),
	};
}

/** One pod's share of a quota, keyed like a ResourceQuota's `hard` (millicores, bytes, pods). */
export function applicationFootprint(template: Pick<ApplicationTemplate, "resources">): Record<string, number> {
	return podFootprint(podResources(template));
}

/** Berth's variables of an instance, as its env and its command and args (expanded) have them. */
function servedAt(id: string): Record<string, string> {
	return { BERTH_APP_ID: id, BERTH_BASE_PATH: userPath(id) };
}

function envOf(inst: ApplicationInstance): V1EnvVar[] {
	const names = applicationNames(inst.id);
	const env: V1EnvVar[] = [];
	for (const e of inst.template.env ?? []) {
		if (e.type === "secret") env.push({ name: e.key, valueFrom: { secretKeyRef: { name: names.secret, key: e.key } } });
		else env.push({ name: e.key, value: e.value ?? "" });
	}
	// The path the instance is served under, for applications that must know their base URL.
	env.push(...Object.entries(servedAt(inst.id)).map(([name, value]) => ({ name, value })));
	return env;
}

/**
 * One pod, recreated rather than rolled (an ephemeral instance never needs two). The template's
 * volumes are scratch space here: the instance's data goes with it. No service-account token: an
 * anonymous user's code gets no credentials for the cluster.
 */
export function applicationDeployment(inst: ApplicationInstance): V1Deployment {
	const names = applicationNames(inst.id);
	const labels = applicationLabels(inst);
	const template = inst.template;
	const ports = effectivePorts({}, template);
	const resources = podResources(template);
	const volumes = template.volumes ?? [];
	const security = workloadSecurity(template);
	const container: V1Container = {
		name: names.container,
		image: imageReference(template),
		...(template.imagePullPolicy ? { imagePullPolicy: template.imagePullPolicy } : {}),
		...(template.command?.length ? { command: expandBerthVars(template.command, servedAt(inst.id)) } : {}),
		...(template.args?.length ? { args: expandBerthVars(template.args, servedAt(inst.id)) } : {}),
		...(ports.length ? { ports: ports.map(p => ({ name: p.name, containerPort: p.port, protocol: p.protocol })) } : {}),
		env: envOf(inst),
		resources: {
			...(Object.keys(resources.requests).length ? { requests: resources.requests } : {}),
			...(Object.keys(resources.limits).length ? { limits: resources.limits } : {}),
		},
		...(volumes.length ? { volumeMounts: volumes.map(v => ({ name: v.name, mountPath: v.mountPath })) } : {}),
		securityContext: security.container,
	};
	const pullSecrets = (template.imagePullSecrets ?? []).map(s => ({ name: typeof s === "string" ? s : s.name }));
	return {
		apiVersion: "apps/v1",
		kind: "Deployment",
		metadata: instanceMeta(inst),
		spec: {
			replicas: 1,
			strategy: { type: "Recreate" },
			selector: { matchLabels: selectorLabels(names.name) },
			template: {
				metadata: { labels, annotations: annotations(inst) },
				spec: {
					automountServiceAccountToken: false,
					enableServiceLinks: false,
					securityContext: security.pod,
					containers: [container],
					...(volumes.length ? { volumes: volumes.map(v => ({ name: v.name, emptyDir: {} })) } : {}),
					...(pullSecrets.length ? { imagePullSecrets: pullSecrets } : {}),
				},
			},
		},
	};
}

/** The Service in front of the pod; undefined when the template has no port. */
export function applicationService(inst: ApplicationInstance): V1Service | undefined {
	const ports = effectivePorts({}, inst.template);
	if (!ports.length) return undefined;
	const names = applicationNames(inst.id);
	return {
		apiVersion: "v1",
		kind: "Service",
		metadata: instanceMeta(inst),
		spec: {
			type: "ClusterIP",
			selector: selectorLabels(names.name),
			ports: ports.map(p => ({ name: p.name, port: p.port, targetPort: p.port, protocol: p.protocol })),
		},
	};
}

/** One path-based rule, `/user/<id>` on the public host, to the HTTP port; undefined without a TCP port. */
export function applicationIngress(inst: ApplicationInstance, opts: ApplicationOptions): V1Ingress | undefined {
	const port = httpPort(effectivePorts({}, inst.template));
	if (!port) return undefined;
	const names = applicationNames(inst.id);
	const host = ingressHost(opts.publicHost);
	return {
		apiVersion: "networking.k8s.io/v1",
		kind: "Ingress",
		metadata: instanceMeta(inst),
		spec: {
			...(opts.ingressClassName ? { ingressClassName: opts.ingressClassName } : {}),
			rules: [
				{
					...(host ? { host } : {}),
					http: { paths: [{ path: userPath(inst.id), pathType: "Prefix", backend: { service: { name: names.name, port: { number: port.port } } } }] },
				},
			],
		},
	};
}

export type ApplicationObject = V1Secret | V1Service | V1Deployment | V1Ingress;

/** Everything one instance needs, in apply order; `generated` fills the Secret's generated values. */
export function applicationManifests(inst: ApplicationInstance, opts: ApplicationOptions, generated: Record<string, string> = {}): ApplicationObject[] {
	const objects: (ApplicationObject | undefined)[] = [applicationSecret(inst, generated), applicationService(inst), applicationDeployment(inst), applicationIngress(inst, opts)];
	return objects.filter((o): o is ApplicationObject => o !== undefined);
}

/** A container state that will not get better by waiting. */
const FATAL_WAITING = new Set(["ErrImagePull", "ImagePullBackOff", "InvalidImageName", "CreateContainerConfigError", "CreateContainerError", "CrashLoopBackOff"]);

export interface InstanceHealth {
	/** A pod of the instance is Ready: it can take traffic. */
	ready: boolean;
	/** Why the instance cannot start, when it cannot. */
	failure?: string;
}

/**
 * Ready once any live pod has the Ready condition. Failed when a container cannot start (bad image,
 * crash loop) or the rollout ran out of time; a pod blocked by a quota is only waiting.
 */
export function instanceHealth(pods: V1Pod[], deployment?: Pick<V1Deployment, "status">): InstanceHealth {
	const live = pods.filter(p => !p.metadata?.deletionTimestamp);
	if (live.some(p => p.status?.conditions?.some(c => c.type === "Ready" && c.status === "True"))) return { ready: true };
	for (const pod of live) {
		for (const c of pod.status?.containerStatuses ?? []) {
			const reason = c.state?.waiting?.reason;
			if (reason && FATAL_WAITING.has(reason)) return { ready: false, failure: `${reason}: ${c.state?.waiting?.message ?? "the container cannot start"}` };
		}
		if (pod.status?.phase === "Failed") return { ready: false, failure: `Pod ${pod.metadata?.name} failed: ${pod.status.reason ?? pod.status.message ?? "unknown reason"}` };
	}
	const progressing = deployment?.status?.conditions?.find(c => c.type === "Progressing");
	if (progressing?.reason === "ProgressDeadlineExceeded") return { ready: false, failure: `ProgressDeadlineExceeded: ${progressing.message ?? "the rollout did not finish in time"}` };
	return { ready: false };
}
