/**
 * The shapes the dashboard reads from the API (docs/api/): the server's contracts in lib/api
 * (type-only imports, erased at build time: nothing of the server is bundled). The inventory's are
 * still copies of the fields the dashboard uses: lib/api/inventory.ts reaches into the server's
 * inventory modules, which the dashboard's type check cannot load.
 */
import type { ApplicationView } from "../../lib/api/applications";
import type { DeploymentEntity, EventView, PodLogs } from "../../lib/api/deployments";
import type { EnvEntity } from "../../lib/api/envs";
import type { ImageEntity } from "../../lib/api/images";
import type { JobEntity } from "../../lib/api/jobs";
import type { AppHealth, AppPhase, Reason } from "../../lib/api/status";
import type { NamespaceEntity, QuotaReport } from "../../lib/api/namespaces";
import type { VolumeEntity } from "../../lib/api/volumes";

/** Taken from the server's contracts (lib/api), type-only: nothing of the server is bundled. */
export type Namespace = NamespaceEntity;
export type { QuotaReport };

export type Image = ImageEntity;

export type Deployment = DeploymentEntity;
export type { AppHealth, AppPhase, PodLogs, Reason };
export type KubeEvent = EventView;
export type Env = EnvEntity;
export type Volume = VolumeEntity;
export type Job = JobEntity;
export type Application = ApplicationView;

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
