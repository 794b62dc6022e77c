/**
 * The contract of v1.k8s.status: its settings, params, views, and the in-process hub the
 * gateway's Server-Sent-Event streams subscribe to.
 */
import type { AppHealth, AppPhase } from "../health";
import { idRule } from "./rules";

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
