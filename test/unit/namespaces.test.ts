import { Errors, type ServiceBroker, type ServiceSchema } from "moleculer";
import { setKubeClient, type V1LimitRange, type V1Namespace, type V1ResourceQuota } from "../../lib/k8s";
import { DEFAULT_QUOTA, isSystemNamespace, limitRangeManifest, quotaHard } from "../../lib/manifests/namespace";
import type { NamespaceEntity } from "../../lib/api/namespaces";
import { resolveQuota } from "../../lib/namespaces/checks";
import NamespacesService from "../../services/k8s.namespaces.service";
import { eventually } from "../helpers/eventually";
import { FakeKube, startFakeNode } from "./namespaces.fakes";

const alice = { meta: { userID: "alice" } };
const bob = { meta: { userID: "bob" } };
const admin = { meta: { userID: "root", roles: ["admin"] } };

/** Records the events other services would react to. */
function spy(seen: { event: string; payload: NamespaceEntity }[]): ServiceSchema {
	const record = (event: string) => (ctx: { params: NamespaceEntity }) => void seen.push({ event, payload: ctx.params });
	return {
		name: "spy",
		events: {
			"k8s.namespaces.created": record("created"),
			"k8s.namespaces.updated": record("updated"),
			"k8s.namespaces.removed": record("removed"),
		},
	};
}

describe("namespace quota and names (pure)", () => {
	it("fills the default quota and keeps what the caller gives", () => {
		expect(resolveQuota(undefined)).toEqual({ quota: DEFAULT_QUOTA, errors: [] });
		expect(resolveQuota({ cpu: "500m", pods: 3 }).quota).toEqual({ ...DEFAULT_QUOTA, cpu: "500m", pods: 3 });
		expect(resolveQuota({ cpu: 2 }).quota.cpu).toBe("2");
	});

	it("names the quota field at fault", () => {
		expect(resolveQuota({ cpu: "lots" }).errors).toEqual([expect.objectContaining({ field: "quota.cpu" })]);
		expect(resolveQuota({ memory: "1" }).errors).toEqual([expect.objectContaining({ field: "quota.memory", type: "quantityMin" })]);
		expect(resolveQuota({ storage: "0Gi" }).errors).toEqual([expect.objectContaining({ field: "quota.storage" })]);
	});

	it("recognises system namespaces", () => {
		for (const name of ["default", "kube-system", "kube-anything", "berth"]) expect(isSystemNamespace(name)).toBe(true);
		expect(isSystemNamespace("team-a")).toBe(false);
	});

	it("never defaults a container above the quota", () => {
		const lr = limitRangeManifest({ id: "x", name: "small", owner: "o", quota: { ...DEFAULT_QUOTA, cpu: "200m", memory: "256Mi" } });
		expect(lr.spec?.limits[0]._default).toEqual({ cpu: "200m", memory: "256Mi" });
		expect(lr.spec?.limits[0].defaultRequest).toEqual({ cpu: "100m", memory: "128Mi" });
	});
});

describe("v1.k8s.namespaces", () => {
	let kube: FakeKube;
	let broker: ServiceBroker;
	const seen: { event: string; payload: NamespaceEntity }[] = [];

	beforeEach(async () => {
		kube = new FakeKube();
		seen.length = 0;
		broker = await startFakeNode(kube, [NamespacesService, spy(seen)]);
	});
	afterEach(async () => {
		await broker.stop();
		setKubeClient(undefined);
	});

	const create = (params: Record<string, unknown>, opts: object = alice) => broker.call<NamespaceEntity, Record<string, unknown>>("v1.k8s.namespaces.create", params, opts);

	it("creates the Namespace, its ResourceQuota and LimitRange, mapped back to the entity", async () => {
		const ns = await create({ name: "team-a", quota: { cpu: "1", memory: "2Gi", storage: "5Gi", pods: 10, gpu: 1 } });
		expect(ns).toMatchObject({ name: "team-a", owner: "alice", members: [], phase: "Active", uid: expect.any(String), quota: { cpu: "1", memory: "2Gi", storage: "5Gi", pods: 10, gpu: 1 } });
		const live = kube.peek("Namespace", "team-a") as V1Namespace;
		expect(live.metadata?.labels).toMatchObject({ "app.kubernetes.io/managed-by": "berth", "berth.dev/id": ns.id, "app.kubernetes.io/component": "namespace" });
		expect(live.metadata?.annotations).toMatchObject({ "berth.dev/id": ns.id, "berth.dev/kind": "namespace", "berth.dev/owner": "alice" });
		expect((kube.peek("ResourceQuota", "berth-quota", "team-a") as V1ResourceQuota).spec?.hard).toEqual({
			"requests.cpu": "1", "limits.cpu": "1", "requests.memory": "2Gi", "limits.memory": "2Gi", "requests.storage": "5Gi", pods: "10", "requests.nvidia.com/gpu": "1",
		});
		expect((kube.peek("LimitRange", "berth-limits", "team-a") as V1LimitRange).spec?.limits[0].type).toBe("Container");
		expect(seen.map(s => s.event)).toContain("created");
	});

	it("uses the default quota when none is given", async () => {
		const ns = await create({ name: "team-b" });
		expect(ns.quota).toEqual(DEFAULT_QUOTA);
		expect((kube.peek("ResourceQuota", "berth-quota", "team-b") as V1ResourceQuota).spec?.hard).toEqual(quotaHard(DEFAULT_QUOTA));
	});

	it.each([["Upper"], ["-lead"], ["trail-"], ["under_score"], ["a".repeat(64)], [""], ["dots.not.ok"]])("refuses the invalid name %p with 422 on name", async name => {
		await expect(create({ name })).rejects.toMatchObject({ code: 422, type: "VALIDATION_ERROR", data: expect.arrayContaining([expect.objectContaining({ field: "name" })]) });
		expect(kube.all("Namespace")).toHaveLength(0);
	});

	it.each([["default"], ["kube-system"], ["kube-mine"], ["berth"]])("refuses the system namespace %p with 422", async name => {
		await expect(create({ name })).rejects.toMatchObject({ code: 422, data: [expect.objectContaining({ field: "name", type: "reserved" })] });
	});

	it("refuses an invalid quota with the field, and unknown quota keys", async () => {
		await expect(create({ name: "q1", quota: { cpu: "lots" } })).rejects.toMatchObject({ code: 422, data: [expect.objectContaining({ field: "quota.cpu" })] });
		await expect(create({ name: "q1", quota: { pods: 0 } })).rejects.toMatchObject({ code: 422, data: [expect.objectContaining({ field: "quota.pods" })] });
		await expect(create({ name: "q1", quota: { disks: 3 } })).rejects.toMatchObject({ code: 422 });
		expect(kube.all("Namespace")).toHaveLength(0);
	});

	it("refuses a duplicate name, and a name the cluster already has", async () => {
		await create({ name: "dup" });
		await expect(create({ name: "dup" }, bob)).rejects.toMatchObject({ code: 409, type: "CONFLICT" });
		kube.put({ apiVersion: "v1", kind: "Namespace", metadata: { name: "someone-elses" } });
		await expect(create({ name: "someone-elses" })).rejects.toMatchObject({ code: 409, type: "CONFLICT" });
		expect(await broker.call("v1.k8s.namespaces.count", {}, admin)).toBe(1);
	});

	it("leaves nothing behind when the cluster refuses part of it", async () => {
		kube.failApply = obj => (obj.kind === "LimitRange" ? new Errors.MoleculerClientError("LimitRange is invalid", 422, "K8S_INVALID", [{ field: "spec.limits" }]) : undefined);
		await expect(create({ name: "half" })).rejects.toMatchObject({ code: 422, type: "K8S_INVALID" });
		expect(kube.peek("Namespace", "half")).toBeUndefined();
		expect(await broker.call("v1.k8s.namespaces.count", {}, admin)).toBe(0);
		kube.failApply = undefined;
		await expect(create({ name: "half" })).resolves.toMatchObject({ name: "half" });
	});

	it("hides other tenants' namespaces as 404 everywhere", async () => {
		const ns = await create({ name: "private" });
		for (const action of ["get", "update", "remove", "status", "resourcequota"]) {
			await expect(broker.call(`v1.k8s.namespaces.${action}`, { id: ns.id }, bob)).rejects.toMatchObject({ code: 404, type: "NOT_FOUND" });
		}
		await expect(broker.call("v1.k8s.namespaces.lookup", { ref: "private" }, bob)).rejects.toMatchObject({ code: 404 });
		await expect(broker.call("v1.k8s.namespaces.lookup", { ref: ns.id }, bob)).rejects.toMatchObject({ code: 404 });
		expect(await broker.call("v1.k8s.namespaces.find", {}, bob)).toEqual([]);
		expect(await broker.call("v1.k8s.namespaces.list", {}, bob)).toEqual([]);
		expect(await broker.call("v1.k8s.namespaces.list", { query: { name: "private" } }, bob)).toEqual([]);
		expect((await broker.call<NamespaceEntity[], object>("v1.k8s.namespaces.list", {}, alice)).map(n => n.name)).toEqual(["private"]);
		expect(kube.peek("Namespace", "private")).toBeDefined();
	});

	it("lets members read but only the owner change the quota or delete", async () => {
		const ns = await create({ name: "shared" });
		await broker.call("v1.k8s.namespaces.addMember", { id: ns.id, member: "bob" }, alice);
		await expect(broker.call("v1.k8s.namespaces.get", { id: ns.id }, bob)).resolves.toMatchObject({ name: "shared" });
		await expect(broker.call("v1.k8s.namespaces.lookup", { ref: "shared" }, bob)).resolves.toMatchObject({ id: ns.id });
		await expect(broker.call("v1.k8s.namespaces.update", { id: ns.id, quota: { pods: 99 } }, bob)).rejects.toMatchObject({ code: 403 });
		await expect(broker.call("v1.k8s.namespaces.remove", { id: ns.id }, bob)).rejects.toMatchObject({ code: 403 });
	});

	it("changes the quota in the cluster and the entity on update", async () => {
		const ns = await create({ name: "grow" });
		const updated = await broker.call<NamespaceEntity, object>("v1.k8s.namespaces.update", { id: ns.id, quota: { cpu: "4", pods: 50 } }, alice);
		expect(updated.quota).toEqual({ ...DEFAULT_QUOTA, cpu: "4", pods: 50 });
		expect((kube.peek("ResourceQuota", "berth-quota", "grow") as V1ResourceQuota).spec?.hard).toMatchObject({ "requests.cpu": "4", pods: "50" });
		expect(seen.filter(s => s.event === "updated").map(s => s.payload.quota?.pods)).toContain(50);
		await expect(broker.call("v1.k8s.namespaces.update", { id: ns.id, quota: { memory: "12 GB" } }, alice)).rejects.toMatchObject({ code: 422 });
		expect((await broker.call<NamespaceEntity, object>("v1.k8s.namespaces.get", { id: ns.id }, alice)).quota?.cpu).toBe("4");
	});

	it("keeps the entity when the cluster refuses an update", async () => {
		const ns = await create({ name: "stuck" });
		kube.failApply = () => new Errors.MoleculerRetryableError("cluster unreachable", 503, "K8S_UNAVAILABLE");
		await expect(broker.call("v1.k8s.namespaces.update", { id: ns.id, quota: { cpu: "8" } }, alice)).rejects.toMatchObject({ code: 503 });
		expect((await broker.call<NamespaceEntity, object>("v1.k8s.namespaces.get", { id: ns.id }, alice)).quota?.cpu).toBe(DEFAULT_QUOTA.cpu);
	});

	it("removes the Namespace from the cluster and emits k8s.namespaces.removed", async () => {
		const ns = await create({ name: "bye" });
		const removed = await broker.call<NamespaceEntity, object>("v1.k8s.namespaces.remove", { id: ns.id }, alice);
		expect(removed).toMatchObject({ id: ns.id, name: "bye" });
		expect(kube.peek("Namespace", "bye")).toBeUndefined();
		await expect(broker.call("v1.k8s.namespaces.get", { id: ns.id }, alice)).rejects.toMatchObject({ code: 404 });
		await eventually(() => expect(seen.find(s => s.event === "removed")?.payload).toMatchObject({ id: ns.id, name: "bye" }));
	});

	describe("a namespace deleted and made again outside Berth under the same name", () => {
		const recreate = async (name: string) => {
			await kube.delete({ apiVersion: "v1", kind: "Namespace", name });
			return kube.put({ apiVersion: "v1", kind: "Namespace", metadata: { name, labels: { team: "theirs" } } });
		};

		it("is neither claimed by an update nor given Berth's quota", async () => {
			const ns = await create({ name: "taken-over" });
			const theirs = await recreate("taken-over");
			await expect(broker.call("v1.k8s.namespaces.update", { id: ns.id, quota: { pods: 7 } }, alice)).rejects.toMatchObject({ code: 409, type: "CONFLICT" });
			expect(kube.peek("Namespace", "taken-over")).toEqual(theirs);
			expect(kube.peek("ResourceQuota", "berth-quota", "taken-over")).toBeUndefined();
		});

		it("is refused even when it carries a copy of Berth's annotation (another uid)", async () => {
			const ns = await create({ name: "copied" });
			const copy = { ...(kube.peek("Namespace", "copied") as V1Namespace) };
			await kube.delete({ apiVersion: "v1", kind: "Namespace", name: "copied" });
			kube.put({ apiVersion: "v1", kind: "Namespace", metadata: { ...copy.metadata, uid: undefined } });
			await expect(broker.call("v1.k8s.namespaces.update", { id: ns.id, quota: { pods: 7 } }, alice)).rejects.toMatchObject({ code: 409 });
			await broker.call("v1.k8s.namespaces.remove", { id: ns.id }, alice);
			expect(kube.peek("Namespace", "copied")).toBeDefined();
		});

		it("is not deleted when Berth's namespace entity is removed", async () => {
			const ns = await create({ name: "left-alone" });
			const theirs = await recreate("left-alone");
			await expect(broker.call("v1.k8s.namespaces.remove", { id: ns.id }, alice)).resolves.toMatchObject({ id: ns.id });
			expect(kube.peek("Namespace", "left-alone")).toEqual(theirs);
			await expect(broker.call("v1.k8s.namespaces.get", { id: ns.id }, alice)).rejects.toMatchObject({ code: 404 });
		});

		it("is not deleted by the cleanup of a create that lost the race for the name", async () => {
			// Free when the create checks, someone else's by the time it writes.
			kube.failApply = obj => (obj.kind === "Namespace" && !kube.peek("Namespace", "raced") ? (kube.put({ apiVersion: "v1", kind: "Namespace", metadata: { name: "raced" } }), undefined) : undefined);
			await expect(create({ name: "raced" })).rejects.toMatchObject({ code: 409 });
			expect(kube.peek("Namespace", "raced")?.metadata?.annotations).toBeUndefined();
			expect(await broker.call("v1.k8s.namespaces.count", {}, admin)).toBe(0);
		});
	});

	it("resolves names without a caller, as the seed does", async () => {
		const ns = await create({ name: "seeded" });
		await expect(broker.call("v1.k8s.namespaces.resolveName", { name: "seeded" })).resolves.toMatchObject({ id: ns.id, owner: "alice" });
		await expect(broker.call("v1.k8s.namespaces.resolveName", { name: "nope" })).rejects.toMatchObject({ code: 404 });
	});

	it("answers whether a name is available, and why not", async () => {
		await create({ name: "taken" });
		kube.put({ apiVersion: "v1", kind: "Namespace", metadata: { name: "foreign" } });
		const ask = (name: string) => broker.call<{ available: boolean; reason?: string }, object>("v1.k8s.namespaces.available", { name }, bob);
		expect(await ask("free")).toEqual({ name: "free", available: true });
		expect(await ask("taken")).toMatchObject({ available: false, reason: expect.stringContaining("already exists") });
		expect(await ask("foreign")).toMatchObject({ available: false, reason: expect.stringContaining("in the cluster") });
		expect(await ask("kube-x")).toMatchObject({ available: false, reason: expect.stringContaining("reserved") });
		expect(await ask("Not_Valid")).toMatchObject({ available: false, reason: expect.stringContaining("RFC 1123") });
	});

	it("reports status and the quota's hard and used from the cluster", async () => {
		const ns = await create({ name: "usage" });
		expect(await broker.call("v1.k8s.namespaces.status", { id: ns.id }, alice)).toMatchObject({ exists: true, phase: "Active", uid: ns.uid });
		kube.setStatus("ResourceQuota", "berth-quota", "usage", { hard: { pods: "20" }, used: { pods: "3" } });
		expect(await broker.call("v1.k8s.namespaces.resourcequota", { id: ns.id }, alice)).toEqual({ hard: { pods: "20" }, used: { pods: "3" } });
	});

	it("keeps phase and uid current from the watch", async () => {
		const ns = await create({ name: "watched" });
		kube.setStatus("Namespace", "watched", undefined, { phase: "Terminating" });
		await eventually(async () => expect((await broker.call<NamespaceEntity, object>("v1.k8s.namespaces.get", { id: ns.id }, alice)).phase).toBe("Terminating"));
		await kube.delete({ apiVersion: "v1", kind: "Namespace", name: "watched" });
		// The uid of the Namespace Berth made stays recorded: a namesake made later is not it.
		await eventually(async () => expect(await broker.call("v1.k8s.namespaces.get", { id: ns.id }, alice)).toMatchObject({ phase: "Missing", uid: ns.uid }));
		// update makes again what the entity describes, when nothing of that name is there
		const healed = await broker.call<NamespaceEntity, object>("v1.k8s.namespaces.update", { id: ns.id }, alice);
		expect(healed.phase).toBe("Active");
		expect(healed.uid).toEqual(kube.peek("Namespace", "watched")?.metadata?.uid);
	});

	it("confines keys limited to some namespaces", async () => {
		const a = await create({ name: "conf-a" });
		const b = await create({ name: "conf-b" });
		const confined = { meta: { userID: "alice", namespaces: ["conf-a"] } };
		expect((await broker.call<NamespaceEntity[], object>("v1.k8s.namespaces.find", {}, confined)).map(n => n.name)).toEqual(["conf-a"]);
		expect((await broker.call<NamespaceEntity[], object>("v1.k8s.namespaces.list", {}, confined)).map(n => n.name)).toEqual(["conf-a"]);
		await expect(broker.call("v1.k8s.namespaces.get", { id: a.id }, confined)).resolves.toMatchObject({ name: "conf-a" });
		await expect(broker.call("v1.k8s.namespaces.get", { id: b.id }, confined)).rejects.toMatchObject({ code: 404 });
		await expect(broker.call("v1.k8s.namespaces.lookup", { ref: "conf-b" }, confined)).rejects.toMatchObject({ code: 404 });
		await expect(create({ name: "conf-c" }, confined)).rejects.toMatchObject({ code: 403 });
		await expect(broker.call("v1.k8s.namespaces.addMember", { id: b.id, member: "carol" }, confined)).rejects.toMatchObject({ code: 404 });
	});

	it("cleans only the caller's own namespaces", async () => {
		await create({ name: "mine-1" });
		await create({ name: "mine-2" });
		const other = await create({ name: "theirs" }, bob);
		const { removed } = await broker.call<{ removed: string[] }, object>("v1.k8s.namespaces.clean", {}, alice);
		expect(removed).toHaveLength(2);
		expect(kube.all("Namespace").map(n => n.metadata?.name)).toEqual(["theirs"]);
		await expect(broker.call("v1.k8s.namespaces.get", { id: other.id }, bob)).resolves.toMatchObject({ name: "theirs" });
	});

	it("refuses callers without a user, except resolveName", async () => {
		await expect(broker.call("v1.k8s.namespaces.create", { name: "anon" })).rejects.toMatchObject({ code: 401 });
		await expect(broker.call("v1.k8s.namespaces.find", {})).rejects.toMatchObject({ code: 401 });
	});
});
