import Ajv2020 from "ajv/dist/2020";
import { BerthClient, OPERATIONS, type OperationName } from "../../lib/client";
import { toOpenApiPath } from "../../lib/openapi";
import { serviceRegistry } from "../../services";
import { startMesh, type Mesh } from "../helpers/mesh";

/**
 * Holds the typed client (lib/client) against the OpenAPI document the gateway serves when every
 * service of the registry runs, so the client cannot drift from the API:
 * - every route of the client's table is served, with that method;
 * - every operation the gateway serves has a client method (routes of other services too);
 * - what each client method sends (path params, query names, JSON body) satisfies the operation's
 *   schema, for a call with every field the client's types offer.
 */

type Doc = {
	paths: Record<string, Record<string, { operationId: string; parameters?: { name: string; in: string; required?: boolean; schema?: object }[]; requestBody?: { content: Record<string, { schema: object }> } }>>;
};

interface Sent {
	method: string;
	path: string;
	query: Record<string, string[]>;
	body?: unknown;
}

/** Every client method called once, with as many of its fields as its types allow. */
const calls: Record<OperationName, (c: BerthClient) => Promise<unknown>> = {
	"health.live": c => c.health.live(),
	"health.ready": c => c.health.ready(),
	"health.serving": c => c.health.serving(),
	"health.metrics": c => c.health.metrics(1_700_000_000_000),
	"api.openapi": c => c.openapi(),

	"keys.list": c => c.keys.list(),
	"keys.get": c => c.keys.get("k1"),
	"keys.create": c => c.keys.create({ name: "ci", roles: ["user"], namespaces: ["team-a"], expiresAt: "2030-01-01T00:00:00.000Z", userID: "alice" }),
	"keys.revoke": c => c.keys.revoke("k1"),

	"audit.list": c => c.audit.list({ namespace: "team-a", actor: "alice", action: "v1.k8s.deployments.create", since: "2026-01-01T00:00:00Z", limit: 10 }),

	"namespaces.list": c => c.namespaces.list(),
	"namespaces.get": c => c.namespaces.get("n1"),
	"namespaces.create": c => c.namespaces.create({ name: "team-a", quota: { cpu: "2", memory: "4Gi", storage: "10Gi", pods: 20, gpu: 0 } }),
	"namespaces.update": c => c.namespaces.update("n1", { quota: { cpu: 4, memory: "8Gi", storage: "20Gi", pods: 40, gpu: 1 } }),
	"namespaces.remove": c => c.namespaces.remove("n1"),
	"namespaces.available": c => c.namespaces.available("team-b"),
	"namespaces.status": c => c.namespaces.status("n1"),
	"namespaces.resourcequota": c => c.namespaces.resourceQuota("n1"),
	"namespaces.clean": c => c.namespaces.clean(),
	"namespaces.addMember": c => c.namespaces.addMember("n1", "bob"),
	"namespaces.removeMember": c => c.namespaces.removeMember("n1", "bob"),
	"namespaces.transfer": c => c.namespaces.transfer("n1", "bob"),
	"namespaces.adopt": c => c.namespaces.adopt({ name: "shop", owner: "alice", quota: { cpu: "2", pods: 10 } }),
	"namespaces.grantDomain": c => c.namespaces.grantDomain("n1", "shop.example.com"),
	"namespaces.revokeDomain": c => c.namespaces.revokeDomain("n1", "*.shop.example.com"),

	"images.list": c => c.images.list({ launchable: true }),
	"images.get": c => c.images.get("i1"),
	"images.getByName": c => c.images.getByName("nginx:1.27"),
	"images.create": c => c.images.create({ ...imageEntry, namespaceId: "team-a" }),
	"images.update": c => c.images.update("i1", { description: "Changed", tag: "1.27.1", image: "nginx:1.27.1" }),
	"images.replace": c => c.images.replace("i1", imageEntry),
	"images.remove": c => c.images.remove("i1"),
	"images.load": c => c.images.load(),
	"images.clean": c => c.images.clean(),
	"images.deploy": c => c.images.deploy("i1", { namespace: "team-a", name: "web", vHosts: ["web.example.com"], replicas: 2 }),

	"volumes.list": c => c.volumes.list({ namespace: "team-a" }),
	"volumes.get": c => c.volumes.get("v1"),
	"volumes.create": c => c.volumes.create({ namespace: "team-a", name: "data", type: "persistentVolumeClaim", mountPath: "/data", size: "2Gi", accessModes: ["ReadWriteOnce"], storageClass: "standard" }),
	"volumes.remove": c => c.volumes.remove("v1"),
	"volumes.addMember": c => c.volumes.addMember("v1", "bob"),
	"volumes.removeMember": c => c.volumes.removeMember("v1", "bob"),
	"volumes.transfer": c => c.volumes.transfer("v1", "bob"),

	"configmaps.list": c => c.configmaps.list({ namespace: "team-a" }),
	"configmaps.get": c => c.configmaps.get("d1"),
	"configmaps.create": c => c.configmaps.create({ namespace: "team-a", name: "app", data: { "app.conf": "level=info" } }),
	"configmaps.update": c => c.configmaps.update("d1", { "app.conf": "level=debug" }),
	"configmaps.replace": c => c.configmaps.replace("d1", { "app.conf": "level=debug" }),
	"configmaps.remove": c => c.configmaps.remove("d1"),
	"configmaps.addMember": c => c.configmaps.addMember("d1", "bob"),
	"configmaps.removeMember": c => c.configmaps.removeMember("d1", "bob"),
	"configmaps.transfer": c => c.configmaps.transfer("d1", "bob"),

	"secrets.list": c => c.secrets.list({ namespace: "team-a" }),
	"secrets.get": c => c.secrets.get("d1"),
	"secrets.create": c => c.secrets.create({ namespace: "team-a", name: "app", data: { "app.conf": "level=info" } }),
	"secrets.update": c => c.secrets.update("d1", { "app.conf": "level=debug" }),
	"secrets.replace": c => c.secrets.replace("d1", { "app.conf": "level=debug" }),
	"secrets.remove": c => c.secrets.remove("d1"),
	"secrets.addMember": c => c.secrets.addMember("d1", "bob"),
	"secrets.removeMember": c => c.secrets.removeMember("d1", "bob"),
	"secrets.transfer": c => c.secrets.transfer("d1", "bob"),

	"deployments.list": c => c.deployments.list({ namespace: "team-a" }),
	"deployments.get": c => c.deployments.get("d1"),
	"deployments.create": c => c.deployments.create(fullDeployment),
	"deployments.createDeployment": c => c.deployments.createDeployment(fullDeployment),
	"deployments.update": c => c.deployments.update("d1", { image: "nginx", replicas: 3, vHosts: ["shop.example.com"], volumes: fullDeployment.volumes, configMap: null, resources: fullDeployment.resources, ports: fullDeployment.ports }),
	"deployments.replace": c => c.deployments.replace("d1", { replicas: 1, configMap: fullDeployment.configMap }),
	"deployments.remove": c => c.deployments.remove("d1"),
	"deployments.generate": c => c.deployments.generate(fullDeployment),
	"deployments.manifests": c => c.deployments.manifests("d1"),
	"deployments.apply": c => c.deployments.apply("d1"),
	"deployments.status": c => c.deployments.status("d1"),
	"deployments.state": c => c.deployments.state("d1"),
	"deployments.pods": c => c.deployments.pods("d1"),
	"deployments.logs": async c => {
		await c.deployments.logs("d1", { pod: "web-1", container: "web", tail: 10, since: "10m", maxSeconds: 5 });
		for await (const _ of c.deployments.followLogs("d1", { tail: 1, since: 60, maxSeconds: 5 })) break;
	},
	"deployments.events": c => c.deployments.events("d1"),
	"deployments.scale": c => c.deployments.scale("d1", 2),
	"deployments.restart": c => c.deployments.restart("d1"),
	"deployments.top": c => c.deployments.top("d1"),
	"deployments.revisions": c => c.deployments.revisions("d1"),
	"deployments.rollback": c => c.deployments.rollback("d1", 1),
	"deployments.addMember": c => c.deployments.addMember("d1", "bob"),
	"deployments.removeMember": c => c.deployments.removeMember("d1", "bob"),
	"deployments.transfer": c => c.deployments.transfer("d1", "bob"),

	"envs.list": c => c.envs.list({ namespace: "team-a", deployment: "web" }),
	"envs.get": c => c.envs.get("e1"),
	"envs.create": c => c.envs.create({ namespace: "team-a", deployment: "web", key: "MODE", value: "prod", type: "as-is" }),
	"envs.update": c => c.envs.update("e1", { value: "x", type: "secret" }),
	"envs.replace": c => c.envs.replace("e1", { value: "x", type: "as-is" }),
	"envs.remove": c => c.envs.remove("e1"),
	"envs.clean": c => c.envs.clean({ namespace: "team-a", deployment: "web" }),
	"envs.resolve": c => c.envs.resolve({ namespace: "team-a", deployment: "web", key: "MODE" }),
	"envs.pack": c => c.envs.pack({ namespace: "team-a", deployment: "web", reveal: true }),
	"envs.patch": c => c.envs.patch({ namespace: "team-a", deployment: "web" }),
	"envs.repatch": c => c.envs.repatch({ namespace: "team-a", deployment: "web" }),
	"envs.fromImage": c => c.envs.fromImage({ namespace: "team-a", deployment: "web", image: "nginx", env: [{ key: "A", value: "1", type: "secret" }] }),

	"jobs.list": c => c.jobs.list({ namespace: "team-a" }),
	"jobs.get": c => c.jobs.get("j1"),
	"jobs.create": async c => {
		await c.jobs.create({ namespace: "team-a", cmd: "echo hi", image: "python:3.12-slim", env: { A: "1" }, resources: { requests: { cpu: "100m", memory: "128Mi" }, limits: { cpu: "1", memory: "1Gi" } }, timeoutSeconds: 60, ttlSecondsAfterFinished: 600, backoffLimit: 1 });
		await c.jobs.create({ namespace: "team-a", command: ["python3", "-c", "print(1)"], env: [{ name: "A", value: "1" }] });
	},
	"jobs.remove": c => c.jobs.remove("j1"),
	"builds.list": c => c.builds.list({ namespace: "team-a" }),
	"builds.get": c => c.builds.get("b1"),
	"builds.create": c => c.builds.create({ namespace: "team-a", git: "https://git.example/acme/app.git", ref: "main", context: "web", dockerfile: "Dockerfile", name: "app", tag: "v1", description: "d", resources: { requests: { cpu: "100m" } }, timeoutSeconds: 600 }),
	"builds.logs": async c => {
		await c.builds.logs("b1");
		for await (const _ of c.builds.followLogs("b1", { maxSeconds: 5 })) break;
	},
	"images.build": c => c.images.build({ namespace: "team-a", git: "https://git.example/acme/app.git" }),
	"cronjobs.list": c => c.cronjobs.list({ namespace: "team-a" }),
	"cronjobs.get": c => c.cronjobs.get("c1"),
	"cronjobs.create": c => c.cronjobs.create({ namespace: "team-a", cmd: "date", schedule: "*/5 * * * *", timeZone: "Europe/Berlin", suspend: false, concurrencyPolicy: "Forbid", timeoutSeconds: 60 }),
	"cronjobs.remove": c => c.cronjobs.remove("c1"),
	"cronjobs.suspend": c => c.cronjobs.suspend("c1"),
	"cronjobs.resume": c => c.cronjobs.resume("c1"),
	"cronjobs.trigger": c => c.cronjobs.trigger("c1"),
	"cronjobs.runs": c => c.cronjobs.runs("c1"),
	"cronjobs.runLogs": c => c.cronjobs.runLogs("c1", "c1-123"),
	"jobs.status": c => c.jobs.status("j1"),
	"jobs.logs": c => c.jobs.logs("j1"),

	"orchestrate.create": c => c.orchestrate.create("echo hi"),
	"orchestrate.list": c => c.orchestrate.list(),
	"orchestrate.get": c => c.orchestrate.get("0b5a1e59-0000-4000-8000-000000000000"),
	"orchestrate.status": c => c.orchestrate.status("0b5a1e59-0000-4000-8000-000000000000"),
	"orchestrate.logs": c => c.orchestrate.logs("0b5a1e59-0000-4000-8000-000000000000"),

	"services.list": c => c.services.list({ namespace: "team-a" }),
	"services.get": c => c.services.get("s1"),
	"services.create": c => c.services.create({ name: "My NGINX Service", namespace: "team-a", deployment: "containers: []\n", exposed_service: "web", exposed_port: 80 }),
	"services.update": c => c.services.update("s1", { name: "renamed", deployment: "containers: []\n", exposed_service: null, exposed_port: null }),
	"services.replace": c => c.services.replace("s1", { exposed_port: 8080 }),
	"services.remove": c => c.services.remove("s1", { keepVolumes: true }),
	"services.validate": c => c.services.validate({ deployment: "containers: []\n", exposed_service: "web", exposed_port: 80 }),
	"services.manifests": c => c.services.manifests("s1"),
	"services.deploy": c => c.services.deploy("s1"),
	"services.status": c => c.services.status("s1"),
	"services.undeploy": c => c.services.undeploy("s1", { keepVolumes: true }),
	"kitegg.deploy": c => c.kitegg.deploy("s1"),
	"kitegg.status": c => c.kitegg.status("s1"),
	"kitegg.remove": c => c.kitegg.remove("s1", { keepVolumes: false }),

	"inventory.summary": c => c.inventory.summary(),
	"inventory.list": c => c.inventory.list({ kind: "pods", namespace: "team-a", provenance: "external", name: "web", label: "app=web", limit: 10, offset: 0 }),
	"inventory.get": c => c.inventory.get({ kind: "deployments", namespace: "team-a", name: "web" }),
	"inventory.namespace": c => c.inventory.namespace("team-a"),
	"inventory.tree": c => c.inventory.tree("team-a"),
	"inventory.adopt": c => c.inventory.adopt({ namespace: "team-a", name: "web", confirm: false, image: "nginx" }),

	"applications.list": c => c.applications.list({ template: "jupyter-notebook", status: "running" }),
	"applications.get": c => c.applications.get("a1"),
	"applications.create": c => c.applications.create({ template: "jupyter-notebook" }),
	"applications.remove": c => c.applications.remove("a1"),
	"applications.keepalive": c => c.applications.keepalive("a1"),
	"applications.templates": c => c.applications.templates(),
	"applications.template": c => c.applications.template("jupyter-notebook"),

	"apps.launch": c => c.apps.launch("jupyter-notebook"),
	"apps.deploy": c => c.apps.deploy({ "template-name": "jupyter-notebook", "cull-timeout": 1800 }),
	"apps.list": c => c.apps.list("jupyter-notebook"),
	"apps.get": c => c.apps.get("jupyter-notebook", "a16653059942e2ef2b1c7b458d6a2463"),
	"apps.keepalive": c => c.apps.keepalive("jupyter-notebook", "a16653059942e2ef2b1c7b458d6a2463"),
};

const fullDeployment = {
	name: "web",
	namespace: "team-a",
	image: "nginx",
	replicas: 2,
	vHosts: ["web.example.com"],
	volumes: [{ name: "data", type: "persistentVolumeClaim" as const, mountPath: "/data", persistentVolumeClaim: { claimName: "data" }, readOnly: true, subPath: "html" }],
	configMap: { name: "site", data: { "default.conf": "server {}" }, mountPath: "/etc/nginx/conf.d" },
	env: [{ key: "MODE", value: "prod", type: "secret" as const }],
	resources: { limits: { cpu: 500, memory: "256Mi" }, requests: { cpu: "100m", memory: 64 } },
	ports: [{ name: "http", port: 80, protocol: "TCP" as const }],
};

const imageEntry = {
	name: "shop",
	namespace: "library",
	tag: "1.27",
	image: "ghcr.io/acme/shop:1.27",
	registry: "ghcr.io",
	repository: "acme/shop",
	description: "The shop",
	imagePullPolicy: "IfNotPresent" as const,
	imagePullSecrets: [],
	ports: [{ name: "http", port: 8080, protocol: "TCP" as const, expose: "public" as const }],
	env: [{ key: "MODE", type: "as-is" as const, value: "prod" }],
	volumes: [{ name: "data", type: "persistentVolumeClaim" as const, mountPath: "/data" }],
	resources: { limits: { cpu: 500, memory: 256 }, requests: { cpu: 100, memory: 64 } },
	command: ["/bin/shop"],
	args: ["--port=8080"],
	runAsUser: 1000,
	runAsGroup: 1000,
	capabilities: ["NET_BIND_SERVICE"],
};

/** The request the gateway would route: the operation whose path template matches, for that method. */
function operationFor(doc: Doc, method: string, path: string) {
	// A literal path wins over a template (`/envs/resolve` over `/envs/{id}`), as in the gateway.
	const exact = doc.paths[path]?.[method.toLowerCase()];
	if (exact) return { template: path, op: exact, pathValues: {} as Record<string, string> };
	for (const [template, ops] of Object.entries(doc.paths)) {
		const op = ops[method.toLowerCase()];
		if (!op) continue;
		const names: string[] = [];
		const re = new RegExp(`^${template.replace(/[.*+?^$()|[\]\\]/g, "\\$&").replace(/\{([^}]+)\}/g, (_, n: string) => (names.push(n), "([^/]+)"))}$`);
		const m = re.exec(path);
		if (m) return { template, op, pathValues: Object.fromEntries(names.map((n, i) => [n, decodeURIComponent(m[i + 1])])) };
	}
	return undefined;
}

describe("the typed client against the live OpenAPI document (every registered service)", () => {
	let mesh: Mesh;
	let doc: Doc;
	/** A planned route (`pending`) may be absent while no served path starts like it: its service has not landed. */
	const isPendingAndAbsent = (name: OperationName) => {
		const op = OPERATIONS[name] as { path: string; pending?: string };
		if (!op.pending) return false;
		const prefix = op.path.split("/:")[0];
		return !Object.keys(doc.paths).some(p => p === prefix || p.startsWith(`${prefix}/`));
	};

	beforeAll(async () => {
		mesh = await startMesh(Object.keys(serviceRegistry));
		const res = await fetch(`${mesh.url}/api/openapi.json`);
		expect(res.status).toBe(200);
		doc = (await res.json()) as Doc;
	});

	afterAll(async () => {
		await mesh?.stop();
	});

	it("serves every route of the client's table, with the client's method", () => {
		const missing = (Object.keys(OPERATIONS) as OperationName[]).filter(name => {
			const op = OPERATIONS[name];
			const served = doc.paths[toOpenApiPath(op.path).path]?.[op.method.toLowerCase()];
			return !served && !isPendingAndAbsent(name);
		});
		expect(missing).toEqual([]);
	});

	it("has a client method for every operation the gateway serves", () => {
		const covered = new Set(Object.values(OPERATIONS).map(op => `${op.method} ${toOpenApiPath(op.path).path}`));
		// `GET /` is the same health check as `GET /health/live`.
		covered.add("GET /");
		const uncovered: string[] = [];
		for (const [path, ops] of Object.entries(doc.paths)) for (const [method, op] of Object.entries(ops)) if (!covered.has(`${method.toUpperCase()} ${path}`)) uncovered.push(`${method.toUpperCase()} ${path} (${op.operationId})`);
		// A new route fails here until lib/client/routes.ts and the client have it; `client.operation(id)` reaches it meanwhile.
		expect(uncovered).toEqual([]);
	});

	it("sends params the operations' schemas accept", async () => {
		const sent: (Sent & { name: OperationName })[] = [];
		let current: OperationName = "health.live";
		const recorder = (async (input: string | URL, init: RequestInit = {}) => {
			const url = new URL(String(input));
			const query: Record<string, string[]> = {};
			for (const [k, v] of url.searchParams) (query[k] ??= []).push(v);
			sent.push({ name: current, method: init.method ?? "GET", path: url.pathname, query, body: init.body ? JSON.parse(String(init.body)) : undefined });
			return new Response("{}", { status: 200, headers: { "content-type": "application/json" } });
		}) as typeof fetch;
		const client = new BerthClient({ url: "http://recorder.invalid", apiKey: "k", fetch: recorder });
		for (const name of Object.keys(calls) as OperationName[]) {
			current = name;
			await calls[name](client);
		}
		// Every operation of the table was called by its own method.
		expect([...new Set(sent.map(s => s.name))].sort()).toEqual(Object.keys(OPERATIONS).sort());

		const ajv = new Ajv2020({ strict: false, validateFormats: false, allErrors: true });
		const problems: string[] = [];
		for (const s of sent) {
			const op = OPERATIONS[s.name];
			expect(s.method).toBe(op.method);
			if (isPendingAndAbsent(s.name)) continue;
			const found = operationFor(doc, s.method, s.path);
			if (!found) {
				problems.push(`${s.name}: ${s.method} ${s.path} matches no operation`);
				continue;
			}
			const where = `${s.name} (${found.op.operationId})`;
			if (found.template !== toOpenApiPath(op.path).path) problems.push(`${where}: ${s.path} is routed to ${found.template}, not ${op.path}`);
			const params = found.op.parameters ?? [];
			for (const p of params.filter(p => p.in === "path")) {
				const value = found.pathValues[p.name];
				if (p.schema && !ajv.validate(p.schema, value)) problems.push(`${where}: path ${p.name}=${value}: ${ajv.errorsText()}`);
			}
			const declared = new Set(params.filter(p => p.in === "query").map(p => p.name));
			for (const name of Object.keys(s.query)) if (!declared.has(name)) problems.push(`${where}: query "${name}" is not a parameter of the operation`);
			for (const p of params.filter(p => p.in === "query" && p.required)) if (!(p.name in s.query)) problems.push(`${where}: required query "${p.name}" not sent`);
			const schema = found.op.requestBody?.content["application/json"]?.schema;
			if (schema) {
				if (!ajv.validate(schema, s.body ?? {})) problems.push(`${where}: body ${JSON.stringify(s.body)}: ${ajv.errorsText()}`);
				const known = Object.keys((schema as { properties?: object }).properties ?? {});
				for (const key of Object.keys((s.body as object) ?? {})) if (!known.includes(key)) problems.push(`${where}: body field "${key}" is not a parameter of the operation`);
			} else if (s.body !== undefined && Object.keys(s.body as object).length) {
				problems.push(`${where}: sends a body ${JSON.stringify(s.body)} the operation does not take`);
			}
		}
		expect(problems).toEqual([]);
	});

	it("reads the live document and calls an operation by its id", async () => {
		const client = new BerthClient({ url: mesh.url, apiKey: mesh.adminKey });
		const ops = await client.operations();
		expect(ops).toEqual(expect.arrayContaining([{ operationId: "v1.k8s.namespaces.available", method: "GET", path: "/api/v1/k8s/namespaces/available/:name" }]));
		await expect(client.operation("v1.k8s.namespaces.available", { name: "surely-free-name" })).resolves.toEqual({ name: "surely-free-name", available: true });
	});
});
