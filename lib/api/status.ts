/**
 * The contract of v1.k8s.status: its settings, params, views, and the in-process hub the
 * gateway's Server-Sent-Event streams subscribe to.
 */
import { idRule } from "./rules";

// ---------------------------------------------------------------------------------------------
// One app's health (lib/health.ts folds the live objects into it).

/**
 * - `Ready`: every wanted pod is up to date and ready, and nothing else is wrong.
 * - `Progressing`: on its way (a rollout, pods starting, a claim binding) with nothing failing yet.
 * - `Degraded`: serving (enough pods ready), but something needs attention (a rollout stuck on a
 *   bad image, a missing Service or Ingress).
 * - `Failed`: not serving what was asked, and something says why (a reason of severity `error`).
 * - `ScaledToZero`: zero replicas wanted, none running.
 * - `Missing`: no Deployment in the cluster (not made yet, or deleted behind Berth's back).
 */
export type AppPhase = "Ready" | "Progressing" | "Degraded" | "Failed" | "ScaledToZero" | "Missing";

export type Severity = "error" | "warning" | "progress" | "ok";

/** Reason codes, stable strings a client may branch on. */
export const ReasonCodes = {
	Ready: "Ready",
	ScaledToZero: "ScaledToZero",
	DeploymentMissing: "DeploymentMissing",
	// Errors: what stops the app from running as asked.
	QuotaExceeded: "QuotaExceeded",
	FailedCreate: "FailedCreate",
	PVCLost: "PVCLost",
	PVCMissing: "PVCMissing",
	PVCPending: "PVCPending",
	Unschedulable: "Unschedulable",
	ImagePullBackOff: "ImagePullBackOff",
	CreateContainerConfigError: "CreateContainerConfigError",
	SecretMissing: "SecretMissing",
	CrashLoopBackOff: "CrashLoopBackOff",
	OOMKilled: "OOMKilled",
	ProgressDeadlineExceeded: "ProgressDeadlineExceeded",
	// Warnings: serving, but not as Berth made it.
	PodFailed: "PodFailed",
	ServiceMissing: "ServiceMissing",
	IngressMissing: "IngressMissing",
	// Progress: on its way.
	Progressing: "Progressing",
	PodsPending: "PodsPending",
	ContainerCreating: "ContainerCreating",
	ContainersNotReady: "ContainersNotReady",
} as const;

export type ReasonCode = (typeof ReasonCodes)[keyof typeof ReasonCodes];

export interface Reason {
	code: ReasonCode;
	severity: Severity;
	message: string;
	/** The object it is about, when it is about one (the first of several pods). */
	object?: { kind: string; name: string };
	/** How many pods share this reason, for pod reasons. */
	pods?: number;
}

export interface PodHealth {
	name: string;
	phase: string;
	ready: boolean;
	restarts: number;
	/** The waiting or terminated reason of a container that is not running, or the pod's own. */
	reason?: string;
	node?: string;
}

export interface ClaimHealth {
	name: string;
	/** Pending, Bound, Lost, or Missing when the claim is not among Berth's claims. */
	phase: string;
	capacity?: string;
}

export interface AppHealth {
	/** The Berth entity id (`berth.dev/id`). */
	id: string;
	/** The Deployment's name (the entity's name for Berth deployments). */
	name: string;
	/** The Kubernetes namespace. */
	namespace: string;
	/** The entity kind (`app.kubernetes.io/component`): deployment, application, service, … */
	component?: string;
	phase: AppPhase;
	/** The most important reason's code and message. */
	reason: ReasonCode;
	message: string;
	/** Every reason, most severe first. */
	reasons: Reason[];
	replicas: { desired: number; current: number; ready: number; available: number; updated: number };
	pods: PodHealth[];
	objects: {
		deployment: boolean;
		/** null: none expected and none there. */
		service: boolean | null;
		ingress: boolean | null;
		/** The entity's own Secret (its env secret), when it has one. */
		secret: boolean;
		claims: ClaimHealth[];
	};
	/** The Ingress's hosts. */
	hosts: string[];
	/** The images the Deployment runs. */
	images: string[];
}

// ---------------------------------------------------------------------------------------------
// The status service's params and views

export interface StatusSettings {
	/** STATUS_HEARTBEAT_SECONDS: a comment line this often keeps proxies from closing a quiet stream. */
	heartbeatSeconds: number;
	/** STATUS_DEBOUNCE_MS: changes within this window are pushed as one. */
	debounceMs: number;
	/** How long a new stream waits for the first list of every kind before it answers anyway. */
	syncTimeoutMs: number;
}

export interface GetParams {
	id: string;
	/** Used for the name while the Deployment is missing. */
	name?: string;
}

export interface NamespaceParams {
	name: string;
}

export interface NamespaceView {
	namespace: string;
	phase: AppPhase | "Empty";
	counts: Partial<Record<AppPhase, number>>;
	apps: AppHealth[];
}

/** What the hub tells listeners: an app's new status, or that nothing of it is left in the cluster. */
export type StatusChange = { type: "status"; status: AppHealth } | { type: "removed"; id: string; namespace: string };

/** The in-process face of the service the gateway's streams subscribe to. */
export interface StatusHub {
	/** Resolves once every informer has listed (or after syncTimeoutMs). */
	whenSynced(): Promise<boolean>;
	current(id: string, namespace: string, name?: string): AppHealth;
	inNamespace(namespace: string): AppHealth[];
	subscribe(listener: (change: StatusChange) => void): () => void;
	/** Streams end when the service stops, so the gateway's server can close. */
	onStop(listener: () => void): () => void;
	readonly settings: StatusSettings;
}


export const getStatusParams = { id: idRule, name: { type: "string", optional: true, max: 253 } } as const;
export const namespaceStatusParams = { name: { type: "string", min: 1, max: 63 } } as const;
