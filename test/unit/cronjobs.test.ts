import { ServiceBroker } from "moleculer";
import { createCronJobParams } from "../../lib/api/cronjobs";
import { createJobParams } from "../../lib/api/jobs";
import { strictParams } from "../../lib/api/rules";
import { checkSchedule, cronJobFor, INSTANTIATE_ANNOTATION, scheduleError, timeZoneError, triggeredJobFor, triggeredName, type CronRun } from "../../lib/jobs/cron";
import { beyondKept, newRun } from "../../lib/jobs/runs";
import type { V1CronJob } from "../../lib/k8s";
import { jobFor } from "../../lib/manifests/job";
import { buildOpenApi, isStrict } from "../../lib/openapi";
import { BerthValidator, nameUnknownFields } from "../../lib/validator";

const run: CronRun = {
	id: "cron-1",
	name: "0b6f3a52-5c1e-4c39-9d4f-6a3f0c8f1e27",
	command: ["sh", "-c", "date"],
	image: "python:3.12-slim",
	env: [],
	resources: { requests: { cpu: "100m", memory: "128Mi" }, limits: { cpu: "500m", memory: "512Mi" } },
	timeoutSeconds: 600,
	backoffLimit: 0,
	ttlSecondsAfterFinished: 3600,
	schedule: "*/5 * * * *",
	timeZone: "Europe/Paris",
	suspend: false,
	concurrencyPolicy: "Forbid",
};

describe("a schedule", () => {
	it.each(["* * * * *", "*/15 * * * *", "0 3 * * 1-5", "0,30 8-18/2 1,15 JAN-jun MON-FRI", "5 4 ? * sun", "10/5 * * * *", "@hourly", "@DAILY", "0 0 31 12 6", "  0 0 * * *  "])("accepts %j", s => {
		expect(scheduleError(s)).toBeUndefined();
	});

	it.each([
		["", /empty/],
		["* * * *", /5 fields.*not 4/],
		["* * * * * *", /not 6/],
		["60 * * * *", /minute.*60 is outside 0-59/],
		["* 24 * * *", /hour.*outside 0-23/],
		["* * 0 * *", /day of month.*outside 1-31/],
		["* * * 13 *", /month.*outside 1-12/],
		["* * * * 7", /day of week.*outside 0-6/],
		["*/0 * * * *", /step/],
		["5-1 * * * *", /backwards/],
		["1-2-3 * * * *", /not a value or a range/],
		["? * * * *", /not a number/],
		["* * * FOO *", /not a number or a name/],
		["@every 5m", /Unknown macro/],
		["@reboot", /Unknown macro/],
		["CRON_TZ=UTC * * * * *", /timeZone/],
		["*/99 * * * *", /larger than the range/],
	])("refuses %j", (s, message) => {
		expect(scheduleError(s)).toMatch(message);
	});

	it("is a 422 naming schedule or timeZone", () => {
		expect(() => checkSchedule({ schedule: "61 * * * *" })).toThrow(expect.objectContaining({ code: 422, type: "VALIDATION_ERROR", data: [expect.objectContaining({ field: "schedule" })] }));
		expect(() => checkSchedule({ schedule: "* * * * *", timeZone: "Mars/Olympus" })).toThrow(expect.objectContaining({ code: 422, data: [expect.objectContaining({ field: "timeZone" })] }));
		expect(() => checkSchedule({ schedule: "* * * * *", timeZone: "UTC" })).not.toThrow();
	});
});

describe("a time zone", () => {
	it.each(["UTC", "Europe/Paris", "America/Argentina/Buenos_Aires", "Etc/GMT+5"])("accepts %j", z => expect(timeZoneError(z)).toBeUndefined());
	it.each(["Mars/Olympus", "+01:00", "utc offset", "", "Europe/../Paris"])("refuses %j", z => expect(timeZoneError(z)).toBeDefined());
});

describe("the CronJob manifest", () => {
	const cron = cronJobFor(run, "team-a");

	it("is the entity's, labelled as a cronjob (never as a job of v1.k8s.jobs)", () => {
		expect(cron).toMatchObject({ apiVersion: "batch/v1", kind: "CronJob", metadata: { name: run.name, namespace: "team-a" } });
		for (const labels of [cron.metadata!.labels, cron.spec!.jobTemplate.metadata!.labels, cron.spec!.jobTemplate.spec!.template.metadata!.labels])
			expect(labels).toMatchObject({ "app.kubernetes.io/managed-by": "berth", "app.kubernetes.io/component": "cronjob", "berth.dev/id": "cron-1" });
		expect(cron.spec!.jobTemplate.metadata!.annotations).toMatchObject({ "berth.dev/id": "cron-1" });
	});

	it("runs on the schedule in the zone, without overlap, and skips runs missed by long", () => {
		expect(cron.spec).toMatchObject({ schedule: "*/5 * * * *", timeZone: "Europe/Paris", suspend: false, concurrencyPolicy: "Forbid", startingDeadlineSeconds: 300 });
		expect(cronJobFor({ ...run, timeZone: undefined, suspend: true }, "team-a").spec).not.toHaveProperty("timeZone");
		expect(cronJobFor({ ...run, suspend: true }, "team-a").spec!.suspend).toBe(true);
	});

	it("makes each run as a job of the same fields would be: deadline, retries, TTL, the pod's security", () => {
		const job = jobFor(run, "team-a");
		const spec = cron.spec!.jobTemplate.spec!;
		expect(spec).toMatchObject({ activeDeadlineSeconds: 600, backoffLimit: 0, ttlSecondsAfterFinished: 3600 });
		expect(spec.template.spec).toEqual(job.spec!.template.spec);
		expect(spec.template.spec!.securityContext).toBeDefined();
		expect(spec.template.spec!.automountServiceAccountToken).toBe(false);
	});

	it("a trigger's Job is the jobTemplate, owned by the CronJob and marked manual", () => {
		const live: V1CronJob = { ...cron, metadata: { ...cron.metadata, uid: "uid-1" } };
		const name = triggeredName(run.name, 1_700_000_000_000);
		expect(name.length).toBeLessThanOrEqual(63);
		const job = triggeredJobFor(live, name);
		expect(job.metadata).toMatchObject({ name, namespace: "team-a", ownerReferences: [{ kind: "CronJob", name: run.name, uid: "uid-1", controller: true }] });
		expect(job.metadata!.annotations![INSTANTIATE_ANNOTATION]).toBe("manual");
		expect(job.spec).toEqual(cron.spec!.jobTemplate.spec);
		expect(newRun(job, { id: "cron-1", namespace: "ns-1", namespaceName: "team-a", owner: "alice" })).toMatchObject({ kind: "run", cronJob: "cron-1", name, trigger: "manual", phase: "Pending" });
	});

	it("keeps the newest runs' records", () => {
		const runs = ["2026-01-03", "2026-01-01", "2026-01-02", "2026-01-04"].map((createdAt, i) => ({ id: `r${i}`, createdAt }));
		expect(beyondKept(runs, 2)).toEqual(["r1", "r2"]);
		expect(beyondKept(runs, 10)).toEqual([]);
	});
});

describe("strict params", () => {
	it("name each unknown field, nested ones by their path", () => {
		expect(nameUnknownFields([{ type: "objectStrict", message: "…", actual: "a, b" }, { type: "required", field: "x" }])).toEqual([
			expect.objectContaining({ type: "objectStrict", field: "a", actual: "a" }),
			expect.objectContaining({ type: "objectStrict", field: "b", actual: "b" }),
			{ type: "required", field: "x" },
		]);
		expect(nameUnknownFields([{ type: "objectStrict", field: "resources", actual: "gpu" }])[0].field).toBe("resources.gpu");
	});

	it("are a 422 VALIDATION_ERROR from a broker with the validator, the unknown field named", async () => {
		const broker = new ServiceBroker({ logger: false, validator: new BerthValidator() });
		broker.createService({ name: "t", actions: { make: { params: strictParams({ name: "string" }), handler: () => "ok" } } });
		await broker.start();
		try {
			await expect(broker.call("t.make", { name: "a" })).resolves.toBe("ok");
			await expect(broker.call("t.make", { name: "a", nmae: "b" })).rejects.toMatchObject({ code: 422, type: "VALIDATION_ERROR", data: [expect.objectContaining({ field: "nmae", type: "objectStrict" })] });
		} finally {
			await broker.stop();
		}
	});

	it("refuse a schedule on a job, pointing at /cronjobs; a cronjob takes it", () => {
		const v = new BerthValidator();
		const job = v.compile(strictParams(createJobParams)) as unknown as (p: unknown) => true | { field: string; message: string }[];
		const res = job({ namespace: "n", cmd: "true", schedule: "* * * * *" });
		expect(res).toEqual([expect.objectContaining({ field: "schedule", message: expect.stringContaining("/api/v1/k8s/cronjobs") })]);
		const cron = v.compile(createCronJobParams) as unknown as (p: unknown) => unknown;
		expect(cron({ namespace: "n", cmd: "true", schedule: "* * * * *" })).toBe(true);
	});

	it("are said in the OpenAPI document: additionalProperties false on the request body", () => {
		expect(isStrict(createCronJobParams)).toBe(true);
		const actions = new Map([
			["v1.x.create", { name: "v1.x.create", params: strictParams({ name: "string" }) }],
			["v1.x.poke", { name: "v1.x.poke", params: strictParams({ id: "string" }) }],
			["v1.x.loose", { name: "v1.x.loose", params: { name: "string" } }],
		]);
		const aliases = [
			{ method: "POST", fullPath: "/api/x", action: "v1.x.create" },
			{ method: "POST", fullPath: "/api/x/:id/poke", action: "v1.x.poke" },
			{ method: "POST", fullPath: "/loose", action: "v1.x.loose" },
		];
		const doc = buildOpenApi(aliases as never, actions as never, { title: "t", version: "1" } as never) as { paths: Record<string, Record<string, { requestBody?: { content: Record<string, { schema: Record<string, unknown> }> } }>> };
		const body = (path: string) => doc.paths[path].post.requestBody?.content["application/json"].schema;
		expect(body("/api/x")).toMatchObject({ additionalProperties: false, properties: { name: { type: "string" } } });
		expect(body("/api/x/{id}/poke")).toMatchObject({ type: "object", properties: {}, additionalProperties: false });
		expect(body("/loose")).not.toHaveProperty("additionalProperties");
	});
});
