import type { V1PodSecurityContext, V1SecurityContext } from "../k8s";

/**
 * What keeps a tenant inside its namespace: the Pod Security Admission labels of every namespace
 * Berth makes, its default NetworkPolicy, and the securityContext of every pod template Berth
 * generates. Pure builders; the settings come from lib/config.ts (tenantPolicy).
 */

/** The Pod Security Standards levels (https://kubernetes.io/docs/concepts/security/pod-security-standards/). */
export const POD_SECURITY_LEVELS = ["privileged", "baseline", "restricted"] as const;
export type PodSecurityLevel = (typeof POD_SECURITY_LEVELS)[number];

/** The settings behind a tenant namespace's policy objects. */
export interface TenantPolicy {
	/** POD_SECURITY_LEVEL: what the PodSecurity admission plugin enforces in Berth's namespaces. */
	podSecurityLevel: PodSecurityLevel;
	/** INGRESS_NAMESPACE: the only other namespace whose pods may connect to a tenant's (the ingress controller's). */
	ingressNamespace: string;
	/** BERTH_NAMESPACE: where Berth and NATS run; a tenant's pods never reach it. */
	berthNamespace: string;
	/**
	 * EGRESS_EXCEPT_CIDRS: addresses the "anywhere" egress rule leaves out. Pod addresses must be
	 * among them: some network plugins match an ipBlock against pods too, which would open Berth's
	 * namespace again; pods are reached through the namespace rule instead.
	 */
	egressExceptCidrs: string[];
	/** RBAC_ROLE, RBAC_SERVICE_ACCOUNT: the RoleBinding that gives Berth its writes in the namespace (lib/manifests/rbac.ts). */
	writer?: WriterAccess;
}

export interface ServiceAccountRef {
	namespace: string;
	name: string;
}

/** The writer ClusterRole Berth binds in each namespace it manages, and to whom; no ServiceAccount: no binding (Berth is admin, as on a dev cluster). */
export interface WriterAccess {
	role: string;
	serviceAccount?: ServiceAccountRef;
}

export const PSA_ENFORCE = "pod-security.kubernetes.io/enforce";
export const PSA_WARN = "pod-security.kubernetes.io/warn";

/** Enforce the configured level; warn (in the API answer, never refuse) at `restricted`. */
export function podSecurityLabels(level: PodSecurityLevel): Record<string, string> {
	return { [PSA_ENFORCE]: level, [PSA_WARN]: "restricted" };
}

/** Whether a live Namespace carries the labels the policy wants (else the reconcile applies them). */
export function hasPodSecurityLabels(labels: Record<string, string> | undefined, policy: Pick<TenantPolicy, "podSecurityLevel">): boolean {
	return Object.entries(podSecurityLabels(policy.podSecurityLevel)).every(([k, v]) => labels?.[k] === v);
}

/** What a catalog image says about the user it runs as (images/*.json). */
export interface ImageUser {
	/** The non-root uid the image runs as; unset: it starts as root. */
	runAsUser?: number;
	/** Its primary gid; also the pods' fsGroup, so mounted volumes are writable. */
	runAsGroup?: number;
	/**
	 * Capabilities the image needs back after ALL are dropped (e.g. SETUID to switch to its own
	 * user), only ones the `baseline` level allows.
	 */
	capabilities?: string[];
}

export interface WorkloadSecurity {
	pod: V1PodSecurityContext;
	container: V1SecurityContext;
}

/**
 * The securityContext of every pod Berth generates: no privilege escalation, ALL capabilities
 * dropped (those the image names added back), seccomp RuntimeDefault; and runAsNonRoot only for an
 * image that declares its non-root user, since it would stop any image that starts as root.
 * Passes `baseline`; passes `restricted` for an image with a user and no capabilities but
 * NET_BIND_SERVICE.
 */
export function workloadSecurity(user: ImageUser = {}): WorkloadSecurity {
	const nonRoot = user.runAsUser !== undefined;
	const group = nonRoot && user.runAsGroup !== undefined ? { runAsGroup: user.runAsGroup, fsGroup: user.runAsGroup } : {};
	return {
		pod: { seccompProfile: { type: "RuntimeDefault" }, ...(nonRoot ? { runAsNonRoot: true, runAsUser: user.runAsUser, ...group } : {}) },
		container: { allowPrivilegeEscalation: false, capabilities: { drop: ["ALL"], ...(user.capabilities?.length ? { add: [...user.capabilities] } : {}) } },
	};
}

/** The capabilities `baseline` lets a container add (the rest stay refused by the catalog check). */
export const BASELINE_CAPABILITIES = ["AUDIT_WRITE", "CHOWN", "DAC_OVERRIDE", "FOWNER", "FSETID", "KILL", "MKNOD", "NET_BIND_SERVICE", "SETFCAP", "SETGID", "SETPCAP", "SETUID", "SYS_CHROOT"] as const;
