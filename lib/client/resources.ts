/**
 * The typed client's API, one group per service: each a factory over the client's transport, so
 * `client.deployments.create` lands here. Waits and lookups by name use the group's own reads.
 */
import { BerthApiError } from "./errors";
import { buildRequest, OPERATIONS } from "./routes";
import { parseEventStream, type ServerSentEvent } from "./sse";
import type { Transport } from "./transport";
import type * as T from "./types";
import { applicationVerdict, jobVerdict, poll, rolloutVerdict, sleep, type WaitOptions } from "./wait";

export function healthApi(t: Transport) {
	return {
		live: () => t.call<{ status: string }>("health.live"),
		ready: () => t.call<T.Readiness>("health.ready"),
		/** Whether this node can serve requests (readiness without the apiserver); 503 (thrown) when not. */
		serving: () => t.call<{ status: string; failing: string[] }>("health.serving"),
		/** Whether the node that answers leads, and its apiserver requests; `since` (wall-clock ms) counts the writes after it. */
		metrics: (since?: number) => t.call<T.NodeMetrics>("health.metrics", since === undefined ? {} : { since }),
	};
}

export function keysApi(t: Transport) {
	return {
		list: () => t.call<T.KeyEntity[]>("keys.list"),
		get: (id: string) => t.call<T.KeyEntity>("keys.get", { id }),
		/** The answer carries `key`, shown this once. */
		create: (params: T.CreateKeyParams) => t.call<T.CreatedKey>("keys.create", params),
		revoke: (id: string) => t.call<T.KeyEntity>("keys.revoke", { id }),
	};
}

export function auditApi(t: Transport) {
	return {
		/** Mutating calls, newest first: all for a platform admin, else those of namespaces you own or administer. */
		list: (query: T.ListAuditQuery = {}) => t.call<T.AuditRecord[]>("audit.list", query),
	};
}

export function namespacesApi(t: Transport) {
	const api = {
		list: () => t.call<T.NamespaceEntity[]>("namespaces.list"),
		get: (id: string) => t.call<T.NamespaceEntity>("namespaces.get", { id }),
		create: (params: T.CreateNamespaceParams) => t.call<T.NamespaceEntity>("namespaces.create", params),
		update: (id: string, body: T.UpdateNamespaceBody) => t.call<T.NamespaceEntity>("namespaces.update", { ...body, id }),
		remove: (id: string) => t.call<T.NamespaceEntity>("namespaces.remove", { id }),
		available: (name: string) => t.call<T.Availability>("namespaces.available", { name }),
		status: (id: string) => t.call<T.NamespaceStatus>("namespaces.status", { id }),
		resourceQuota: (id: string) => t.call<T.ResourceQuotaReport>("namespaces.resourcequota", { id }),
		clean: () => t.call<T.CleanReport>("namespaces.clean"),
		addMember: (id: string, member: string, role?: T.MemberRole) => t.call<T.NamespaceEntity>("namespaces.addMember", role ? { id, member, role } : { id, member }),
		removeMember: (id: string, member: string) => t.call<T.NamespaceEntity>("namespaces.removeMember", { id, member }),
		transfer: (id: string, owner: string) => t.call<T.NamespaceEntity>("namespaces.transfer", { id, owner }),
		/** Admins: the namespace may serve `domain` (`shop.example`, `*.shop.example`) and the hosts under it. */
		grantDomain: (id: string, domain: string) => t.call<T.NamespaceEntity>("namespaces.grantDomain", { id, domain }),
		revokeDomain: (id: string, domain: string) => t.call<T.NamespaceEntity>("namespaces.revokeDomain", { id, domain }),
		/** Admins: a namespace Berth did not make becomes a Berth namespace owned by `owner`. */
		adopt: (params: T.AdoptNamespaceParams) => t.call<T.NamespaceEntity>("namespaces.adopt", params),
		/**
		 * Live status of the namespace's apps (Server-Sent Events): `snapshot` ({namespace, phase, counts,
		 * apps}) first, then `status` per changed app and `removed` ({id}) per app gone; until `signal` aborts.
		 */
		watch: (id: string, opts: { signal?: AbortSignal } = {}): AsyncGenerator<ServerSentEvent<T.NamespaceStatusView | T.AppHealth | { id: string }>> =>
			parseEventStream(t.stream("GET", `/api/v1/k8s/namespaces/${encodeURIComponent(id)}/stream`, { signal: opts.signal })) as AsyncGenerator<ServerSentEvent<T.NamespaceStatusView | T.AppHealth | { id: string }>>,
		/** A namespace of yours by id or name (listing them; the API reads namespaces by id). */
		find: async (ref: string): Promise<T.NamespaceEntity> => {
			const match = (await api.list()).find(ns => ns.id === ref || ns.name === ref);
			if (!match) throw new BerthApiError(404, "NOT_FOUND", `Namespace "${ref}" not found`);
			return match;
		},
	};
	return api;
}

export function imagesApi(t: Transport) {
	return {
		/** Builds an image from Git into a namespace's catalog (the same as `builds.create`). */
		build: (params: T.CreateBuildParams) => t.call<T.BuildEntity>("images.build", params),
		list: (query: T.ListImagesQuery = {}) => t.call<T.ImageEntity[]>("images.list", query),
		get: (id: string) => t.call<T.ImageEntity>("images.get", { id }),
		/** By catalog name or image reference (`nginx`, `nginx:1.27`). */
		getByName: (name: string) => t.call<T.ImageEntity>("images.getByName", { name }),
		create: (body: T.CreateImageBody) => t.call<T.ImageEntity>("images.create", body),
		update: (id: string, body: T.UpdateImageBody) => t.call<T.ImageEntity>("images.update", { ...body, id }),
		replace: (id: string, body: T.UpdateImageBody) => t.call<T.ImageEntity>("images.replace", { ...body, id }),
		remove: (id: string) => t.call<T.ImageEntity>("images.remove", { id }),
		load: () => t.call<T.LoadReport>("images.load"),
		clean: () => t.call<{ removed: number }>("images.clean"),
		deploy: (id: string, body: T.DeployImageBody = {}) => t.call<T.DeploymentEntity>("images.deploy", { ...body, id }),
	};
}

export function volumesApi(t: Transport) {
	return {
		list: (query: T.ListVolumesQuery = {}) => t.call<T.VolumeEntity[]>("volumes.list", query),
		get: (id: string) => t.call<T.VolumeEntity>("volumes.get", { id }),
		create: (params: T.CreateVolumeParams) => t.call<T.VolumeEntity>("volumes.create", params),
		remove: (id: string) => t.call<T.VolumeEntity>("volumes.remove", { id }),
		addMember: (id: string, member: string) => t.call<T.VolumeEntity>("volumes.addMember", { id, member }),
		removeMember: (id: string, member: string) => t.call<T.VolumeEntity>("volumes.removeMember", { id, member }),
		transfer: (id: string, owner: string) => t.call<T.VolumeEntity>("volumes.transfer", { id, owner }),
	};
}

/** v1.k8s.configmaps and v1.k8s.secrets: one shape, a Secret's views carrying key names only. */
function dataObjectsApi<E>(t: Transport, group: "configmaps" | "secrets") {
	return {
		list: (query: T.ListDataObjectsQuery = {}) => t.call<E[]>(`${group}.list`, query),
		get: (id: string) => t.call<E>(`${group}.get`, { id }),
		create: (params: T.CreateDataObjectParams) => t.call<E>(`${group}.create`, params),
		/** Replaces every key (PATCH and PUT alike). */
		update: (id: string, data: Record<string, string>) => t.call<E>(`${group}.update`, { id, data }),
		replace: (id: string, data: Record<string, string>) => t.call<E>(`${group}.replace`, { id, data }),
		remove: (id: string) => t.call<E>(`${group}.remove`, { id }),
		addMember: (id: string, member: string) => t.call<E>(`${group}.addMember`, { id, member }),
		removeMember: (id: string, member: string) => t.call<E>(`${group}.removeMember`, { id, member }),
		transfer: (id: string, owner: string) => t.call<E>(`${group}.transfer`, { id, owner }),
	};
}

export const configMapsApi = (t: Transport) => dataObjectsApi<T.ConfigMapEntity>(t, "configmaps");
export const secretsApi = (t: Transport) => dataObjectsApi<T.SecretEntity>(t, "secrets");

export function deploymentsApi(t: Transport) {
	const api = {
		list: (query: T.ListDeploymentsQuery = {}) => t.call<T.DeploymentEntity[]>("deployments.list", query),
		get: (id: string) => t.call<T.DeploymentEntity>("deployments.get", { id }),
		/** Answers once the objects are applied; `waitForRollout` waits for the pods. */
		create: (params: T.CreateDeploymentParams) => t.call<T.DeploymentEntity>("deployments.create", params),
		/** The seed's name for create (v1.k8s.deployments.createDeployment). */
		createDeployment: (params: T.CreateDeploymentParams) => t.call<T.DeploymentEntity>("deployments.createDeployment", params),
		update: (id: string, body: T.UpdateDeploymentBody) => t.call<T.DeploymentEntity>("deployments.update", { ...body, id }),
		replace: (id: string, body: T.UpdateDeploymentBody) => t.call<T.DeploymentEntity>("deployments.replace", { ...body, id }),
		remove: (id: string) => t.call<T.DeploymentEntity>("deployments.remove", { id }),
		generate: (params: T.CreateDeploymentParams) => t.call<T.GenerateView>("deployments.generate", params),
		manifests: (id: string) => t.call<T.GenerateView>("deployments.manifests", { id }),
		apply: (id: string) => t.call<T.ApplyView>("deployments.apply", { id }),
		status: (id: string) => t.call<T.StatusView>("deployments.status", { id }),
		state: (id: string) => t.call<T.StateView>("deployments.state", { id }),
		pods: (id: string) => t.call<T.PodState[]>("deployments.pods", { id }),
		logs: (id: string, query: T.DeploymentLogsQuery = {}) => t.call<T.PodLogs[]>("deployments.logs", { ...query, id }),
		/** The pods' logs as they are written, until they end, `maxSeconds` pass or `signal` aborts. */
		followLogs: (id: string, query: T.DeploymentLogsQuery = {}, opts: { signal?: AbortSignal } = {}): AsyncGenerator<string> => {
			const req = buildRequest(OPERATIONS["deployments.logs"], { ...query, id, follow: true });
			return t.stream(req.method, req.path, { query: req.query, signal: opts.signal });
		},
		events: (id: string) => t.call<T.EventView[]>("deployments.events", { id }),
		scale: (id: string, replicas: number) => t.call<T.DeploymentEntity>("deployments.scale", { id, replicas }),
		restart: (id: string) => t.call<T.DeploymentEntity>("deployments.restart", { id }),
		top: (id: string) => t.call<T.TopView>("deployments.top", { id }),
		/** The deployment's revisions, newest first. */
		revisions: (id: string) => t.call<T.RevisionView[]>("deployments.revisions", { id }),
		/** Re-applies revision `revision` (spec and env set) through an update's checks, as a new revision. */
		rollback: (id: string, revision: number) => t.call<T.RevisionView>("deployments.rollback", { id, revision }),
		addMember: (id: string, member: string) => t.call<T.DeploymentEntity>("deployments.addMember", { id, member }),
		removeMember: (id: string, member: string) => t.call<T.DeploymentEntity>("deployments.removeMember", { id, member }),
		transfer: (id: string, owner: string) => t.call<T.DeploymentEntity>("deployments.transfer", { id, owner }),
		/**
		 * Live health of the deployment (Server-Sent Events): `status` with its AppHealth now and on every
		 * change, `removed` when nothing of it is left; until then or until `signal` aborts.
		 */
		watch: (id: string, opts: { signal?: AbortSignal } = {}): AsyncGenerator<ServerSentEvent<T.AppHealth>> =>
			parseEventStream(t.stream("GET", `/api/v1/k8s/deployments/${encodeURIComponent(id)}/stream`, { signal: opts.signal })) as AsyncGenerator<ServerSentEvent<T.AppHealth>>,
		/** Polls the status until every wanted replica is updated and ready; rejects when the rollout fails or time runs out. */
		waitForRollout: (id: string, opts: WaitOptions<T.StatusView> & { expectReplicas?: number } = {}) =>
			poll(() => api.status(id), s => rolloutVerdict(s, opts.expectReplicas), `Rollout of deployment ${id}`, opts),
		/** A deployment of yours by id, or by name (in `namespace`, a namespace id or name, when given). */
		find: async (ref: string, namespace?: string): Promise<T.DeploymentEntity> => {
			const all = await api.list(namespace ? { namespace } : {});
			const byId = all.find(d => d.id === ref);
			if (byId) return byId;
			const named = all.filter(d => d.name === ref);
			if (named.length === 1) return named[0];
			if (named.length > 1) throw new BerthApiError(409, "AMBIGUOUS", `${named.length} deployments are named "${ref}" (in ${named.map(d => d.namespaceName).join(", ")}); name the namespace`);
			throw new BerthApiError(404, "NOT_FOUND", `Deployment "${ref}" not found${namespace ? ` in namespace ${namespace}` : ""}`);
		},
	};
	return api;
}

export function envsApi(t: Transport) {
	const api = {
		list: (query: T.ListEnvParams = {}) => t.call<T.EnvEntity[]>("envs.list", query),
		get: (id: string) => t.call<T.EnvEntity>("envs.get", { id }),
		create: (params: T.CreateEnvParams) => t.call<T.EnvEntity>("envs.create", params),
		update: (id: string, body: T.UpdateEnvBody) => t.call<T.EnvEntity>("envs.update", { ...body, id }),
		replace: (id: string, body: T.UpdateEnvBody) => t.call<T.EnvEntity>("envs.replace", { ...body, id }),
		remove: (id: string) => t.call<T.EnvEntity>("envs.remove", { id }),
		clean: (params: Partial<T.TargetParams>) => t.call<{ removed: number }>("envs.clean", params),
		resolve: (params: T.ResolveEnvParams) => t.call<T.EnvEntity>("envs.resolve", params),
		pack: (params: T.PackParams) => t.call<Record<string, string>>("envs.pack", params),
		patch: (params: T.TargetParams) => t.call<T.PatchResult>("envs.patch", params),
		repatch: (params: T.TargetParams) => t.call<T.PatchResult>("envs.repatch", params),
		fromImage: (params: T.CreateFromImageParams) => t.call<T.EnvEntity[]>("envs.fromImage", params),
		/** Sets a variable: updates it when the key exists, creates it otherwise. */
		set: async (params: T.CreateEnvParams): Promise<T.EnvEntity> => {
			try {
				return await api.create(params);
			} catch (err) {
				if (!(err instanceof BerthApiError) || err.status !== 409) throw err;
				const current = await api.resolve({ namespace: params.namespace, deployment: params.deployment, key: params.key });
				return api.update(current.id, { value: params.value, ...(params.type ? { type: params.type } : {}) });
			}
		},
		/** Removes a variable by key. */
		unset: async (params: T.ResolveEnvParams): Promise<T.EnvEntity> => api.remove((await api.resolve(params)).id),
	};
	return api;
}

export function jobsApi(t: Transport) {
	const api = {
		list: (query: T.ListJobsParams = {}) => t.call<T.JobEntity[]>("jobs.list", query),
		get: (id: string) => t.call<T.JobEntity>("jobs.get", { id }),
		create: (params: T.CreateJobParams) => t.call<T.JobEntity>("jobs.create", params),
		remove: (id: string) => t.call<T.JobEntity>("jobs.remove", { id }),
		status: (id: string) => t.call<T.JobStatusView>("jobs.status", { id }),
		/** The output: live while the job runs, stored once it finished. */
		logs: async (id: string) => (await t.call<string | undefined>("jobs.logs", { id })) ?? "",
		/** Polls until the job is Complete (resolves) or Failed or Deleted (rejects with BerthWaitError). */
		wait: (id: string, opts: WaitOptions<T.JobStatusView> = {}) => poll(() => api.status(id), jobVerdict, `Job ${id}`, opts),
		/**
		 * The output as it grows, polled (the route answers the whole output so far): each new part once,
		 * until the job is over (its last output included) or `signal` aborts.
		 */
		followLogs: async function* (id: string, opts: { intervalMs?: number; signal?: AbortSignal } = {}): AsyncGenerator<string> {
			let shown = "";
			for (;;) {
				// The status before the output: once it says the job is over, the output read after it is the whole.
				const status = await api.status(id);
				const text = await api.logs(id);
				// A new pod (a retry) starts its output over: then all of it is new.
				const more = text.startsWith(shown) ? text.slice(shown.length) : text;
				if (more) yield more;
				shown = text;
				if (jobVerdict(status)) return;
				try {
					await sleep(opts.intervalMs ?? 1000, opts.signal);
				} catch {
					return;
				}
			}
		},
	};
	return api;
}

/** Scheduled jobs (v1.k8s.cronjobs): a job's command on a cron schedule; each run's status and output kept. */
/** Image builds from Git (v1.k8s.builds): status, image and digest, and the builder's output. */
export function buildsApi(t: Transport) {
	return {
		list: (query: T.ListBuildsParams = {}) => t.call<T.BuildEntity[]>("builds.list", query),
		get: (id: string) => t.call<T.BuildEntity>("builds.get", { id }),
		create: (params: T.CreateBuildParams) => t.call<T.BuildEntity>("builds.create", params),
		/** The output: live while the build runs, stored once it finished. */
		logs: async (id: string) => (await t.call<string | undefined>("builds.logs", { id })) ?? "",
		/** The output as it is written, until the build ends or `signal` aborts. */
		followLogs: (id: string, opts: { maxSeconds?: number; signal?: AbortSignal } = {}): AsyncGenerator<string> => {
			const req = buildRequest(OPERATIONS["builds.logs"], { id, follow: true, ...(opts.maxSeconds ? { maxSeconds: opts.maxSeconds } : {}) });
			return t.stream(req.method, req.path, { query: req.query, signal: opts.signal });
		},
	};
}

export function cronJobsApi(t: Transport) {
	return {
		list: (query: T.ListJobsParams = {}) => t.call<T.CronJobEntity[]>("cronjobs.list", query),
		get: (id: string) => t.call<T.CronJobEntity>("cronjobs.get", { id }),
		create: (params: T.CreateCronJobParams) => t.call<T.CronJobEntity>("cronjobs.create", params),
		remove: (id: string) => t.call<T.CronJobEntity>("cronjobs.remove", { id }),
		suspend: (id: string) => t.call<T.CronJobEntity>("cronjobs.suspend", { id }),
		resume: (id: string) => t.call<T.CronJobEntity>("cronjobs.resume", { id }),
		/** A run now, from the CronJob's jobTemplate. */
		trigger: (id: string) => t.call<T.CronRunEntity>("cronjobs.trigger", { id }),
		/** The runs, newest first. */
		runs: (id: string) => t.call<T.CronRunEntity[]>("cronjobs.runs", { id }),
		/** A run's output: live while it runs, stored once it finished. */
		runLogs: async (id: string, run: string) => (await t.call<string | undefined>("cronjobs.runLogs", { id, run })) ?? "",
	};
}

/** The orchestrate seed's `/jobs` routes, shapes unchanged (snake_case). */
export function orchestrateApi(t: Transport) {
	return {
		create: (cmd: string) => t.call<T.CompatObject>("orchestrate.create", { cmd }),
		list: () => t.call<T.CompatJobListItem[]>("orchestrate.list"),
		get: (job: string) => t.call<T.CompatObject>("orchestrate.get", { job }),
		status: (job: string) => t.call<T.CompatJobStatus>("orchestrate.status", { job }),
		logs: async (job: string) => (await t.call<string | undefined>("orchestrate.logs", { job })) ?? "",
	};
}

/** KITeGG service specs: a multi-container service from YAML (v1.k8s.services). */
export function servicesApi(t: Transport) {
	return {
		list: (query: { namespace?: string } = {}) => t.call<T.ServiceEntity[]>("services.list", query),
		get: (id: string) => t.call<T.ServiceEntity>("services.get", { id }),
		create: (params: T.CreateServiceParams) => t.call<T.ServiceEntity>("services.create", params),
		update: (id: string, body: T.UpdateServiceBody) => t.call<T.ServiceEntity>("services.update", { ...body, id }),
		replace: (id: string, body: T.UpdateServiceBody) => t.call<T.ServiceEntity>("services.replace", { ...body, id }),
		/** Deletes the objects (the claims too unless keepVolumes), then the entity. */
		remove: (id: string, opts: { keepVolumes?: boolean } = {}) => t.call<T.UndeployView>("services.remove", { ...opts, id }),
		validate: (params: T.ValidateParams) => t.call<T.ValidateView>("services.validate", params),
		manifests: (id: string) => t.call<T.ManifestsView>("services.manifests", { id }),
		deploy: (id: string) => t.call<T.DeployView>("services.deploy", { id }),
		status: (id: string) => t.call<T.SpecStatus>("services.status", { id }),
		undeploy: (id: string, opts: { keepVolumes?: boolean } = {}) => t.call<T.UndeployView>("services.undeploy", { ...opts, id }),
	};
}

/** The KITeGG seed's `/kubernetes/services` routes, shapes unchanged. */
export function kiteggApi(t: Transport) {
	return {
		deploy: (id: string) => t.call<Record<string, unknown>>("kitegg.deploy", { id }),
		status: (id: string) => t.call<T.SpecStatus>("kitegg.status", { id }),
		remove: (id: string, opts: { keepVolumes?: boolean } = {}) => t.call<T.UndeployView>("kitegg.remove", { ...opts, id }),
	};
}

/** What runs in the namespaces your key may see, managed by Berth or not (v1.k8s.inventory). */
export function inventoryApi(t: Transport) {
	return {
		summary: () => t.call<T.SummaryView>("inventory.summary"),
		list: (params: T.InventoryListParams) => t.call<T.InventoryPage>("inventory.list", params),
		get: (params: T.InventoryGetParams) => t.call<T.InventoryView>("inventory.get", params),
		namespace: (name: string) => t.call<T.NamespaceSummary>("inventory.namespace", { name }),
		/** The namespace as XOS models it: TrustDomain, Principals, Slices, Instances, ConfigMaps, Secrets (key names), ServicePorts. */
		tree: (namespace: string) => t.call<T.XosTree>("inventory.tree", { namespace }),
		/** Without `confirm` it only shows what adoption would do. */
		adopt: (params: T.AdoptParams) => t.call<T.AdoptionPlan>("inventory.adopt", params),
	};
}

/** Ephemeral applications through Berth's own routes (the binder routes are `apps`). */
export function applicationsApi(t: Transport) {
	return {
		list: (query: { template?: string; status?: T.ApplicationStatus } = {}) => t.call<T.ApplicationView[]>("applications.list", query),
		get: (id: string) => t.call<T.ApplicationView>("applications.get", { id }),
		create: (params: T.LaunchParams) => t.call<T.ApplicationView>("applications.create", params),
		/** Ends the instance and deletes what it runs (the binder id and Berth's are the same). */
		remove: (id: string) => t.call<T.ApplicationView>("applications.remove", { id }),
		keepalive: (id: string) => t.call<T.ApplicationView>("applications.keepalive", { id }),
		/** Launchable templates (public ones without a key). */
		templates: () => t.call<T.TemplateView[]>("applications.templates", {}),
		template: (name: string) => t.call<T.TemplateView>("applications.template", { name }),
	};
}

/** The binder seed's ephemeral applications: launch a template, poll for its location. */
export function appsApi(t: Transport) {
	const api = {
		launch: (template: string) => t.call<T.LaunchedApplication>("apps.launch", { template }),
		/** binder-protocol's launch: `cull-timeout` (seconds) is the instance's idle limit, within the operator's bounds. */
		deploy: (params: T.DeployParams) => t.call<T.LaunchedApplication>("apps.deploy", params),
		list: (template: string) => t.call<T.Application[]>("apps.list", { template }),
		get: (template: string, id: string) => t.call<T.Application>("apps.get", { template, id }),
		keepalive: (template: string, id: string) => t.call<unknown>("apps.keepalive", { template, id }),
		/** Polls until the instance runs and has a location; rejects if it fails or is deleted first. */
		waitForLocation: (template: string, id: string, opts: WaitOptions<T.Application> = {}) =>
			poll(() => api.get(template, id), applicationVerdict, `Application ${template}/${id}`, opts),
	};
	return api;
}
