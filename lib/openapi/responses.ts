/**
 * What each REST operation answers with (its 2xx body), by action name: the contract types the
 * typed client reads (lib/client/types.ts, which re-exports lib/api). `npm run openapi:schemas`
 * (scripts/openapi-schemas.ts) turns this interface into JSON Schemas (schemas.generated.json)
 * that /api/openapi.json puts under every operation; a unit test fails when the generated file is
 * stale, and the OpenAPI suite names every served operation without an entry here.
 *
 * A new action with a REST route: one line here, and its summary and examples in docs.ts (tsc
 * asks for them: that table is typed by this interface).
 */
import type { Liveness, Readiness, ServingCheckName } from "../api/health";
import type * as T from "../client/types";

/** A Kubernetes object as the apiserver holds it (its schema is the Kubernetes API reference's). */
export interface KubernetesObject {
	apiVersion?: string;
	kind?: string;
	metadata?: { name?: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string>; [key: string]: unknown };
	spec?: Record<string, unknown>;
	status?: Record<string, unknown>;
}

/** What a `clean` answers: how many entries it removed. */
export interface RemovedCount {
	removed: number;
}

/** The OpenAPI 3.1 document itself. */
export interface OpenApiDocument {
	openapi: string;
	info: { title: string; version: string; description?: string };
	paths: Record<string, Record<string, unknown>>;
	[key: string]: unknown;
}

export interface Responses {
	"health.live": Liveness;
	"health.ready": T.Readiness;
	"health.serving": Readiness<ServingCheckName>;
	"health.metrics": T.NodeMetrics;
	"api.openapi": OpenApiDocument;

	"v1.keys.list": T.KeyEntity[];
	"v1.keys.get": T.KeyEntity;
	"v1.keys.create": T.CreatedKey;
	"v1.keys.revoke": T.KeyEntity;

	"v1.audit.list": T.AuditRecord[];

	"v1.k8s.namespaces.list": T.NamespaceEntity[];
	"v1.k8s.namespaces.get": T.NamespaceEntity;
	"v1.k8s.namespaces.create": T.NamespaceEntity;
	"v1.k8s.namespaces.update": T.NamespaceEntity;
	"v1.k8s.namespaces.remove": T.NamespaceEntity;
	"v1.k8s.namespaces.available": T.Availability;
	"v1.k8s.namespaces.status": T.NamespaceStatus;
	"v1.k8s.namespaces.resourcequota": T.ResourceQuotaReport;
	"v1.k8s.namespaces.clean": T.CleanReport;
	"v1.k8s.namespaces.addMember": T.NamespaceEntity;
	"v1.k8s.namespaces.removeMember": T.NamespaceEntity;
	"v1.k8s.namespaces.transfer": T.NamespaceEntity;
	"v1.k8s.namespaces.grantDomain": T.NamespaceEntity;
	"v1.k8s.namespaces.revokeDomain": T.NamespaceEntity;
	"v1.k8s.namespaces.adopt": T.NamespaceEntity;

	"v1.k8s.images.list": T.ImageEntity[];
	"v1.k8s.images.get": T.ImageEntity;
	"v1.k8s.images.getImage": T.ImageEntity;
	"v1.k8s.images.loadImages": T.LoadReport;
	"v1.k8s.images.clean": RemovedCount;
	"v1.k8s.images.deploy": T.DeploymentEntity;
	"v1.k8s.images.create": T.ImageEntity;
	"v1.k8s.images.update": T.ImageEntity;
	"v1.k8s.images.remove": T.ImageEntity;
	"v1.k8s.images.build": T.BuildEntity;
	"v1.k8s.builds.list": T.BuildEntity[];
	"v1.k8s.builds.get": T.BuildEntity;
	"v1.k8s.builds.create": T.BuildEntity;
	"v1.k8s.builds.logs": string;

	"v1.k8s.volumes.list": T.VolumeEntity[];
	"v1.k8s.volumes.get": T.VolumeEntity;
	"v1.k8s.volumes.create": T.VolumeEntity;
	"v1.k8s.volumes.remove": T.VolumeEntity;
	"v1.k8s.volumes.addMember": T.VolumeEntity;
	"v1.k8s.volumes.removeMember": T.VolumeEntity;
	"v1.k8s.volumes.transfer": T.VolumeEntity;

	"v1.k8s.configmaps.list": T.ConfigMapEntity[];
	"v1.k8s.configmaps.get": T.ConfigMapEntity;
	"v1.k8s.configmaps.create": T.ConfigMapEntity;
	"v1.k8s.configmaps.update": T.ConfigMapEntity;
	"v1.k8s.configmaps.remove": T.ConfigMapEntity;
	"v1.k8s.configmaps.addMember": T.ConfigMapEntity;
	"v1.k8s.configmaps.removeMember": T.ConfigMapEntity;
	"v1.k8s.configmaps.transfer": T.ConfigMapEntity;

	"v1.k8s.secrets.list": T.SecretEntity[];
	"v1.k8s.secrets.get": T.SecretEntity;
	"v1.k8s.secrets.create": T.SecretEntity;
	"v1.k8s.secrets.update": T.SecretEntity;
	"v1.k8s.secrets.remove": T.SecretEntity;
	"v1.k8s.secrets.addMember": T.SecretEntity;
	"v1.k8s.secrets.removeMember": T.SecretEntity;
	"v1.k8s.secrets.transfer": T.SecretEntity;

	"v1.k8s.deployments.list": T.DeploymentEntity[];
	"v1.k8s.deployments.get": T.DeploymentEntity;
	"v1.k8s.deployments.create": T.DeploymentEntity;
	"v1.k8s.deployments.createDeployment": T.DeploymentEntity;
	"v1.k8s.deployments.update": T.DeploymentEntity;
	"v1.k8s.deployments.remove": T.DeploymentEntity;
	"v1.k8s.deployments.generate": T.GenerateView;
	"v1.k8s.deployments.manifests": T.GenerateView;
	"v1.k8s.deployments.apply": T.ApplyView;
	"v1.k8s.deployments.status": T.StatusView;
	"v1.k8s.deployments.state": T.StateView;
	"v1.k8s.deployments.pods": T.PodState[];
	"v1.k8s.deployments.logs": T.PodLogs[];
	"v1.k8s.deployments.events": T.EventView[];
	"v1.k8s.deployments.scale": T.DeploymentEntity;
	"v1.k8s.deployments.restart": T.DeploymentEntity;
	"v1.k8s.deployments.top": T.TopView;
	"v1.k8s.deployments.addMember": T.DeploymentEntity;
	"v1.k8s.deployments.removeMember": T.DeploymentEntity;
	"v1.k8s.deployments.transfer": T.DeploymentEntity;
	"v1.k8s.revisions.list": T.RevisionView[];
	"v1.k8s.revisions.rollback": T.RevisionView;

	"v1.k8s.envs.list": T.EnvEntity[];
	"v1.k8s.envs.get": T.EnvEntity;
	"v1.k8s.envs.create": T.EnvEntity;
	"v1.k8s.envs.update": T.EnvEntity;
	"v1.k8s.envs.remove": T.EnvEntity;
	"v1.k8s.envs.clean": RemovedCount;
	"v1.k8s.envs.resolveENV": T.EnvEntity;
	"v1.k8s.envs.pack": Record<string, string>;
	"v1.k8s.envs.patchConfigMap": T.PatchResult;
	"v1.k8s.envs.rePatchConfigMap": T.PatchResult;
	"v1.k8s.envs.createEnv": T.EnvEntity[];

	"v1.k8s.jobs.list": T.JobEntity[];
	"v1.k8s.jobs.get": T.JobEntity;
	"v1.k8s.jobs.create": T.JobEntity;
	"v1.k8s.jobs.remove": T.JobEntity;
	"v1.k8s.jobs.status": T.JobStatusView;
	/** text/plain: the output, live while the job runs, stored once it finished. */
	"v1.k8s.jobs.logs": string;
	"v1.k8s.jobs.compatCreate": T.CompatObject;
	"v1.k8s.jobs.compatList": T.CompatJobListItem[];
	"v1.k8s.jobs.compatGet": T.CompatObject;
	"v1.k8s.jobs.compatStatus": T.CompatJobStatus;
	/** text/plain, as the orchestrate seed answers. */
	"v1.k8s.jobs.compatLogs": string;

	"v1.k8s.cronjobs.list": T.CronJobEntity[];
	"v1.k8s.cronjobs.get": T.CronJobEntity;
	"v1.k8s.cronjobs.create": T.CronJobEntity;
	"v1.k8s.cronjobs.remove": T.CronJobEntity;
	"v1.k8s.cronjobs.suspend": T.CronJobEntity;
	"v1.k8s.cronjobs.resume": T.CronJobEntity;
	"v1.k8s.cronjobs.trigger": T.CronRunEntity;
	"v1.k8s.cronjobs.runs": T.CronRunEntity[];
	/** text/plain: a run's output. */
	"v1.k8s.cronjobs.runLogs": string;

	"v1.k8s.services.list": T.ServiceEntity[];
	"v1.k8s.services.get": T.ServiceEntity;
	"v1.k8s.services.create": T.ServiceEntity;
	"v1.k8s.services.update": T.ServiceEntity;
	"v1.k8s.services.remove": T.UndeployView;
	"v1.k8s.services.validate": T.ValidateView;
	"v1.k8s.services.manifests": T.ManifestsView;
	"v1.k8s.services.deploy": T.DeployView;
	"v1.k8s.services.status": T.SpecStatus;
	"v1.k8s.services.undeploy": T.UndeployView;
	/** The KITeGG seed answers with the Deployment as the apiserver now holds it. */
	"v1.k8s.services.compatDeploy": KubernetesObject;
	"v1.k8s.services.compatStatus": T.SpecStatus;
	"v1.k8s.services.compatDelete": T.UndeployView;

	"v1.k8s.inventory.summary": T.SummaryView;
	"v1.k8s.inventory.list": T.InventoryPage;
	"v1.k8s.inventory.get": T.InventoryView;
	"v1.k8s.inventory.getNamespace": T.NamespaceSummary;
	"v1.k8s.inventory.adopt": T.AdoptionPlan;
	"v1.k8s.inventory.tree": T.XosTree;

	"v1.k8s.applications.list": T.ApplicationView[];
	"v1.k8s.applications.status": T.ApplicationView;
	"v1.k8s.applications.launch": T.ApplicationView;
	"v1.k8s.applications.delete": T.ApplicationView;
	"v1.k8s.applications.keepalive": T.ApplicationView;
	"v1.k8s.applications.templates": T.TemplateView[];
	"v1.k8s.applications.template": T.TemplateView;
	"v1.k8s.applications.binderDeploy": T.LaunchedApplication;
	"v1.k8s.applications.binderLaunch": T.LaunchedApplication;
	"v1.k8s.applications.binderList": T.Application[];
	"v1.k8s.applications.binderStatus": T.Application;
	"v1.k8s.applications.binderKeepalive": T.Application;
}
