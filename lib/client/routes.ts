/**
 * Every REST operation the client calls: method and path, in the gateway's own `:param` syntax.
 * test/integration/cli-client-openapi.test.ts holds this table against the live `/api/openapi.json`
 * of a mesh running every service: each entry must be served, the params the client sends must
 * satisfy the operation's schema, and every operation of a service the client knows must have an
 * entry here. So the client cannot drift from the API without a failing test.
 *
 * The two Server-Sent Event streams (`GET .../deployments/:id/stream`, `.../namespaces/:id/stream`) are
 * function routes of the gateway, outside the OpenAPI document; the client's `watch` methods read them.
 *
 * Params go where the gateway reads them: `:name` segments from the path, the rest from the query
 * string for GET and DELETE and from a JSON body otherwise (lib/openapi.ts documents them the same way).
 */

export type HttpMethod = "GET" | "POST" | "PUT" | "PATCH" | "DELETE";

export interface Operation {
	method: HttpMethod;
	path: string;
	/**
	 * Set while the route is planned but its service has not landed: such an entry may be missing
	 * from the live document only as long as the document has no path starting like it
	 * (`/applications/...`, `/api/v1/k8s/applications...`).
	 */
	pending?: string;
}

export const OPERATIONS = {
	"health.live": { method: "GET", path: "/health/live" },
	"health.ready": { method: "GET", path: "/health/ready" },
	"health.serving": { method: "GET", path: "/health/serving" },
	"health.metrics": { method: "GET", path: "/health/metrics" },
	"api.openapi": { method: "GET", path: "/api/openapi.json" },

	"keys.list": { method: "GET", path: "/api/v1/keys" },
	"keys.get": { method: "GET", path: "/api/v1/keys/:id" },
	"keys.create": { method: "POST", path: "/api/v1/keys" },
	"keys.revoke": { method: "DELETE", path: "/api/v1/keys/:id" },

	"audit.list": { method: "GET", path: "/api/v1/audit" },

	"namespaces.list": { method: "GET", path: "/api/v1/k8s/namespaces" },
	"namespaces.get": { method: "GET", path: "/api/v1/k8s/namespaces/:id" },
	"namespaces.create": { method: "POST", path: "/api/v1/k8s/namespaces" },
	"namespaces.update": { method: "PUT", path: "/api/v1/k8s/namespaces/:id" },
	"namespaces.remove": { method: "DELETE", path: "/api/v1/k8s/namespaces/:id" },
	"namespaces.available": { method: "GET", path: "/api/v1/k8s/namespaces/available/:name" },
	"namespaces.status": { method: "GET", path: "/api/v1/k8s/namespaces/:id/status" },
	"namespaces.resourcequota": { method: "GET", path: "/api/v1/k8s/namespaces/:id/resourcequota" },
	"namespaces.clean": { method: "POST", path: "/api/v1/k8s/namespaces/clean" },
	"namespaces.addMember": { method: "POST", path: "/api/v1/k8s/namespaces/:id/members" },
	"namespaces.removeMember": { method: "DELETE", path: "/api/v1/k8s/namespaces/:id/members/:member" },
	"namespaces.transfer": { method: "POST", path: "/api/v1/k8s/namespaces/:id/transfer" },
	"namespaces.grantDomain": { method: "POST", path: "/api/v1/k8s/namespaces/:id/domains" },
	"namespaces.revokeDomain": { method: "DELETE", path: "/api/v1/k8s/namespaces/:id/domains/:domain" },
	"namespaces.adopt": { method: "POST", path: "/api/v1/k8s/namespaces/adopt" },

	"images.list": { method: "GET", path: "/api/v1/k8s/images" },
	"images.get": { method: "GET", path: "/api/v1/k8s/images/:id" },
	"images.getByName": { method: "GET", path: "/api/v1/k8s/images/name/:name" },
	"images.create": { method: "POST", path: "/api/v1/k8s/images" },
	"images.update": { method: "PATCH", path: "/api/v1/k8s/images/:id" },
	"images.replace": { method: "PUT", path: "/api/v1/k8s/images/:id" },
	"images.remove": { method: "DELETE", path: "/api/v1/k8s/images/:id" },
	"images.load": { method: "POST", path: "/api/v1/k8s/images/load" },
	"images.clean": { method: "POST", path: "/api/v1/k8s/images/clean" },
	"images.deploy": { method: "POST", path: "/api/v1/k8s/images/:id/deploy" },

	"volumes.list": { method: "GET", path: "/api/v1/k8s/volumes" },
	"volumes.get": { method: "GET", path: "/api/v1/k8s/volumes/:id" },
	"volumes.create": { method: "POST", path: "/api/v1/k8s/volumes" },
	"volumes.remove": { method: "DELETE", path: "/api/v1/k8s/volumes/:id" },
	"volumes.addMember": { method: "POST", path: "/api/v1/k8s/volumes/:id/members" },
	"volumes.removeMember": { method: "DELETE", path: "/api/v1/k8s/volumes/:id/members/:member" },
	"volumes.transfer": { method: "POST", path: "/api/v1/k8s/volumes/:id/transfer" },

	"configmaps.list": { method: "GET", path: "/api/v1/k8s/configmaps" },
	"configmaps.get": { method: "GET", path: "/api/v1/k8s/configmaps/:id" },
	"configmaps.create": { method: "POST", path: "/api/v1/k8s/configmaps" },
	"configmaps.update": { method: "PATCH", path: "/api/v1/k8s/configmaps/:id" },
	"configmaps.replace": { method: "PUT", path: "/api/v1/k8s/configmaps/:id" },
	"configmaps.remove": { method: "DELETE", path: "/api/v1/k8s/configmaps/:id" },
	"configmaps.addMember": { method: "POST", path: "/api/v1/k8s/configmaps/:id/members" },
	"configmaps.removeMember": { method: "DELETE", path: "/api/v1/k8s/configmaps/:id/members/:member" },
	"configmaps.transfer": { method: "POST", path: "/api/v1/k8s/configmaps/:id/transfer" },

	"secrets.list": { method: "GET", path: "/api/v1/k8s/secrets" },
	"secrets.get": { method: "GET", path: "/api/v1/k8s/secrets/:id" },
	"secrets.create": { method: "POST", path: "/api/v1/k8s/secrets" },
	"secrets.update": { method: "PATCH", path: "/api/v1/k8s/secrets/:id" },
	"secrets.replace": { method: "PUT", path: "/api/v1/k8s/secrets/:id" },
	"secrets.remove": { method: "DELETE", path: "/api/v1/k8s/secrets/:id" },
	"secrets.addMember": { method: "POST", path: "/api/v1/k8s/secrets/:id/members" },
	"secrets.removeMember": { method: "DELETE", path: "/api/v1/k8s/secrets/:id/members/:member" },
	"secrets.transfer": { method: "POST", path: "/api/v1/k8s/secrets/:id/transfer" },

	"deployments.list": { method: "GET", path: "/api/v1/k8s/deployments" },
	"deployments.get": { method: "GET", path: "/api/v1/k8s/deployments/:id" },
	"deployments.create": { method: "POST", path: "/api/v1/k8s/deployments" },
	"deployments.createDeployment": { method: "POST", path: "/api/v1/k8s/deployments/createDeployment" },
	"deployments.update": { method: "PATCH", path: "/api/v1/k8s/deployments/:id" },
	"deployments.replace": { method: "PUT", path: "/api/v1/k8s/deployments/:id" },
	"deployments.remove": { method: "DELETE", path: "/api/v1/k8s/deployments/:id" },
	"deployments.generate": { method: "POST", path: "/api/v1/k8s/deployments/generate" },
	"deployments.manifests": { method: "GET", path: "/api/v1/k8s/deployments/:id/manifests" },
	"deployments.apply": { method: "POST", path: "/api/v1/k8s/deployments/:id/apply" },
	"deployments.status": { method: "GET", path: "/api/v1/k8s/deployments/:id/status" },
	"deployments.state": { method: "GET", path: "/api/v1/k8s/deployments/:id/state" },
	"deployments.pods": { method: "GET", path: "/api/v1/k8s/deployments/:id/pods" },
	"deployments.logs": { method: "GET", path: "/api/v1/k8s/deployments/:id/logs" },
	"deployments.events": { method: "GET", path: "/api/v1/k8s/deployments/:id/events" },
	"deployments.scale": { method: "POST", path: "/api/v1/k8s/deployments/:id/scale" },
	"deployments.restart": { method: "POST", path: "/api/v1/k8s/deployments/:id/restart" },
	"deployments.top": { method: "GET", path: "/api/v1/k8s/deployments/:id/top" },
	"deployments.revisions": { method: "GET", path: "/api/v1/k8s/deployments/:id/revisions" },
	"deployments.rollback": { method: "POST", path: "/api/v1/k8s/deployments/:id/rollback" },
	"deployments.addMember": { method: "POST", path: "/api/v1/k8s/deployments/:id/members" },
	"deployments.removeMember": { method: "DELETE", path: "/api/v1/k8s/deployments/:id/members/:member" },
	"deployments.transfer": { method: "POST", path: "/api/v1/k8s/deployments/:id/transfer" },

	"envs.list": { method: "GET", path: "/api/v1/k8s/envs" },
	"envs.get": { method: "GET", path: "/api/v1/k8s/envs/:id" },
	"envs.create": { method: "POST", path: "/api/v1/k8s/envs" },
	"envs.update": { method: "PATCH", path: "/api/v1/k8s/envs/:id" },
	"envs.replace": { method: "PUT", path: "/api/v1/k8s/envs/:id" },
	"envs.remove": { method: "DELETE", path: "/api/v1/k8s/envs/:id" },
	"envs.clean": { method: "POST", path: "/api/v1/k8s/envs/clean" },
	"envs.resolve": { method: "GET", path: "/api/v1/k8s/envs/resolve" },
	"envs.pack": { method: "GET", path: "/api/v1/k8s/envs/pack" },
	"envs.patch": { method: "POST", path: "/api/v1/k8s/envs/patch" },
	"envs.repatch": { method: "POST", path: "/api/v1/k8s/envs/repatch" },
	"envs.fromImage": { method: "POST", path: "/api/v1/k8s/envs/from-image" },

	"jobs.list": { method: "GET", path: "/api/v1/k8s/jobs" },
	"jobs.get": { method: "GET", path: "/api/v1/k8s/jobs/:id" },
	"jobs.create": { method: "POST", path: "/api/v1/k8s/jobs" },
	"jobs.remove": { method: "DELETE", path: "/api/v1/k8s/jobs/:id" },
	"jobs.status": { method: "GET", path: "/api/v1/k8s/jobs/:id/status" },
	"jobs.logs": { method: "GET", path: "/api/v1/k8s/jobs/:id/logs" },

	"builds.list": { method: "GET", path: "/api/v1/k8s/builds" },
	"builds.get": { method: "GET", path: "/api/v1/k8s/builds/:id" },
	"builds.create": { method: "POST", path: "/api/v1/k8s/builds" },
	"builds.logs": { method: "GET", path: "/api/v1/k8s/builds/:id/logs" },
	"images.build": { method: "POST", path: "/api/v1/k8s/images/build" },

	"cronjobs.list": { method: "GET", path: "/api/v1/k8s/cronjobs" },
	"cronjobs.get": { method: "GET", path: "/api/v1/k8s/cronjobs/:id" },
	"cronjobs.create": { method: "POST", path: "/api/v1/k8s/cronjobs" },
	"cronjobs.remove": { method: "DELETE", path: "/api/v1/k8s/cronjobs/:id" },
	"cronjobs.suspend": { method: "POST", path: "/api/v1/k8s/cronjobs/:id/suspend" },
	"cronjobs.resume": { method: "POST", path: "/api/v1/k8s/cronjobs/:id/resume" },
	"cronjobs.trigger": { method: "POST", path: "/api/v1/k8s/cronjobs/:id/trigger" },
	"cronjobs.runs": { method: "GET", path: "/api/v1/k8s/cronjobs/:id/runs" },
	"cronjobs.runLogs": { method: "GET", path: "/api/v1/k8s/cronjobs/:id/runs/:run/logs" },

	// The orchestrate seed's routes, as that seed's clients call them.
	"orchestrate.create": { method: "POST", path: "/jobs" },
	"orchestrate.list": { method: "GET", path: "/jobs" },
	"orchestrate.get": { method: "GET", path: "/jobs/:job" },
	"orchestrate.status": { method: "GET", path: "/jobs/:job/status" },
	"orchestrate.logs": { method: "GET", path: "/jobs/:job/logs" },

	// v1.k8s.services: KITeGG service specs (YAML), and that seed's routes.
	"services.list": { method: "GET", path: "/api/v1/k8s/services" },
	"services.get": { method: "GET", path: "/api/v1/k8s/services/:id" },
	"services.create": { method: "POST", path: "/api/v1/k8s/services" },
	"services.update": { method: "PATCH", path: "/api/v1/k8s/services/:id" },
	"services.replace": { method: "PUT", path: "/api/v1/k8s/services/:id" },
	"services.remove": { method: "DELETE", path: "/api/v1/k8s/services/:id" },
	"services.validate": { method: "POST", path: "/api/v1/k8s/services/validate" },
	"services.manifests": { method: "GET", path: "/api/v1/k8s/services/:id/manifests" },
	"services.deploy": { method: "POST", path: "/api/v1/k8s/services/:id/deploy" },
	"services.status": { method: "GET", path: "/api/v1/k8s/services/:id/status" },
	"services.undeploy": { method: "POST", path: "/api/v1/k8s/services/:id/undeploy" },
	"kitegg.deploy": { method: "PUT", path: "/kubernetes/services/:id/deploy" },
	"kitegg.status": { method: "GET", path: "/kubernetes/services/:id" },
	"kitegg.remove": { method: "DELETE", path: "/kubernetes/services/:id" },

	// v1.k8s.inventory: what runs in the cluster, Berth's or not.
	"inventory.summary": { method: "GET", path: "/api/v1/k8s/inventory" },
	"inventory.list": { method: "GET", path: "/api/v1/k8s/inventory/:kind" },
	"inventory.get": { method: "GET", path: "/api/v1/k8s/inventory/:kind/:namespace/:name" },
	"inventory.namespace": { method: "GET", path: "/api/v1/k8s/inventory/namespaces/:name" },
	"inventory.tree": { method: "GET", path: "/api/v1/k8s/inventory/tree" },
	"inventory.adopt": { method: "POST", path: "/api/v1/k8s/inventory/adopt" },

	// v1.k8s.applications, Berth's own routes (issue #8).
	"applications.list": { method: "GET", path: "/api/v1/k8s/applications", pending: "issue #8, ephemeral applications" },
	"applications.get": { method: "GET", path: "/api/v1/k8s/applications/:id", pending: "issue #8, ephemeral applications" },
	"applications.create": { method: "POST", path: "/api/v1/k8s/applications", pending: "issue #8, ephemeral applications" },
	"applications.remove": { method: "DELETE", path: "/api/v1/k8s/applications/:id", pending: "issue #8, ephemeral applications" },
	"applications.keepalive": { method: "POST", path: "/api/v1/k8s/applications/:id/keepalive", pending: "issue #8, ephemeral applications" },
	"applications.templates": { method: "GET", path: "/api/v1/k8s/applications/templates", pending: "issue #8, ephemeral applications" },
	"applications.template": { method: "GET", path: "/api/v1/k8s/applications/templates/:name", pending: "issue #8, ephemeral applications" },

	// The binder seed's applications (issue #8).
	"apps.launch": { method: "POST", path: "/applications/:template", pending: "issue #8, ephemeral applications" },
	// binder-protocol's launch (issue #20): the template and the cull-timeout in the body.
	"apps.deploy": { method: "POST", path: "/applications" },
	"apps.list": { method: "GET", path: "/applications/:template", pending: "issue #8, ephemeral applications" },
	"apps.get": { method: "GET", path: "/applications/:template/:id", pending: "issue #8, ephemeral applications" },
	"apps.keepalive": { method: "POST", path: "/applications/:template/:id/keepalive", pending: "issue #8, ephemeral applications" },
} as const satisfies Record<string, Operation>;

export type OperationName = keyof typeof OPERATIONS;

/** The `:name` segments of a path, in order. */
export function pathParams(path: string): string[] {
	return [...path.matchAll(/:([A-Za-z_$][\w$]*)/g)].map(m => m[1]);
}

export function hasBody(method: HttpMethod): boolean {
	return method === "POST" || method === "PUT" || method === "PATCH";
}

/** The request an operation makes for some params: the path filled in, the rest as query or body. */
export function buildRequest(op: Operation, params: Record<string, unknown> = {}): { method: HttpMethod; path: string; query?: Record<string, unknown>; body?: Record<string, unknown> } {
	const rest: Record<string, unknown> = { ...params };
	const path = op.path.replace(/:([A-Za-z_$][\w$]*)/g, (_, name: string) => {
		const value = rest[name];
		if (value === undefined || value === null || value === "") throw new TypeError(`${op.method} ${op.path}: "${name}" is required`);
		delete rest[name];
		return encodeURIComponent(String(value));
	});
	for (const [k, v] of Object.entries(rest)) if (v === undefined) delete rest[k];
	if (hasBody(op.method)) return { method: op.method, path, body: rest };
	return { method: op.method, path, query: Object.keys(rest).length ? rest : undefined };
}
