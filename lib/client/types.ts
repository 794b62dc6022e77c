/**
 * The shapes the client sends and receives. Entities and params are the services' own exported
 * types (type-only imports: erased at run time, so the client carries no server code), so a change
 * to a service's shapes changes the client's types with it and `tsc` points at every caller.
 * Only what no service declares yet (the binder applications) is written out here.
 */
import type { ApplyView, CreateDeploymentParams, EventView, GenerateView, LogsParams, PodLogs, StateView, StatusView, TopView, UpdateDeploymentParams } from "../api/deployments";
import type { CreateEnvParams, CreateFromImageParams, EnvEntity, ListEnvParams, PackParams, PatchResult, ResolveEnvParams, TargetParams, UpdateEnvParams } from "../api/envs";
import type { DeployImageParams, ImageEntity, LoadReport } from "../../services/k8s.images.service";
import type { CreateJobParams, JobEntity, JobStatusView, ListJobsParams } from "../../services/k8s.jobs.service";
import type { Availability, CreateNamespaceParams, NamespaceEntity, NamespaceStatus, QuotaInput, ResourceQuotaReport, UpdateNamespaceParams } from "../../services/k8s.namespaces.service";
import type { CreateVolumeParams, VolumeEntity } from "../../services/k8s.volumes.service";
import type { CreateKeyParams, KeyEntity } from "../../services/keys.service";
import type { Readiness } from "../../services/health.service";
import type { CreateServiceParams, DeployView, ManifestsView, ServiceEntity, UndeployView, UpdateServiceParams, ValidateParams, ValidateView } from "../../services/k8s.services.service";
import type { AdoptionPlan, AdoptParams, GetParams as InventoryGetParams, ListParams as InventoryListParams, SummaryView } from "../../services/k8s.inventory.service";
import type { CompatJobListItem, CompatJobStatus, CompatObject } from "../compat/jobs";
import type { InventoryPage, InventoryView, NamespaceSummary } from "../inventory";
import type { SpecStatus } from "../manifests/spec";
import type { AppHealth } from "../health";
import type { NamespaceView as NamespaceStatusView } from "../../services/k8s.status.service";
import type { DeploymentConfigMap, DeploymentEntity, PodState } from "../manifests/deployment";

export type {
	AppHealth,
	NamespaceStatusView,
	AdoptionPlan,
	AdoptParams,
	CreateServiceParams,
	DeployView,
	InventoryGetParams,
	InventoryListParams,
	InventoryPage,
	InventoryView,
	ManifestsView,
	NamespaceSummary,
	ServiceEntity,
	SpecStatus,
	SummaryView,
	UndeployView,
	ValidateParams,
	ValidateView,
	ApplyView,
	Availability,
	CompatJobListItem,
	CompatJobStatus,
	CompatObject,
	CreateDeploymentParams,
	CreateEnvParams,
	CreateFromImageParams,
	CreateJobParams,
	CreateKeyParams,
	CreateNamespaceParams,
	CreateVolumeParams,
	DeploymentEntity,
	EnvEntity,
	EventView,
	GenerateView,
	ImageEntity,
	JobEntity,
	JobStatusView,
	KeyEntity,
	ListEnvParams,
	ListJobsParams,
	LoadReport,
	NamespaceEntity,
	NamespaceStatus,
	PackParams,
	PatchResult,
	PodLogs,
	PodState,
	QuotaInput,
	Readiness,
	ResolveEnvParams,
	ResourceQuotaReport,
	StateView,
	StatusView,
	TargetParams,
	TopView,
	VolumeEntity,
};

/** Params of an action whose entity id travels in the path. */
type WithoutId<T> = Omit<T, "id">;

export type UpdateNamespaceBody = WithoutId<UpdateNamespaceParams>;
/** `configMap: null` removes the files (spelled out: the service's intersection type loses the null). */
export type UpdateDeploymentBody = Omit<WithoutId<UpdateDeploymentParams>, "configMap"> & { configMap?: DeploymentConfigMap | null };
export type UpdateEnvBody = WithoutId<UpdateEnvParams>;
export type DeployImageBody = WithoutId<DeployImageParams>;
export type UpdateServiceBody = WithoutId<UpdateServiceParams>;
export type DeploymentLogsQuery = Omit<WithoutId<LogsParams>, "follow">;

export interface ListImagesQuery {
	launchable?: boolean;
}

export interface ListVolumesQuery {
	/** Namespace entity id or name. */
	namespace?: string;
}

export interface ListDeploymentsQuery {
	/** Namespace entity id or name. */
	namespace?: string;
	/** One page, oldest first: `limit` 1–1000 (default 100 once `offset` is given); the total is in `X-Total-Count`. */
	limit?: number;
	offset?: number;
}

/** A key as `POST /api/v1/keys` answers it: the only time the key itself is shown. */
export type CreatedKey = KeyEntity & { key: string };

export interface Membership {
	member: string;
}

export interface Transfer {
	owner: string;
}

/** What `POST /api/v1/k8s/namespaces/clean` answers: the ids removed. */
export interface CleanReport {
	removed: string[];
}

// The binder seed's applications (issue #8). Shapes as the seed documents them, unchanged.

export type ApplicationStatus = "deploying" | "running" | "deleted" | "failed" | (string & {});

/** `GET /applications/:template/:id`. */
export interface Application {
	id: string;
	"template-name": string;
	/** Set once the instance is Ready (`<host>/user/<id>`); empty or absent before. */
	location?: string | null;
	status: ApplicationStatus;
}

/** Berth's own view of an instance (`/api/v1/k8s/applications`): the binder fields and more. */
export type ApplicationView = Application & Record<string, unknown>;

/** A launchable template, as `/api/v1/k8s/applications/templates` lists it. */
export type { TemplateView } from "../../services/k8s.applications.service";

export interface LaunchParams {
	/** The template: a launchable catalog image, by name. */
	template: string;
}

/** `POST /applications/:template`: the instance id at once; the instance comes up afterwards. */
export interface LaunchedApplication {
	id: string;
}
