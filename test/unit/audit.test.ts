import { Errors, ServiceBroker, type Context, type ServiceSchema } from "moleculer";
import brokerConfig from "../../moleculer.config";
import type { AuditRecord } from "../../lib/api/audit";
import type { NamespaceAccess } from "../../lib/api/namespaces";
import { parseAuditQuery, retentionCutoff, scopeFromRoles, storeQuery } from "../../lib/audit/query";
import { auditEntryOf, isMutating, isNestedCall, namespaceOf, restMethods, statusOf } from "../../lib/audit/record";
import { invalidField } from "../../lib/errors";
import AuditService from "../../services/audit.service";
import { serviceRegistry } from "../../services";
import { eventually } from "../helpers/eventually";

describe("which actions the audit records", () => {
	/** Every action of every registered service, with its `rest`, as the middleware sees them. */
	function registeredActions(): { name: string; rest?: unknown }[] {
		const broker = new ServiceBroker({ logger: false });
		for (const schema of Object.values(serviceRegistry)) broker.createService(schema);
		return broker.services.flatMap(svc =>
			Object.entries((svc.schema.actions ?? {}) as Record<string, unknown>)
				.filter(([, def]) => def)
				.map(([key, def]) => ({ name: `${svc.fullName}.${key}`, rest: typeof def === "object" ? (def as { rest?: unknown }).rest : undefined })),
		);
	}

	it("records every route that changes something, and nothing else", () => {
		const mutating = registeredActions().filter(isMutating).map(a => a.name).sort();
		const entity = (service: string, extra: string[]) => [...extra, "addMember", "removeMember", "transfer"].map(a => `v1.k8s.${service}.${a}`);
		expect(mutating).toEqual(
			[
				"v1.keys.create",
				"v1.keys.revoke",
				...entity("namespaces", ["create", "update", "remove", "clean", "grantDomain", "revokeDomain", "adopt"]),
				...entity("volumes", ["create", "remove"]),
				...entity("configmaps", ["create", "update", "remove"]),
				...entity("secrets", ["create", "update", "remove"]),
				...entity("deployments", ["create", "createDeployment", "update", "remove", "apply", "scale", "restart"]),
				...["create", "update", "remove", "clean", "patchConfigMap", "rePatchConfigMap", "createEnv"].map(a => `v1.k8s.envs.${a}`),
				...["loadImages", "clean", "deploy", "create", "update", "remove"].map(a => `v1.k8s.images.${a}`),
				...["create", "remove", "compatCreate"].map(a => `v1.k8s.jobs.${a}`),
				...["create", "remove", "suspend", "resume", "trigger"].map(a => `v1.k8s.cronjobs.${a}`),
				...["create", "update", "remove", "deploy", "undeploy", "compatDeploy", "compatDelete"].map(a => `v1.k8s.services.${a}`),
				...["binderDeploy", "binderLaunch", "launch", "delete"].map(a => `v1.k8s.applications.${a}`),
				"v1.k8s.inventory.adopt",
				"v1.k8s.revisions.rollback",
				"v1.k8s.images.build",
				"v1.k8s.builds.create",
			].sort(),
		);
	});

	it("knows every mesh-only action: a new one must be decided in AUDIT_DECISIONS (lib/audit/record.ts)", () => {
		const meshOnly = registeredActions()
			.filter(a => restMethods(a.rest).length === 0 && !/^(\$node|api|health)\./.test(a.name))
			.map(a => a.name)
			.sort();
		// All of them read, (recordActivity) only note activity, or (the quota admission's hold and
		// release, a revision's record, a rollback's restore and exact env set) are steps of a call
		// that is recorded itself.
		expect(meshOnly).toEqual(
			[
				"v1.audit.record",
				"v1.keys.authenticate",
				"v1.keys.usable",
				"v1.k8s.applications.recordActivity",
				"v1.k8s.configmaps.resolve",
				"v1.k8s.secrets.resolve",
				"v1.k8s.deployments.find",
				"v1.k8s.deployments.lookup",
				"v1.k8s.deployments.restore",
				"v1.k8s.envs.exact",
				"v1.k8s.envs.snapshot",
				"v1.k8s.images.count",
				"v1.k8s.images.find",
				"v1.k8s.images.resolve",
				"v1.k8s.images.resolveName",
				"v1.k8s.namespaces.access",
				"v1.k8s.namespaces.count",
				"v1.k8s.namespaces.find",
				"v1.k8s.namespaces.holdAdmission",
				"v1.k8s.namespaces.lookup",
				"v1.k8s.namespaces.releaseAdmission",
				"v1.k8s.namespaces.resolveName",
				"v1.k8s.revisions.record",
				"v1.k8s.status.get",
				"v1.k8s.status.namespace",
				"v1.k8s.volumes.count",
				"v1.k8s.volumes.find",
			].sort(),
		);
	});

	it("reads every spelling of `rest`", () => {
		expect(restMethods("POST /")).toEqual(["POST"]);
		expect(restMethods(["PATCH /:id", "PUT /:id"])).toEqual(["PATCH", "PUT"]);
		expect(restMethods({ method: "delete", fullPath: "/jobs/:id" })).toEqual(["DELETE"]);
		expect(restMethods("/any")).toEqual(["*"]);
		expect(restMethods({ retryPolicy: { enabled: false } })).toEqual([]);
		expect(isMutating({ name: "v1.k8s.things.poke", rest: "/any" })).toBe(true);
		expect(isMutating({ name: "v1.k8s.things.list", rest: "GET /" })).toBe(false);
		expect(isMutating({ name: "v1.audit.record" })).toBe(false);
	});

	it("takes calls from Berth's own services as part of the outer call, and the gateway's and others' as outer calls", () => {
		for (const caller of ["v1.k8s.deployments", "v1.k8s.inventory", "v1.keys", "v1.audit"]) expect(isNestedCall(caller)).toBe(true);
		for (const caller of ["api", "billing", "v2.k8s.deployments", null, undefined]) expect(isNestedCall(caller)).toBe(false);
	});
});

describe("what is recorded of a call", () => {
	const now = new Date("2026-03-01T10:00:00.000Z");
	const secret = "hunter2-very-secret";
	const createParams = { name: "web", namespace: "team-a", image: "nginx", env: [{ key: "TOKEN", value: secret, type: "secret" }], configMap: { data: { "app.conf": secret } } };
	const meta = { userID: "alice", keyID: "k1", roles: ["user"], $statusCode: 201 };

	it("records who, what, when and the answer's status; the namespace from the answer", () => {
		const result = { id: "d1", name: "web", namespace: "n1", namespaceName: "team-a", env: createParams.env };
		const entry = auditEntryOf({ action: "v1.k8s.deployments.create", params: createParams, meta, caller: "api", requestID: "r1" }, { ok: true, result }, now);
		expect(entry).toEqual({ at: now.toISOString(), actor: "alice", keyID: "k1", via: "rest", action: "v1.k8s.deployments.create", entity: "d1", namespace: "n1", namespaceName: "team-a", status: 201, requestID: "r1" });
	});

	it("records a failure with its status and type, and the namespace as the caller named it", () => {
		const error = new Errors.ValidationError("Parameters validation error!", "VALIDATION_ERROR", [{ field: "name", message: "bad", actual: secret }]);
		const entry = auditEntryOf({ action: "v1.k8s.deployments.create", params: createParams, meta: { userID: "alice" }, caller: null }, { ok: false, error }, now);
		expect(entry).toEqual({ at: now.toISOString(), actor: "alice", via: "mesh", action: "v1.k8s.deployments.create", namespaceRef: "team-a", status: 422, error: "VALIDATION_ERROR" });
	});

	it("keeps no param's value, nor an error's message or data", () => {
		for (const outcome of [{ ok: true as const, result: { id: "d1", env: createParams.env } }, { ok: false as const, error: invalidField("env", `bad ${secret}`, secret) }]) {
			const text = JSON.stringify(auditEntryOf({ action: "v1.k8s.envs.create", params: { ...createParams, id: secret.repeat(10) }, meta, caller: "api" }, outcome, now));
			expect(text).not.toContain(secret);
			expect(text).not.toContain("TOKEN");
		}
		// An id or a namespace a caller sent that is no id or name at all is left out.
		expect(auditEntryOf({ action: "v1.k8s.volumes.remove", params: { id: "x y\n", namespace: "{$gt:''}" }, meta, caller: "api" }, { ok: false, error: new Error("boom") }, now)).toEqual({
			at: now.toISOString(),
			actor: "alice",
			keyID: "k1",
			via: "rest",
			action: "v1.k8s.volumes.remove",
			status: 500,
			error: "ERROR",
		});
	});

	it("finds a namespace's own id and name in the namespaces service's answers and params", () => {
		expect(namespaceOf("v1.k8s.namespaces.create", { name: "team-a" }, { id: "n1", name: "team-a" })).toEqual({ namespace: "n1", namespaceName: "team-a" });
		expect(namespaceOf("v1.k8s.namespaces.create", { name: "team-a" }, undefined)).toEqual({ namespaceRef: "team-a" });
		expect(namespaceOf("v1.k8s.namespaces.remove", { id: "n1" }, undefined)).toEqual({ namespaceRef: "n1" });
		// A volume answers its namespace's id only: resolved by the audit service.
		expect(namespaceOf("v1.k8s.volumes.create", { namespace: "team-a" }, { id: "v1", namespace: "n1" })).toEqual({ namespaceRef: "n1" });
		expect(namespaceOf("v1.keys.create", { name: "ci" }, { id: "k2" })).toEqual({});
	});

	it("says who called: a keyless call is anonymous, and a status is one the gateway answers", () => {
		expect(auditEntryOf({ action: "v1.k8s.applications.launch", params: {}, meta: {}, caller: "api" }, { ok: true, result: {} }, now).actor).toBe("anonymous");
		expect(statusOf({ ok: true, result: null }, {})).toEqual({ status: 200 });
		expect(statusOf({ ok: false, error: { code: 503, type: "K8S_UNAVAILABLE" } }, {})).toEqual({ status: 503, error: "K8S_UNAVAILABLE" });
		expect(statusOf({ ok: false, error: { code: 42, type: "not a type" } }, {})).toEqual({ status: 500, error: "ERROR" });
	});
});

describe("reading the audit trail", () => {
	const grants: NamespaceAccess[] = [
		{ id: "n1", name: "team-a", uid: null, role: "owner" },
		{ id: "n2", name: "team-b", uid: null, role: "admin" },
		{ id: "n3", name: "team-c", uid: null, role: "view" },
	];

	it("takes only its documented filters, each checked, with a bounded default page", () => {
		expect(parseAuditQuery({})).toEqual({ limit: 100 });
		expect(parseAuditQuery({ namespace: "team-a", actor: "alice", action: "v1.keys.create", since: "2026-01-01", limit: 5 })).toEqual({ namespace: "team-a", actor: "alice", action: "v1.keys.create", since: "2026-01-01T00:00:00.000Z", limit: 5 });
		expect(() => parseAuditQuery({ user: "alice", scope: false })).toThrow(expect.objectContaining({ code: 422, data: [expect.objectContaining({ field: "user" }), expect.objectContaining({ field: "scope" })] }));
		expect(() => parseAuditQuery({ since: "last tuesday" })).toThrow(expect.objectContaining({ code: 422, data: [expect.objectContaining({ field: "since" })] }));
	});

	it("lets owners and admins of a namespace read it; a smaller role is 403, no role 404", () => {
		expect(scopeFromRoles(grants, "team-a")).toEqual({ namespaceIds: ["n1"] });
		expect(scopeFromRoles(grants, "n2")).toEqual({ namespaceIds: ["n2"] });
		expect(() => scopeFromRoles(grants, "team-c")).toThrow(expect.objectContaining({ code: 403 }));
		expect(() => scopeFromRoles(grants, "team-z")).toThrow(expect.objectContaining({ code: 404 }));
		expect(scopeFromRoles(grants, undefined)).toEqual({ namespaceIds: ["n1", "n2"] });
	});

	it("filters the store by the scope first", () => {
		const filter = { namespace: "team-a", actor: "bob", since: "2026-01-01T00:00:00.000Z", limit: 10 };
		expect(storeQuery(filter, { namespaceIds: ["n1"] })).toEqual({ $and: [{ namespace: "n1" }, { actor: "bob" }, { at: { $gte: filter.since } }] });
		expect(storeQuery({ limit: 10 }, { namespaceIds: ["n1", "n2"] })).toEqual({ namespace: { $in: ["n1", "n2"] } });
		expect(storeQuery(filter, { all: true })).toEqual({ $and: [{ $or: [{ namespace: "team-a" }, { namespaceName: "team-a" }] }, { actor: "bob" }, { at: { $gte: filter.since } }] });
		expect(storeQuery({ limit: 10 }, { all: true })).toEqual({});
	});

	it("keeps records for the retention", () => {
		expect(retentionCutoff(new Date("2026-03-31T00:00:00.000Z"), 30)).toBe("2026-03-01T00:00:00.000Z");
	});
});

describe("the audit middleware in a broker", () => {
	const alice = { meta: { userID: "alice" } };
	/** Berth-like services: a create that calls another Berth service's write. */
	const Widgets: ServiceSchema = {
		name: "k8s.widgets",
		version: 1,
		actions: {
			create: {
				rest: "POST /",
				params: { name: { type: "string", pattern: /^[a-z]+$/ } },
				async handler(ctx: Context<{ name: string }, { $statusCode?: number }>) {
					await ctx.call("v1.k8s.parts.attach", { id: "p1" });
					ctx.meta.$statusCode = 201;
					return { id: `w-${ctx.params.name}` };
				},
			},
			get: { rest: "GET /:id", handler: () => ({ id: "w" }) },
		},
	};
	const Parts: ServiceSchema = { name: "k8s.parts", version: 1, actions: { attach: { rest: "POST /:id/attach", handler: () => ({ id: "p1" }) } } };
	const platformAdmin = { meta: { userID: "root", roles: ["admin"] } };

	async function brokerWith(...schemas: ServiceSchema[]): Promise<ServiceBroker> {
		const broker = new ServiceBroker({ ...brokerConfig, logger: false, transporter: null });
		for (const schema of schemas) broker.createService(schema);
		await broker.start();
		return broker;
	}

	/** The records, once `count` are there: they are sent without the call waiting for them. */
	function recorded(broker: ServiceBroker, count: number): Promise<AuditRecord[]> {
		return eventually(
			async () => {
				const records = await broker.call<AuditRecord[], object>("v1.audit.list", {}, platformAdmin);
				expect(records).toHaveLength(count);
				return records;
			},
			{ timeoutMs: 3000, intervalMs: 10 },
		);
	}

	it("records the outer call once, a refusal by the validator too, and reads nothing", async () => {
		const broker = await brokerWith(AuditService as unknown as ServiceSchema, Widgets, Parts);
		try {
			await broker.call("v1.k8s.widgets.create", { name: "a" }, alice);
			await broker.call("v1.k8s.widgets.get", { id: "w" }, alice);
			await expect(broker.call("v1.k8s.widgets.create", { name: "NOT OK" }, alice)).rejects.toMatchObject({ code: 422 });
			const records = await recorded(broker, 2);
			// Both may carry the same millisecond, so their order in the newest-first list is not fixed.
			expect(records.map(r => [r.action, r.status, r.error, r.entity]).sort((x, y) => Number(x[1]) - Number(y[1]))).toEqual([
				["v1.k8s.widgets.create", 201, undefined, "w-a"],
				["v1.k8s.widgets.create", 422, "VALIDATION_ERROR", undefined],
			]);
			expect(records.every(r => r.actor === "alice" && r.via === "mesh")).toBe(true);
		} finally {
			await broker.stop();
		}
	});

	it("does not fail a call when its record cannot be stored", async () => {
		const Broken: ServiceSchema = {
			name: "audit",
			version: 1,
			actions: {
				record: () => {
					throw new Errors.MoleculerError("store down", 500);
				},
			},
		};
		const broker = await brokerWith(Broken, Widgets, Parts);
		try {
			await expect(broker.call("v1.k8s.widgets.create", { name: "b" }, alice)).resolves.toEqual({ id: "w-b" });
		} finally {
			await broker.stop();
		}
	});

	it("prunes what is older than the retention (AUDIT_RETENTION_DAYS, 90 days by default)", async () => {
		const broker = await brokerWith(AuditService as unknown as ServiceSchema);
		try {
			const day = 86_400_000;
			for (const daysAgo of [91, 89]) await broker.call("v1.audit.record", { at: new Date(Date.now() - daysAgo * day).toISOString(), actor: "alice", via: "mesh", action: "v1.k8s.widgets.create", status: 201 });
			const service = broker.getLocalService("v1.audit") as unknown as { pruneExpired(): Promise<number> };
			expect(await service.pruneExpired()).toBe(1);
			const left = await broker.call<AuditRecord[], object>("v1.audit.list", {}, platformAdmin);
			expect(left).toHaveLength(1);
			expect(Date.parse(left[0].at)).toBeGreaterThan(Date.now() - 90 * day);
		} finally {
			await broker.stop();
		}
	});
});
