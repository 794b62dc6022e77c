import { checkRemovable, listFilter, type Caller } from "../../lib/applications/access";
import { checkTemplate, endEvent, endMessage, isAppId, newInstance, type TemplateImage } from "../../lib/applications/checks";
import { DEFAULT_POLICY } from "../../lib/applications/culling";
import { checkOwnerLimit, checkQuota } from "../../lib/applications/limits";
import type { StoredApplication } from "../../lib/applications/store";
import { applicationView, binderView } from "../../lib/applications/views";

const image = {
	id: "img1",
	name: "notebook",
	description: "A notebook",
	image: "jupyter/base-notebook:latest",
	launchable: true,
	public: true,
	ports: [{ name: "http", port: 8888, protocol: "TCP" }],
	env: [],
	volumes: [],
	resources: { limits: { cpu: 1000, memory: 512 }, requests: { cpu: 100, memory: 256 } },
} as unknown as TemplateImage;

function instance(over: Partial<StoredApplication> = {}, at = "2026-01-01T00:00:00.000Z"): StoredApplication {
	return { id: "db", ...newInstance(image, "berth-apps", "a".repeat(32), "alice", at), ...over };
}

const caller = (over: Partial<Caller> = {}): Caller => ({ signedIn: true, privileged: false, mayAccess: () => true, ...over });

describe("applications: pure rules", () => {
	it("takes only 32 hex characters as an instance id", () => {
		expect(isAppId("0123456789abcdef0123456789abcdef")).toBe(true);
		expect(isAppId("0123456789ABCDEF0123456789ABCDEF")).toBe(false);
		expect(isAppId("../etc")).toBe(false);
	});

	it("launches public templates without a key, others only with one; never a non-launchable image", () => {
		expect(checkTemplate(image, "notebook", false)).toBe(image);
		expect(() => checkTemplate({ ...image, public: false }, "notebook", false)).toThrow(expect.objectContaining({ code: 401 }));
		expect(checkTemplate({ ...image, public: false }, "notebook", true).name).toBe("notebook");
		expect(() => checkTemplate({ ...image, launchable: false, public: false }, "nginx", true)).toThrow(expect.objectContaining({ code: 404 }));
	});

	it("stores a launch as pending, owned by the caller or by anonymous, with the catalog entry it ran", () => {
		const mine = newInstance(image, "berth-apps", "a".repeat(32), "alice");
		expect(mine).toMatchObject({ status: "pending", owner: "alice", anonymous: false, template: "notebook", templateId: "img1", location: null, cleanup: "none" });
		expect(mine.spec).not.toHaveProperty("description");
		expect(mine.footprint).toEqual(expect.arrayContaining([{ resource: "limits.cpu", amount: 1000 }, { resource: "pods", amount: 1 }]));
		expect(newInstance(image, "berth-apps", "b".repeat(32), undefined)).toMatchObject({ owner: "anonymous", anonymous: true });
	});

	it("tells ends apart: culls, failures and deletions", () => {
		expect(endEvent({ status: "deleted", reason: "idle" })).toBe("culled");
		expect(endEvent({ status: "deleted", reason: "max-age" })).toBe("culled");
		expect(endEvent({ status: "deleted", reason: "requested" })).toBe("deleted");
		expect(endEvent({ status: "failed", reason: "start-timeout" })).toBe("failed");
		expect(endMessage({ action: "cull", reason: "idle" }, DEFAULT_POLICY)).toBe("No activity for 3600 s");
		expect(endMessage({ action: "fail", reason: "start-timeout" }, DEFAULT_POLICY)).toBe("Not Ready within 600 s of the launch");
	});

	it("shows a pending instance as deploying, with the binder's fields", () => {
		const doc = instance();
		expect(binderView(doc)).toEqual({ id: doc.appId, "template-name": "notebook", location: null, status: "deploying" });
		expect(applicationView(doc, DEFAULT_POLICY)).toMatchObject({ owner: "alice", namespace: "berth-apps", cullAt: "2026-01-01T01:00:00.000Z" });
		expect(applicationView({ ...doc, status: "deleted", cleanup: "pending" }, DEFAULT_POLICY)).toMatchObject({ terminating: true });
		expect(applicationView({ ...doc, status: "deleted" }, DEFAULT_POLICY)).not.toHaveProperty("cullAt");
	});

	it("counts only the owner's instances launched earlier against APPS_MAX_PER_OWNER", () => {
		const first = instance({ appId: "1".repeat(32), status: "running" }, "2026-01-01T00:00:00.000Z");
		const second = instance({ appId: "2".repeat(32) }, "2026-01-01T00:00:01.000Z");
		const someoneElse = instance({ appId: "3".repeat(32), owner: "bob", status: "running" }, "2026-01-01T00:00:00.000Z");
		expect(() => checkOwnerLimit([first, second, someoneElse], first, 1)).not.toThrow();
		expect(() => checkOwnerLimit([first, second, someoneElse], second, 1)).toThrow(
			expect.objectContaining({ code: 422, type: "QUOTA_EXCEEDED", message: expect.stringContaining("alice already has 1 instance deploying or running"), data: { limit: "APPS_MAX_PER_OWNER", max: 1, active: 1 } }),
		);
	});

	it("refuses what the quota cannot hold, others' bookings as a floor, cpu in millicores", () => {
		const booked = instance({ appId: "1".repeat(32), status: "running", footprint: [{ resource: "limits.cpu", amount: 1500 }] });
		const doc = instance({ appId: "2".repeat(32) });
		const quota = { hard: { "limits.cpu": "2" }, used: { "limits.cpu": "500m" } };
		expect(() => checkQuota(quota, [booked, doc], doc)).toThrow(
			expect.objectContaining({
				code: 422,
				message: 'The applications namespace\'s quota cannot hold another "notebook" instance (limits.cpu: needs 1000m more, 1500m of 2000m already used)',
				data: { namespace: "berth-apps", shortfalls: [{ resource: "limits.cpu", requested: "1000m", used: "1500m", hard: "2000m" }] },
			}),
		);
		expect(() => checkQuota({ hard: { "limits.cpu": "4" } }, [booked, doc], doc)).not.toThrow();
		expect(() => checkQuota({}, [booked, doc], doc)).not.toThrow();
	});

	it("lets anyone with the id see an anonymous instance, but only the privileged end one or list them", () => {
		const anon = instance({ owner: "anonymous", anonymous: true });
		expect(() => checkRemovable(caller(), anon)).toThrow(expect.objectContaining({ code: 404 }));
		expect(() => checkRemovable(caller({ privileged: true }), anon)).not.toThrow();
		expect(() => checkRemovable(caller(), instance())).not.toThrow();
		expect(listFilter(caller(), { template: "x" })).toEqual({ $and: [{ template: "x" }, { anonymous: { $ne: true } }] });
		expect(listFilter(caller({ privileged: true }), { template: "x" })).toEqual({ template: "x" });
		expect(listFilter(caller({ confinedTo: ["team"] }), {})).toEqual({ $and: [{}, { anonymous: { $ne: true } }, { namespaceName: { $in: ["team"] } }] });
		expect(() => listFilter(caller({ signedIn: false }), {})).toThrow(expect.objectContaining({ code: 401 }));
	});
});
