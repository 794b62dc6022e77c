/**
 * The shapes the client sends and receives: the services' contracts in lib/api (type-only imports,
 * erased at run time, so the client carries no server code). A change to a contract changes the
 * client's types with it, and `tsc` points at every caller.
 */
import type { ApplyView, CreateDeploymentParams, EventView, GenerateView, LogsParams, PodLogs, StateView, StatusView, TopView, UpdateDeploymentParams } from "../api/deployments";
import type { CreateEnvParams, CreateFromImageParams, EnvEntity, ListEnvParams, PackParams, PatchResult, ResolveEnvParams, TargetParams, UpdateEnvParams } from "../api/envs";
import type { CreateImageParams, DeployImageParams, ImageEntity, LoadReport, UpdateImageParams } from "../api/images";
import type { CreateJobParams, JobEntity, JobStatusView, ListJobsParams } from "../api/jobs";
import type { AdoptNamespaceParams, Availability, CreateNamespaceParams, MemberRole, NamespaceEntity, NamespaceStatus, QuotaInput, ResourceQuotaReport, UpdateNamespaceParams } from "../api/namespaces";
import type { CreateVolumeParams, VolumeEntity } from "../api/volumes";
import type { ConfigMapEntity, CreateDataObjectParams, ListDataObjectsParams, SecretEntity } from "../api/data-objects";
import type { CreateKeyParams, KeyEntity } from "../api/keys";
import type { NodeMetrics, Readiness } from "../api/health";
import type { CreateServiceParams, DeployView, ManifestsView, ServiceEntity, UndeployView, UpdateServiceParams, ValidateParams, ValidateView } from "../api/services";
import type { AdoptionPlan, AdoptParams, GetParams as InventoryGetParams, InventoryPage, InventoryView, ListParams as InventoryListParams, NamespaceSummary, SummaryView, XosTree } from "../api/inventory";
import type { CompatJobListItem, CompatJobStatus, CompatObject } from "../compat/jobs";
import type { SpecStatus } from "../manifests/spec";
import type { AppHealth } from "../api/status";
import type { NamespaceView as NamespaceStatusView } from "../api/status";
import type { DeploymentConfigMap, DeploymentEntity, PodState } from "../api/deployments";
import type { RevisionView } from "../api/revisions";

export type {
	AdoptNamespaceParams,
	XosTree,
	ConfigMapEntity,
	CreateDataObjectParams,
	SecretEntity,
	MemberRole,
	RevisionView,
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
	NodeMetrics,
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
/** An image as a catalog file gives it; `namespaceId` (id or name) makes it one of that namespace's. */
export type CreateImageBody = Omit<CreateImageParams, "source">;
export type UpdateImageBody = WithoutId<UpdateImageParams>;
export type UpdateServiceBody = WithoutId<UpdateServiceParams>;
export type DeploymentLogsQuery = Omit<WithoutId<LogsParams>, "follow">;

export interface ListImagesQuery {
	launchable?: boolean;
}

export type ListDataObjectsQuery = ListDataObjectsParams;

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

// The audit trail (docs/api/audit.md).
export type { AuditRecord, AuditVia, ListAuditParams as ListAuditQuery } from "../api/audit";

// Ephemeral applications (issue #8): the binder seed's routes and Berth's own.
export type { CreateCronJobParams, CronJobEntity, CronRunEntity } from "../api/cronjobs";
export type { ApplicationStatus, ApplicationView, DeployParams, LaunchedApplication, LaunchParams, TemplateView } from "../api/applications";
/** `GET /applications/:template/:id`, the binder seed's shape. */
export type { BinderView as Application } from "../api/applications";

export type { BuildEntity, BuildStatus, CreateBuildParams, ListBuildsParams } from "../api/builds";
