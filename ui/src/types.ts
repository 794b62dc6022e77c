/**
 * The shapes the dashboard reads from the API (docs/api/). Namespaces, images and volumes come from
 * the server's contracts in lib/api (type-only imports, erased at build time); the others are still
 * copies of only the fields the dashboard uses.
 */
import type { ImageEntity } from "../../lib/api/images";
import type { NamespaceEntity, QuotaReport } from "../../lib/api/namespaces";
import type { VolumeEntity } from "../../lib/api/volumes";

/** Taken from the server's contracts (lib/api), type-only: nothing of the server is bundled. */
export type Namespace = NamespaceEntity;
export type { QuotaReport };

export type Image = ImageEntity;

export interface Deployment {
	id: string;
	name: string;
	namespace: string;
	namespaceName: string;
	image: string;
	imageName?: string;
	replicas: number;
	vHosts: string[];
	status?: { phase: string };
	createdAt?: string;
}

export type AppPhase = "Ready" | "Progressing" | "Degraded" | "Failed" | "ScaledToZero" | "Missing";

export interface Reason {
	code: string;
	severity: "error" | "warning" | "progress" | "ok";
	message: string;
	object?: { kind: string; name: string };
	pods?: number;
}

export interface AppHealth {
	id: string;
	name: string;
	namespace: string;
	component?: string;
	phase: AppPhase;
	reason: string;
	message: string;
	reasons: Reason[];
	replicas: { desired: number; current: number; ready: number; available: number; updated: number };
	pods: { name: string; phase: string; ready: boolean; restarts: number; reason?: string; node?: string }[];
	objects: { deployment: boolean; service: boolean | null; ingress: boolean | null; secret: boolean; claims: { name: string; phase: string; capacity?: string }[] };
	hosts: string[];
	images: string[];
}

export interface PodLogs {
	pod: string;
	container: string;
	log: string;
}

export interface KubeEvent {
	type?: string;
	reason?: string;
	message?: string;
	object: { kind?: string; name?: string };
	count: number;
	lastTimestamp?: string;
}

export interface Env {
	id: string;
	key: string;
	value: string;
	type: "as-is" | "secret";
}

export type Volume = VolumeEntity;

export interface Job {
	id: string;
	name: string;
	namespace: string;
	namespaceName?: string;
	cmd?: string;
	command: string[];
	image: string;
	phase: "Pending" | "Running" | "Complete" | "Failed" | "Deleted";
	createdAt?: string;
	finishedAt?: string;
}

export interface Application {
	id: string;
	"template-name": string;
	location: string | null;
	status: "deploying" | "running" | "deleted" | "failed";
	namespace: string;
	owner: string;
	reason?: string;
	message?: string;
	lastActivityAt: string;
	cullAt?: string;
	createdAt: string;
}

export interface InventoryItem {
	kind: string;
	name: string;
	namespace?: string;
	provenance: "berth" | "external";
	entity?: { kind: string; id: string };
	owner?: { kind: string; name: string };
	owners?: { kind: string; name: string }[];
	phase?: string;
	ready?: boolean;
	images?: string[];
	replicas?: { desired: number; ready: number };
	counts?: Record<string, number>;
	createdAt?: string;
}

export interface InventoryPage {
	total: number;
	offset: number;
	limit: number;
	items: InventoryItem[];
}
