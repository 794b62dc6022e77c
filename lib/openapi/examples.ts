/**
 * Example answers for the API reference (/api/docs), one per entity or view and typed by the
 * contract, so tsc refuses an example the types do not allow; test/unit/openapi-docs.test.ts
 * checks each against the generated JSON Schemas as well. One tenant's world: namespace `shop`
 * owned by `alice`, a deployment `web` of the nginx image in it.
 */
import type { Liveness, Readiness, ServingCheckName } from "../api/health";
import type * as T from "../client/types";
import type { KubernetesObject, OpenApiDocument, RemovedCount } from "./responses";

const at = "2026-06-04T09:12:00.000Z";
const later = "2026-06-04T09:14:30.000Z";
const ids = {
	namespace: "665f1c2a9b1e4d0012a3b4c1",
	image: "665f1c2a9b1e4d0012a3b4c2",
	deployment: "665f1c2a9b1e4d0012a3b4c3",
	volume: "665f1c2a9b1e4d0012a3b4c4",
	env: "665f1c2a9b1e4d0012a3b4c5",
	job: "665f1c2a9b1e4d0012a3b4c6",
	cronJob: "665f1c2a9b1e4d0012a3b4c7",
	service: "665f1c2a9b1e4d0012a3b4c8",
	configMap: "665f1c2a9b1e4d0012a3b4c9",
	secret: "665f1c2a9b1e4d0012a3b4ca",
	key: "665f1c2a9b1e4d0012a3b4cb",
	tenantImage: "665f1c2a9b1e4d0012a3b4cc",
	build: "665f1c2a9b1e4d0012a3b4cd",
	application: "a1b2c3d4",
};
export const exampleIds = ids;

export const liveness: Liveness = { status: "alive" };
export const readiness: T.Readiness = {
	status: "ready",
	failing: [],
	checks: { services: { ok: true, detail: "all local services started" }, db: { ok: true, detail: "nedb" }, transporter: { ok: true, detail: "NATS connected" }, cluster: { ok: true, detail: "apiserver answered in 4 ms" } },
};
export const serving: Readiness<ServingCheckName> = { status: "ready", failing: [] };
export const nodeMetrics: T.NodeMetrics = { nodeID: "berth-api-1", leading: true, leadership: [{ from: 1780563120000 }], apiserver: { byVerb: { get: 120, list: 14, patch: 31 }, writes: 31 } };
export const openApiDocument: OpenApiDocument = { openapi: "3.1.0", info: { title: "Berth", version: "0.1.0" }, paths: {} };

export const key: T.KeyEntity = { id: ids.key, name: "ci", userID: "alice", roles: ["user"], namespaces: ["shop"], prefix: "berth_5f1c2a9b", createdAt: at, expiresAt: "2026-09-01T00:00:00.000Z" };
export const createdKey: T.CreatedKey = { ...key, key: "berth_5f1c2a9b_Xq3vN8pL2mR7tY1wK9sD4fG6hJ0zC5bA" };
export const auditRecord: T.AuditRecord = { id: "665f1c2a9b1e4d0012a3b4d0", at, actor: "alice", keyID: ids.key, via: "rest", action: "v1.k8s.deployments.scale", entity: ids.deployment, namespace: ids.namespace, namespaceName: "shop", status: 200, requestID: "3f2a9c1e-5b7d-4e8f-9a0b-1c2d3e4f5a6b" };

export const namespace: T.NamespaceEntity = {
	id: ids.namespace,
	name: "shop",
	owner: "alice",
	members: ["bob"],
	memberRoles: [{ member: "bob", role: "view" }],
	uid: "0b6f3c1e-2d4a-4f5b-8c9d-7e6f5a4b3c2d",
	domains: ["shop.example"],
	quota: { cpu: "4", memory: "8Gi", storage: "20Gi", pods: 20, gpu: 0 },
	phase: "Active",
	createdAt: at,
	updatedAt: later,
};
export const availability: T.Availability = { name: "shop", available: true };
export const namespaceStatus: T.NamespaceStatus = { id: ids.namespace, name: "shop", exists: true, phase: "Active", uid: namespace.uid ?? null, conditions: [] };
export const resourceQuota: T.ResourceQuotaReport = { hard: { "limits.cpu": "4", "limits.memory": "8Gi", pods: "20" }, used: { "limits.cpu": "500m", "limits.memory": "256Mi", pods: "2" } };
export const cleanReport: T.CleanReport = { removed: [ids.namespace] };
export const removedCount: RemovedCount = { removed: 3 };

export const image: T.ImageEntity = {
	id: ids.image,
	name: "nginx",
	namespace: "web",
	tag: "1.27",
	image: "nginx:1.27",
	registry: "docker.io",
	repository: "library/nginx",
	description: "NGINX web server on port 80",
	source: "file",
	imagePullPolicy: "IfNotPresent",
	imagePullSecrets: [],
	ports: [{ name: "http", port: 80, protocol: "TCP", expose: "public" }],
	env: [{ key: "NGINX_ENTRYPOINT_QUIET_LOGS", type: "as-is", value: "1" }],
	volumes: [],
	resources: { limits: { cpu: 500, memory: 256 }, requests: { cpu: 50, memory: 64 } },
	createdAt: at,
	updatedAt: at,
};
/** A tenant's own entry: only the members of `shop` see it. */
export const tenantImage: T.ImageEntity = {
	...image,
	id: ids.tenantImage,
	name: "shop-api",
	namespace: "shop",
	tag: "1.4.2",
	image: "registry.example/shop/api:1.4.2",
	registry: "registry.example",
	repository: "shop/api",
	description: "The shop's API on port 8080",
	namespaceId: ids.namespace,
	source: "api",
	ports: [{ name: "http", port: 8080, protocol: "TCP", expose: "public" }],
	env: [],
};
const { id: _tenantImageId, source: _source, createdAt: _created, updatedAt: _updated, ...tenantEntry } = tenantImage;
/** A create names the namespace by name or id; the answer carries its id. */
export const createImageRequest: T.CreateImageBody = { ...tenantEntry, namespaceId: "shop" };
export const build: T.BuildEntity = {
	id: ids.build,
	jobName: "build-shop-api-5f1c2a9b",
	namespace: ids.namespace,
	namespaceName: "shop",
	git: "https://git.example/shop/api.git",
	ref: "refs/tags/v1.4.2",
	dockerfile: "Dockerfile",
	name: "shop-api",
	tag: "1.4.2",
	destination: "registry.example/shop/shop-api:1.4.2",
	resources: { requests: { cpu: "500m", memory: "1Gi" }, limits: { cpu: "2", memory: "4Gi" } },
	timeoutSeconds: 1800,
	status: "succeeded",
	image: "registry.example/shop/shop-api@sha256:9b1e4d0012a3b4cd665f1c2a9b1e4d0012a3b4cd665f1c2a9b1e4d0012a3b4cd",
	digest: "sha256:9b1e4d0012a3b4cd665f1c2a9b1e4d0012a3b4cd665f1c2a9b1e4d0012a3b4cd",
	imageId: ids.tenantImage,
	finishedAt: later,
	owner: "alice",
	members: [],
	createdAt: at,
	updatedAt: later,
};
const { image: _image, digest: _digest, imageId: _imageId, finishedAt: _finishedAt, ...buildSpec } = build;
/** What a create answers: the Job is made, nothing has run yet. */
export const pendingBuild: T.BuildEntity = { ...buildSpec, status: "pending", updatedAt: at };
export const buildLogs = "INFO[0000] Retrieving image manifest node:24-alpine\nINFO[0042] Pushing image to registry.example/shop/shop-api:1.4.2\n";
export const loadReport: T.LoadReport = { added: ["redis"], updated: ["nginx"], unchanged: ["postgres", "node"], overridden: ["php-8-1-0-fpm"] };

export const volume: T.VolumeEntity = {
	id: ids.volume,
	namespace: ids.namespace,
	name: "uploads",
	type: "persistentVolumeClaim",
	mountPath: "/data",
	size: "1Gi",
	accessModes: ["ReadWriteOnce"],
	status: { phase: "Bound", capacity: "1Gi" },
	owner: "alice",
	members: [],
	createdAt: at,
	updatedAt: at,
};
export const configMap: T.ConfigMapEntity = { id: ids.configMap, namespace: ids.namespace, name: "site-config", owner: "alice", members: [], createdAt: at, updatedAt: at, data: { "default.conf": "server { listen 80; }" } };
export const secret: T.SecretEntity = { id: ids.secret, namespace: ids.namespace, name: "api-tokens", owner: "alice", members: [], createdAt: at, updatedAt: at, keys: ["STRIPE_KEY"] };

const conditions: T.StatusView["conditions"] = [{ type: "Available", status: "True", reason: "MinimumReplicasAvailable", lastTransitionTime: later }];
export const deploymentStatus: T.DeploymentEntity["status"] & object = { phase: "Running", replicas: 2, readyReplicas: 2, availableReplicas: 2, updatedReplicas: 2, observedGeneration: 3, conditions };
export const deployment: T.DeploymentEntity = {
	id: ids.deployment,
	name: "web",
	namespace: ids.namespace,
	namespaceName: "shop",
	image: ids.image,
	imageName: "nginx",
	replicas: 2,
	vHosts: ["www.shop.example"],
	volumes: [{ name: "uploads", type: "persistentVolumeClaim", mountPath: "/usr/share/nginx/html/uploads" }],
	ports: [{ name: "http", port: 80, protocol: "TCP", expose: "public" }],
	status: deploymentStatus,
	owner: "alice",
	members: [],
	createdAt: at,
	updatedAt: later,
};
const manifest: T.GenerateView["manifests"][number] = { apiVersion: "apps/v1", kind: "Deployment", metadata: { name: "web", namespace: "shop", labels: { "app.kubernetes.io/managed-by": "berth" } } };
export const generateView: T.GenerateView = { manifests: [manifest] };
export const applyView: T.ApplyView = { applied: [{ kind: "Deployment", name: "web" }, { kind: "Service", name: "web-service" }, { kind: "Ingress", name: "web-ingress" }], status: deploymentStatus };
export const statusView: T.StatusView = { ...deploymentStatus, id: ids.deployment, name: "web", namespace: "shop", hosts: ["www.shop.example"] };
export const podState: T.PodState = { name: "web-7d9c8b6f5-x2k4p", phase: "Running", ready: true, restarts: 0, node: "kwok-node-0", ip: "10.0.0.12", startTime: later, containers: [{ name: "web", ready: true, restartCount: 0, state: "running" }] };
export const stateView: T.StateView = { deployment: statusView, pods: [podState] };
export const podLogs: T.PodLogs = { pod: podState.name, container: "web", log: '10.0.0.1 - - [04/Jun/2026:09:15:02 +0000] "GET / HTTP/1.1" 200 615\n' };
export const eventView: T.EventView = { type: "Normal", reason: "ScalingReplicaSet", message: "Scaled up replica set web-7d9c8b6f5 to 2", object: { kind: "Deployment", name: "web" }, count: 1, lastTimestamp: later };
export const topView: T.TopView = { pods: [{ pod: podState.name, containers: [{ name: "web", cpu: 3, memory: 9_437_184 }] }], total: { cpu: 3, memory: 9_437_184 } };
export const revision: T.RevisionView = { revision: 3, deployment: ids.deployment, by: "alice", at: later, cause: "updated", changes: [{ field: "replicas", old: 1, new: 2 }], spec: { image: ids.image, replicas: 2 }, env: [{ key: "LOG_LEVEL", type: "as-is", value: "info" }] };

export const env: T.EnvEntity = { id: ids.env, namespace: ids.namespace, namespaceName: "shop", deployment: ids.deployment, deploymentName: "web", key: "LOG_LEVEL", type: "as-is", value: "info", owner: "alice", members: [], createdAt: at, updatedAt: at };
export const packedEnv: Record<string, string> = { LOG_LEVEL: "info", STRIPE_KEY: "********" };
export const patchResult: T.PatchResult = { deployment: "web", configMap: "web-env", secret: "web-env-secret", keys: ["LOG_LEVEL", "STRIPE_KEY"], checksum: "sha256:4f1c2a9b5e7d3c1a" };

const jobStatus = { active: 0, succeeded: 1, failed: 0, startTime: at, completionTime: later };
const jobSpec = {
	id: ids.job,
	name: "migrate",
	namespace: ids.namespace,
	namespaceName: "shop",
	command: ["sh", "-c", "echo migrating && sleep 2"],
	image: "busybox:1.36",
	env: [{ name: "LOG_LEVEL", value: "info" }],
	resources: { requests: { cpu: "100m", memory: "64Mi" }, limits: { cpu: "500m", memory: "128Mi" } },
	timeoutSeconds: 600,
	ttlSecondsAfterFinished: 3600,
	backoffLimit: 0,
	owner: "alice",
	members: [],
	createdAt: at,
	updatedAt: later,
};
export const job: T.JobEntity = { ...jobSpec, compat: false, phase: "Complete", status: jobStatus, finishedAt: later };
export const jobStatusView: T.JobStatusView = { ...jobStatus, phase: "Complete", finishedAt: later };
export const jobLogs = "migrating\n";
export const compatObject: T.CompatObject = { kind: "Job", metadata: { name: "job-5f1c2a9b", namespace: "default" } };
const compatStatus: T.CompatJobStatus = { active: null, ready: null, succeeded: 1, failed: null, completed_indexes: null, uncounted_terminated_pods: null, start_time: at, completion_time: later, conditions: [{ type: "Complete", status: "True", last_probe_time: later, last_transition_time: later, message: "", reason: "" }] };
export const compatJobStatus = compatStatus;
export const compatJobListItem: T.CompatJobListItem = { ...compatStatus, job: "job-5f1c2a9b" };

export const cronJob: T.CronJobEntity = {
	...jobSpec,
	id: ids.cronJob,
	name: "nightly-report",
	schedule: "0 3 * * *",
	timeZone: "Europe/Berlin",
	suspend: false,
	concurrencyPolicy: "Forbid",
	lastScheduleTime: at,
};
export const cronRun: T.CronRunEntity = { id: "665f1c2a9b1e4d0012a3b4d1", cronJob: ids.cronJob, name: "nightly-report-29650020", namespace: ids.namespace, namespaceName: "shop", trigger: "schedule", phase: "Complete", status: jobStatus, finishedAt: later, createdAt: at, updatedAt: later };

export const service: T.ServiceEntity = {
	id: ids.service,
	name: "notebook",
	namespace: ids.namespace,
	namespaceName: "shop",
	deployment: "containers:\n  - name: web\n    image: nginx:1.27\n    ports:\n      - name: http\n        port: 80\n",
	exposed_service: "web",
	exposed_port: 80,
	resourceName: "notebook-5f1c2a9b",
	deployed: true,
	deployedAt: later,
	host: "notebook-5f1c2a9b.apps.example",
	pendingChanges: false,
	owner: "alice",
	members: [],
	createdAt: at,
	updatedAt: later,
};
const k8sDeployment: KubernetesObject = { apiVersion: "apps/v1", kind: "Deployment", metadata: { name: "notebook-5f1c2a9b", namespace: "shop" }, spec: { replicas: 1 } };
export const kubernetesObject = k8sDeployment;
export const manifestsView: T.ManifestsView = { manifests: [k8sDeployment as T.ManifestsView["manifests"][number]] };
export const deployView: T.DeployView = { ...manifestsView, id: ids.service, resourceName: service.resourceName, host: service.host, deployedAt: later };
export const undeployView: T.UndeployView = { id: ids.service, removed: [{ kind: "Deployment", name: service.resourceName }, { kind: "Service", name: service.resourceName }], kept: [{ kind: "PersistentVolumeClaim", name: `${service.resourceName}-data` }] };
export const validateView: T.ValidateView = { spec: { containers: [{ name: "web", image: "nginx:1.27", ports: [{ name: "http", port: 80, protocol: "TCP" }], volumeMounts: [] }], volumes: [] } };
export const specStatus: T.SpecStatus = { replicas: 1, currentReplicas: 1, pods: [{ phase: "Running", containers: [{ name: "web", ready: true, started: true }] }], volumes: [] };

export const inventoryView: T.InventoryView = { kind: "Namespace", name: "shop", uid: namespace.uid ?? undefined, provenance: "berth", entity: { kind: "Namespace", id: ids.namespace }, labels: { "app.kubernetes.io/managed-by": "berth" }, createdAt: at, phase: "Active" };
export const summaryView: T.SummaryView = { synced: true, counts: { namespaces: 3, deployments: 5, pods: 9 } };
export const inventoryPage: T.InventoryPage = { total: 1, offset: 0, limit: 100, items: [inventoryView] };
export const namespaceSummary: T.NamespaceSummary = { ...inventoryView, counts: { deployments: 1, pods: 2 } } as T.NamespaceSummary;

export const xosTree: T.XosTree = {
	trust_domain: { name: "shop", provenance: "berth", entity: { kind: "Namespace", id: ids.namespace }, phase: "Active", uid: namespace.uid ?? undefined, labels: { "app.kubernetes.io/managed-by": "berth" }, created_at: at },
	principals: [{ name: "default", provenance: "external", trust_domain: "shop", image_pull_secrets: [] }],
	slices: [{ name: "web", provenance: "berth", entity: { kind: "Deployment", id: ids.deployment }, trust_domain: "shop", controller_kind: "Deployment", controller_replica_count: 2, images: ["nginx:1.27"], ready: 2, current: 2 }],
	instances: [{ name: "web-7d9c8b6f5-x2k4p", provenance: "berth", slice: { controller_kind: "Deployment", name: "web" }, image: "nginx:1.27", images: ["nginx:1.27"], pod_ip: "10.0.0.12", node: "kwok-node-0", phase: "Running", ready: true }],
	config_maps: [{ name: "web-env", provenance: "berth", trust_domain: "shop", keys: ["LOG_LEVEL"] }],
	secrets: [{ name: "web-env-secret", provenance: "berth", trust_domain: "shop", keys: ["STRIPE_KEY"], type: "Opaque" }],
	service_ports: [{ service: "web-service", name: "http", provenance: "berth", protocol: "TCP", port: 80, target_port: 80, node_port: 30080 }],
};

export const applicationView: T.ApplicationView = { id: ids.application, "template-name": "jupyter-notebook", location: "https://a1b2c3d4.apps.example/", status: "running", namespace: "berth-apps", owner: "alice", lastActivityAt: later, cullAt: "2026-06-04T10:14:30.000Z", readyAt: later, createdAt: at, updatedAt: later };
export const templateView: T.TemplateView = { id: "665f1c2a9b1e4d0012a3b4d2", name: "jupyter-notebook", description: "Jupyter notebook server (JupyterLab) on port 8888", image: "quay.io/jupyter/base-notebook:python-3.11", public: true, ports: [{ name: "http", port: 8888, protocol: "TCP" }], resources: { limits: { cpu: 1000, memory: 1024 }, requests: { cpu: 100, memory: 256 } } };
export const launched: T.LaunchedApplication = { id: ids.application };
export const binderView: T.Application = { id: ids.application, "template-name": "jupyter-notebook", location: applicationView.location, status: "running" };
