import type { V1LimitRange, V1Namespace, V1NetworkPolicy, V1NetworkPolicyEgressRule, V1ResourceQuota } from "../k8s";
import { cpuMillis, bytes, formatBytes } from "../quantity";
import { DNS1123_LABEL } from "../api/rules";
import { LABEL_PREFIX, entityAnnotations, managedLabels } from "./labels";
import { podSecurityLabels, type PodSecurityLevel, type TenantPolicy } from "./security";

import type { NamespaceQuota } from "../api/namespaces";

export type { NamespaceQuota };

/** What the manifests need of a namespace entity. */
export interface NamespaceSpec {
	id: string;
	name: string;
	owner: string;
	quota: NamespaceQuota;
	/** When an admin adopted the Namespace into Berth (lib/namespaces/adoption.ts); unset for those Berth made. */
	adoptedAt?: string;
}

export const NAMESPACE_KIND = "namespace";
export const ANNOTATION_OWNER = `${LABEL_PREFIX}/owner`;
/**
 * On a Namespace Berth adopted rather than made: when. The admission policy of
 * deploy/kubernetes/berth.yaml lets Berth label a Namespace it does not manage only with it.
 */
export const ANNOTATION_ADOPTED = `${LABEL_PREFIX}/adopted-at`;
/** Names of the per-namespace policy objects; fixed, so an update replaces rather than adds. */
export const QUOTA_NAME = "berth-quota";
export const LIMIT_RANGE_NAME = "berth-limits";
/** The extended resource a `gpu` quota limits. */
export const GPU_RESOURCE = "nvidia.com/gpu";

export const DEFAULT_QUOTA: NamespaceQuota = Object.freeze({ cpu: "2", memory: "4Gi", storage: "10Gi", pods: 20, gpu: 0 });

/** Per-container defaults for containers that declare no resources (the quota requires them). */
const CONTAINER_DEFAULTS = { limitCpuMillis: 500, requestCpuMillis: 100, limitMemory: 512 * 2 ** 20, requestMemory: 128 * 2 ** 20 };

/** The Namespace, with the Pod Security level the PodSecurity admission plugin enforces in it. */
export function namespaceManifest(ns: NamespaceSpec, level: PodSecurityLevel): V1Namespace {
	return {
		apiVersion: "v1",
		kind: "Namespace",
		metadata: {
			name: ns.name,
			labels: managedLabels(NAMESPACE_KIND, ns.id, ns.name, podSecurityLabels(level)),
			annotations: entityAnnotations(NAMESPACE_KIND, ns.id, { [ANNOTATION_OWNER]: ns.owner, ...(ns.adoptedAt ? { [ANNOTATION_ADOPTED]: ns.adoptedAt } : {}) }),
		},
	};
}

/** The quota's `hard` map: requests and limits both capped, so neither can overcommit the namespace. */
export function quotaHard(quota: NamespaceQuota): Record<string, string> {
	return {
		"requests.cpu": quota.cpu,
		"limits.cpu": quota.cpu,
		"requests.memory": quota.memory,
		"limits.memory": quota.memory,
		"requests.storage": quota.storage,
		pods: String(quota.pods),
		[`requests.${GPU_RESOURCE}`]: String(quota.gpu),
	};
}

export function resourceQuotaManifest(ns: NamespaceSpec): V1ResourceQuota {
	return {
		apiVersion: "v1",
		kind: "ResourceQuota",
		metadata: { name: QUOTA_NAME, namespace: ns.name, labels: managedLabels("quota", ns.id, QUOTA_NAME), annotations: entityAnnotations(NAMESPACE_KIND, ns.id) },
		spec: { hard: quotaHard(ns.quota) },
	};
}

function millis(m: number): string {
	return `${m}m`;
}

/**
 * Defaults for containers without requests/limits. Never larger than the quota itself: a default
 * the quota cannot hold would make every such pod unschedulable.
 */
export function limitRangeManifest(ns: NamespaceSpec): V1LimitRange {
	const cpu = cpuMillis(ns.quota.cpu);
	const memory = bytes(ns.quota.memory);
	const limitCpu = Math.min(CONTAINER_DEFAULTS.limitCpuMillis, cpu);
	const requestCpu = Math.min(CONTAINER_DEFAULTS.requestCpuMillis, limitCpu);
	const limitMemory = Math.min(CONTAINER_DEFAULTS.limitMemory, memory);
	const requestMemory = Math.min(CONTAINER_DEFAULTS.requestMemory, limitMemory);
	return {
		apiVersion: "v1",
		kind: "LimitRange",
		metadata: { name: LIMIT_RANGE_NAME, namespace: ns.name, labels: managedLabels("limits", ns.id, LIMIT_RANGE_NAME), annotations: entityAnnotations(NAMESPACE_KIND, ns.id) },
		spec: {
			limits: [
				{
					type: "Container",
					_default: { cpu: millis(limitCpu), memory: formatBytes(limitMemory) },
					defaultRequest: { cpu: millis(requestCpu), memory: formatBytes(requestMemory) },
				},
			],
		},
	};
}

/** The Namespace and its quota objects, in the order they must be applied (the Namespace first). */
export function namespaceManifests(ns: NamespaceSpec, level: PodSecurityLevel): [V1Namespace, V1ResourceQuota, V1LimitRange] {
	return [namespaceManifest(ns, level), resourceQuotaManifest(ns), limitRangeManifest(ns)];
}

/** Fixed name: an apply replaces the policy rather than adding one. */
export const NETWORK_POLICY_NAME = "berth-default";
const NAMESPACE_NAME_LABEL = "kubernetes.io/metadata.name";

const namespaceIn = (names: string[]) => ({ matchExpressions: [{ key: NAMESPACE_NAME_LABEL, operator: "In", values: names }] });

/** The "anywhere" ipBlocks, one per address family, each without the excepted ranges of its family. */
function anywhere(except: string[]): V1NetworkPolicyEgressRule["to"] {
	const v6 = except.filter(c => c.includes(":"));
	const v4 = except.filter(c => !c.includes(":"));
	return [
		{ ipBlock: { cidr: "0.0.0.0/0", ...(v4.length ? { except: v4 } : {}) } },
		{ ipBlock: { cidr: "::/0", ...(v6.length ? { except: v6 } : {}) } },
	];
}

/**
 * The namespace's default NetworkPolicy. Ingress: from its own pods, and from other namespaces only
 * from the ingress controller's. Egress: pods of every namespace but Berth's (where NATS is), DNS in
 * kube-system, and addresses outside the excepted ranges.
 */
export function networkPolicyManifest(ns: Pick<NamespaceSpec, "id" | "name">, policy: TenantPolicy): V1NetworkPolicy {
	return {
		apiVersion: "networking.k8s.io/v1",
		kind: "NetworkPolicy",
		metadata: { name: NETWORK_POLICY_NAME, namespace: ns.name, labels: managedLabels("network-policy", ns.id, NETWORK_POLICY_NAME), annotations: entityAnnotations(NAMESPACE_KIND, ns.id) },
		spec: {
			podSelector: {},
			policyTypes: ["Ingress", "Egress"],
			ingress: [{ _from: [{ podSelector: {} }, { namespaceSelector: namespaceIn([policy.ingressNamespace]) }] }],
			egress: [
				{ to: [{ namespaceSelector: { matchExpressions: [{ key: NAMESPACE_NAME_LABEL, operator: "NotIn", values: [policy.berthNamespace] }] } }] },
				{
					to: [{ namespaceSelector: namespaceIn(["kube-system"]) }],
					ports: [
						{ protocol: "UDP", port: 53 },
						{ protocol: "TCP", port: 53 },
					],
				},
				{ to: anywhere(policy.egressExceptCidrs) },
			],
		},
	};
}

/** Namespaces Berth never creates or takes over: Kubernetes' own and Berth's own. */
export function isSystemNamespace(name: string, reserved: readonly string[] = RESERVED_NAMESPACES): boolean {
	return name.startsWith("kube-") || reserved.includes(name);
}

export const RESERVED_NAMESPACES: readonly string[] = ["default", "kube-system", "kube-public", "kube-node-lease", "berth", "berth-system"];

/** RFC 1123 label: what Kubernetes accepts as a namespace name. */
export const RFC1123_LABEL = DNS1123_LABEL;
