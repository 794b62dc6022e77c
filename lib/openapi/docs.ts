/**
 * The API reference's words and examples for each REST operation, by action name: typed by
 * Responses (responses.ts), so an action named there without an entry here, or an example its
 * contract type does not allow, fails tsc. An action's own `summary` (in its service) wins over
 * the one here; the OpenAPI suite names every served operation that ends up without one.
 *
 * `request` is the example body of a POST, PUT or PATCH (path parameters left out); a body without
 * fields needs none.
 */
import * as ex from "./examples";
import type { Responses } from "./responses";

export interface OperationDoc<R> {
	summary?: string;
	/** An example 2xx answer. */
	response: R;
	/** An example request body. */
	request?: Record<string, unknown>;
}

export type OperationDocs = { [A in keyof Responses]: OperationDoc<Responses[A]> };

const { namespace: nsId, image: imageId } = ex.exampleIds;
const member = { member: "bob", role: "view" };
const transfer = { owner: "carol" };
const createDeployment = { name: "web", namespace: "shop", image: "nginx", replicas: 2, vHosts: ["www.shop.example"], env: [{ key: "LOG_LEVEL", value: "info" }] };
const jobRequest = { namespace: "shop", image: "busybox:1.36", command: ["sh", "-c", "echo migrating && sleep 2"], timeoutSeconds: 600 };
const spec = ex.service.deployment;

export const OPERATION_DOCS: OperationDocs = {
	"health.live": { summary: "Liveness: the process answers (never checks anything else)", response: ex.liveness },
	"health.ready": { summary: "Readiness of this node: services, database, transporter and apiserver (details for admins); 503 when not ready", response: ex.readiness },
	"health.serving": { summary: "Whether this node can serve requests (readiness without the apiserver); 503 when not", response: ex.serving },
	"health.metrics": { summary: "Whether this node leads, and its apiserver requests (`since` counts the writes after it)", response: ex.nodeMetrics },
	"api.openapi": { summary: "This OpenAPI 3.1 document (public)", response: ex.openApiDocument },

	"v1.keys.list": { summary: "Your API keys (admins: everyone's); never the keys themselves", response: [ex.key] },
	"v1.keys.get": { summary: "One API key's record", response: ex.key },
	"v1.keys.create": { summary: "Create an API key; the answer carries `key`, shown this once", response: ex.createdKey, request: { name: "ci", namespaces: ["shop"], expiresAt: "2026-09-01T00:00:00.000Z" } },
	"v1.keys.revoke": { summary: "Revoke an API key (at once, on every node)", response: { ...ex.key, revokedAt: "2026-06-05T08:00:00.000Z" } },

	"v1.audit.list": { response: [ex.auditRecord] },

	"v1.k8s.namespaces.list": { summary: "Namespaces you own or are a member of", response: [ex.namespace] },
	"v1.k8s.namespaces.get": { summary: "One namespace", response: ex.namespace },
	"v1.k8s.namespaces.create": { response: ex.namespace, request: { name: "shop", quota: { cpu: "4", memory: "8Gi", storage: "20Gi", pods: 20 } } },
	"v1.k8s.namespaces.update": { response: ex.namespace, request: { quota: { cpu: "8", memory: "16Gi" } } },
	"v1.k8s.namespaces.remove": { response: { ...ex.namespace, phase: "Terminating" } },
	"v1.k8s.namespaces.available": { response: ex.availability },
	"v1.k8s.namespaces.status": { response: ex.namespaceStatus },
	"v1.k8s.namespaces.resourcequota": { response: ex.resourceQuota },
	"v1.k8s.namespaces.clean": { response: ex.cleanReport },
	"v1.k8s.namespaces.addMember": { summary: "Add a member with a role (view, edit, admin; default edit)", response: ex.namespace, request: member },
	"v1.k8s.namespaces.removeMember": { summary: "Remove a member", response: { ...ex.namespace, members: [], memberRoles: [] } },
	"v1.k8s.namespaces.transfer": { summary: "Give the namespace to another owner (owner only)", response: { ...ex.namespace, owner: "carol" }, request: transfer },
	"v1.k8s.namespaces.grantDomain": { response: ex.namespace, request: { domain: "*.shop.example" } },
	"v1.k8s.namespaces.adopt": { response: { ...ex.namespace, adoptedAt: "2026-06-04T09:20:00.000Z" }, request: { name: "shop", owner: "alice", quota: { cpu: "4", memory: "8Gi" } } },
	"v1.k8s.namespaces.revokeDomain": { response: { ...ex.namespace, domains: [] } },

	"v1.k8s.images.list": { summary: "The image catalog (`launchable` narrows it to templates)", response: [ex.image] },
	"v1.k8s.images.get": { summary: "One catalog entry", response: ex.image },
	"v1.k8s.images.getImage": { response: ex.image },
	"v1.k8s.images.loadImages": { response: ex.loadReport },
	"v1.k8s.images.clean": { response: ex.removedCount },
	"v1.k8s.images.deploy": { response: ex.deployment, request: { namespace: "shop", name: "web", vHosts: ["www.shop.example"], replicas: 2 } },
	"v1.k8s.images.create": {
		summary: "Add an image: to the shared catalog (admins), or with `namespaceId` for one namespace's members only",
		response: ex.tenantImage,
		request: ex.createImageRequest,
	},
	"v1.k8s.images.update": { summary: "Change an image's fields (those named; a file entry stays as the API made it)", response: { ...ex.tenantImage, tag: "1.4.3", image: "registry.example/shop/api:1.4.3" }, request: { tag: "1.4.3", image: "registry.example/shop/api:1.4.3" } },
	"v1.k8s.images.remove": { summary: "Remove an image from the catalog (deployments of it keep running)", response: ex.tenantImage },
	"v1.k8s.images.build": { summary: "Build an image from a Git repository into a namespace's catalog (as POST /api/v1/k8s/builds)", response: ex.pendingBuild, request: { git: "https://git.example/shop/api.git", ref: "refs/tags/v1.4.2", name: "shop-api", tag: "1.4.2", namespace: "shop" } },
	"v1.k8s.builds.list": { summary: "Image builds in the namespaces you see (`namespace` narrows it)", response: [ex.build] },
	"v1.k8s.builds.get": { summary: "One build: its status, and once it succeeded its image, digest and catalog entry", response: ex.build },
	"v1.k8s.builds.create": { summary: "Build an image from Git with kaniko in the namespace; it joins the namespace's catalog with its digest", response: ex.pendingBuild, request: { git: "https://git.example/shop/api.git", ref: "refs/tags/v1.4.2", name: "shop-api", tag: "1.4.2", namespace: "shop" } },
	"v1.k8s.builds.logs": { summary: "The builder's output (text/plain): live while it runs, stored once it finished (`follow=true` streams it)", response: ex.buildLogs },

	"v1.k8s.volumes.list": { summary: "Volumes in your namespaces (`namespace` narrows)", response: [ex.volume] },
	"v1.k8s.volumes.get": { summary: "One volume", response: ex.volume },
	"v1.k8s.volumes.create": { response: ex.volume, request: { namespace: "shop", name: "uploads", mountPath: "/data", size: "1Gi" } },
	"v1.k8s.volumes.remove": { response: ex.volume },
	"v1.k8s.volumes.addMember": { summary: "Add a member to the volume", response: { ...ex.volume, members: ["bob"] }, request: member },
	"v1.k8s.volumes.removeMember": { summary: "Remove a member from the volume", response: ex.volume },
	"v1.k8s.volumes.transfer": { summary: "Give the volume to another owner", response: { ...ex.volume, owner: "carol" }, request: transfer },

	"v1.k8s.configmaps.list": { summary: "ConfigMaps in your namespaces (`namespace` narrows)", response: [ex.configMap] },
	"v1.k8s.configmaps.get": { summary: "One ConfigMap with its data", response: ex.configMap },
	"v1.k8s.configmaps.create": { response: ex.configMap, request: { namespace: "shop", name: "site-config", data: ex.configMap.data } },
	"v1.k8s.configmaps.update": { response: ex.configMap, request: { data: ex.configMap.data } },
	"v1.k8s.configmaps.remove": { response: ex.configMap },
	"v1.k8s.configmaps.addMember": { summary: "Add a member to the ConfigMap", response: { ...ex.configMap, members: ["bob"] }, request: member },
	"v1.k8s.configmaps.removeMember": { summary: "Remove a member from the ConfigMap", response: ex.configMap },
	"v1.k8s.configmaps.transfer": { summary: "Give the ConfigMap to another owner", response: { ...ex.configMap, owner: "carol" }, request: transfer },

	"v1.k8s.secrets.list": { summary: "Secrets in your namespaces: key names only, never a value", response: [ex.secret] },
	"v1.k8s.secrets.get": { summary: "One Secret: key names only, never a value", response: ex.secret },
	"v1.k8s.secrets.create": { response: ex.secret, request: { namespace: "shop", name: "api-tokens", data: { STRIPE_KEY: "sk_test_4eC39HqLyjWDarjtT1zdp7dc" } } },
	"v1.k8s.secrets.update": { response: ex.secret, request: { data: { STRIPE_KEY: "sk_test_51HqLyjWDarjtT1zdp7dc4eC3" } } },
	"v1.k8s.secrets.remove": { response: ex.secret },
	"v1.k8s.secrets.addMember": { summary: "Add a member to the Secret", response: { ...ex.secret, members: ["bob"] }, request: member },
	"v1.k8s.secrets.removeMember": { summary: "Remove a member from the Secret", response: ex.secret },
	"v1.k8s.secrets.transfer": { summary: "Give the Secret to another owner", response: { ...ex.secret, owner: "carol" }, request: transfer },

	"v1.k8s.deployments.list": { summary: "Deployments in your namespaces (`namespace` narrows; `limit`/`offset` page, total in X-Total-Count)", response: [ex.deployment] },
	"v1.k8s.deployments.get": { summary: "One deployment", response: ex.deployment },
	"v1.k8s.deployments.create": { summary: "Deploy a catalog image into one of your namespaces; answers once the objects are applied", response: ex.deployment, request: createDeployment },
	"v1.k8s.deployments.createDeployment": { summary: "The seed's name for create", response: ex.deployment, request: createDeployment },
	"v1.k8s.deployments.update": { summary: "Change a deployment (PATCH and PUT alike: fields left out stay); a new revision", response: ex.deployment, request: { replicas: 3, vHosts: ["www.shop.example", "shop.example"] } },
	"v1.k8s.deployments.remove": { summary: "Delete a deployment and the objects Berth made for it", response: ex.deployment },
	"v1.k8s.deployments.generate": { summary: "The Kubernetes objects a create would apply, without storing or applying anything", response: ex.generateView, request: createDeployment },
	"v1.k8s.deployments.manifests": { summary: "The Kubernetes objects Berth applies for this deployment", response: ex.generateView },
	"v1.k8s.deployments.apply": { summary: "Apply the deployment's objects again now", response: ex.applyView },
	"v1.k8s.deployments.status": { summary: "Rollout status from the cluster", response: ex.statusView },
	"v1.k8s.deployments.state": { summary: "Rollout status and pods in one answer", response: ex.stateView },
	"v1.k8s.deployments.pods": { summary: "The deployment's pods", response: [ex.podState] },
	"v1.k8s.deployments.logs": { summary: "The pods' logs (`follow=true`: text/plain, as they are written)", response: [ex.podLogs] },
	"v1.k8s.deployments.events": { summary: "Kubernetes events about the deployment and its pods", response: [ex.eventView] },
	"v1.k8s.deployments.scale": { summary: "Set the number of replicas", response: { ...ex.deployment, replicas: 3 }, request: { replicas: 3 } },
	"v1.k8s.deployments.restart": { summary: "Restart the pods (a rolling restart)", response: { ...ex.deployment, restartedAt: "2026-06-05T08:00:00.000Z" } },
	"v1.k8s.deployments.top": { summary: "CPU (millicores) and memory (bytes) per pod, from the metrics API", response: ex.topView },
	"v1.k8s.deployments.addMember": { summary: "Add a member to the deployment", response: { ...ex.deployment, members: ["bob"] }, request: member },
	"v1.k8s.deployments.removeMember": { summary: "Remove a member from the deployment", response: ex.deployment },
	"v1.k8s.deployments.transfer": { summary: "Give the deployment to another owner", response: { ...ex.deployment, owner: "carol" }, request: transfer },
	"v1.k8s.revisions.list": { summary: "The deployment's revisions, newest first", response: [ex.revision] },
	"v1.k8s.revisions.rollback": { summary: "Re-apply an earlier revision (spec and env) as a new revision", response: { ...ex.revision, revision: 4, cause: "rolledBack", rollbackOf: 2 }, request: { revision: 2 } },

	"v1.k8s.envs.list": { summary: "Environment variables (`namespace`, `deployment` narrow); secret values masked", response: [ex.env] },
	"v1.k8s.envs.get": { summary: "One environment variable", response: ex.env },
	"v1.k8s.envs.create": { summary: "Set a variable for a deployment (`type: secret` encrypts it at rest)", response: ex.env, request: { namespace: "shop", deployment: "web", key: "LOG_LEVEL", value: "info" } },
	"v1.k8s.envs.update": { summary: "Change a variable's value or type", response: { ...ex.env, value: "debug" }, request: { value: "debug" } },
	"v1.k8s.envs.remove": { summary: "Remove a variable", response: ex.env },
	"v1.k8s.envs.clean": { summary: "Remove the variables of a namespace or deployment", response: ex.removedCount, request: { namespace: "shop", deployment: "web" } },
	"v1.k8s.envs.resolveENV": { summary: "A variable by namespace, deployment and key", response: ex.env },
	"v1.k8s.envs.pack": { summary: "A deployment's variables as one key → value map (secret values masked)", response: ex.packedEnv },
	"v1.k8s.envs.patchConfigMap": { summary: "Write the deployment's variables into its ConfigMap and Secret", response: ex.patchResult, request: { namespace: "shop", deployment: "web" } },
	"v1.k8s.envs.rePatchConfigMap": { summary: "Rewrite the deployment's ConfigMap and Secret from its variables", response: ex.patchResult, request: { namespace: "shop", deployment: "web" } },
	"v1.k8s.envs.createEnv": { summary: "Create the variables an image declares for a deployment", response: [ex.env], request: { namespace: "shop", deployment: "web", image: imageId } },

	"v1.k8s.jobs.list": { summary: "Jobs in your namespaces", response: [ex.job] },
	"v1.k8s.jobs.get": { summary: "One job", response: ex.job },
	"v1.k8s.jobs.create": { summary: "Run a command once as a Kubernetes Job", response: { ...ex.job, phase: "Pending", status: {} }, request: jobRequest },
	"v1.k8s.jobs.remove": { summary: "Delete a job and its pods", response: ex.job },
	"v1.k8s.jobs.status": { summary: "The job's phase and counts", response: ex.jobStatusView },
	"v1.k8s.jobs.logs": { summary: "The job's output (text/plain): live while it runs, stored once it finished", response: ex.jobLogs },
	"v1.k8s.jobs.compatCreate": { summary: "The orchestrate seed's job create (`cmd`)", response: ex.compatObject, request: { cmd: "echo hello" } },
	"v1.k8s.jobs.compatList": { summary: "The orchestrate seed's job list", response: [ex.compatJobListItem] },
	"v1.k8s.jobs.compatGet": { summary: "The orchestrate seed's job, as Kubernetes holds it", response: ex.compatObject },
	"v1.k8s.jobs.compatStatus": { summary: "The orchestrate seed's job status", response: ex.compatJobStatus },
	"v1.k8s.jobs.compatLogs": { summary: "The orchestrate seed's job output (text/plain)", response: ex.jobLogs },

	"v1.k8s.cronjobs.list": { summary: "Scheduled jobs in your namespaces", response: [ex.cronJob] },
	"v1.k8s.cronjobs.get": { summary: "One scheduled job", response: ex.cronJob },
	"v1.k8s.cronjobs.create": { summary: "Run a command on a cron schedule", response: ex.cronJob, request: { ...jobRequest, schedule: "0 3 * * *", timeZone: "Europe/Berlin", concurrencyPolicy: "Forbid" } },
	"v1.k8s.cronjobs.remove": { summary: "Delete a scheduled job and its runs", response: ex.cronJob },
	"v1.k8s.cronjobs.suspend": { summary: "Stop scheduling runs", response: { ...ex.cronJob, suspend: true } },
	"v1.k8s.cronjobs.resume": { summary: "Schedule runs again", response: ex.cronJob },
	"v1.k8s.cronjobs.trigger": { summary: "Start a run now", response: { ...ex.cronRun, trigger: "manual", phase: "Pending", status: {} } },
	"v1.k8s.cronjobs.runs": { summary: "The runs, newest first", response: [ex.cronRun] },
	"v1.k8s.cronjobs.runLogs": { summary: "A run's output (text/plain)", response: ex.jobLogs },

	"v1.k8s.services.list": { summary: "Service specs (KITeGG YAML) in your namespaces", response: [ex.service] },
	"v1.k8s.services.get": { summary: "One service spec", response: ex.service },
	"v1.k8s.services.create": { summary: "Store a service spec (YAML in `deployment`)", response: { ...ex.service, deployed: false, deployedAt: null, host: null }, request: { name: "notebook", namespace: "shop", deployment: spec, exposed_service: "web", exposed_port: 80 } },
	"v1.k8s.services.update": { summary: "Change a service spec (deploy to apply it)", response: { ...ex.service, pendingChanges: true }, request: { deployment: spec } },
	"v1.k8s.services.remove": { summary: "Delete the objects (the claims too unless keepVolumes), then the spec", response: ex.undeployView },
	"v1.k8s.services.validate": { summary: "Parse and check a spec without storing it", response: ex.validateView, request: { deployment: spec } },
	"v1.k8s.services.manifests": { summary: "The Kubernetes objects a deploy applies", response: ex.manifestsView },
	"v1.k8s.services.deploy": { summary: "Apply the spec's objects", response: ex.deployView },
	"v1.k8s.services.status": { summary: "Replicas, pods and volumes of the deployed spec", response: ex.specStatus },
	"v1.k8s.services.undeploy": { summary: "Delete the spec's objects, keep the spec", response: ex.undeployView, request: { keepVolumes: true } },
	"v1.k8s.services.compatDeploy": { summary: "The KITeGG seed's deploy: store (when a spec is sent) and apply", response: ex.kubernetesObject, request: { namespace: "shop", name: "notebook", deployment: spec } },
	"v1.k8s.services.compatStatus": { summary: "The KITeGG seed's status", response: ex.specStatus },
	"v1.k8s.services.compatDelete": { summary: "The KITeGG seed's delete", response: ex.undeployView },

	"v1.k8s.inventory.summary": { response: ex.summaryView },
	"v1.k8s.inventory.list": { response: ex.inventoryPage },
	"v1.k8s.inventory.get": { response: ex.inventoryView },
	"v1.k8s.inventory.getNamespace": { response: ex.namespaceSummary },
	"v1.k8s.inventory.tree": { summary: "One namespace as XOS models it: TrustDomain, Principals, Slices, Instances, ConfigMaps, Secrets (key names only), ServicePorts", response: ex.xosTree },
	"v1.k8s.inventory.adopt": {
		response: { namespace: nsId, name: "legacy-web", confirmed: false, image: { id: imageId, name: "nginx" }, spec: { name: "legacy-web", namespace: nsId, image: imageId, replicas: 1 }, diff: [], objects: [{ kind: "Deployment", name: "legacy-web", exists: true }], notes: [] },
		request: { namespace: "shop", name: "legacy-web", image: "nginx" },
	},

	"v1.k8s.applications.list": { summary: "Your ephemeral applications (`template`, `status` narrow)", response: [ex.applicationView] },
	"v1.k8s.applications.status": { summary: "One ephemeral application", response: ex.applicationView },
	"v1.k8s.applications.launch": { summary: "Launch an ephemeral application from a template", response: { ...ex.applicationView, status: "deploying", location: null }, request: { template: "jupyter-notebook" } },
	"v1.k8s.applications.delete": { summary: "End an ephemeral application and delete what it runs", response: { ...ex.applicationView, status: "deleted", reason: "requested" } },
	"v1.k8s.applications.keepalive": { summary: "Push back the application's idle cull", response: ex.applicationView },
	"v1.k8s.applications.templates": { summary: "Launchable templates (public ones without a key)", response: [ex.templateView] },
	"v1.k8s.applications.template": { summary: "One launchable template", response: ex.templateView },
	"v1.k8s.applications.binderDeploy": { summary: "binder-protocol's launch: template and idle limit in the body", response: ex.launched, request: { "template-name": "jupyter-notebook", "cull-timeout": 3600 } },
	"v1.k8s.applications.binderLaunch": { summary: "The binder seed's launch of a template", response: ex.launched },
	"v1.k8s.applications.binderList": { summary: "The binder seed's instances of a template", response: [ex.binderView] },
	"v1.k8s.applications.binderStatus": { summary: "The binder seed's instance: status and location", response: ex.binderView },
	"v1.k8s.applications.binderKeepalive": { summary: "The binder seed's keepalive", response: ex.binderView },
};
