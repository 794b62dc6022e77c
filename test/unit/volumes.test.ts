import { Errors, type ServiceBroker } from "moleculer";
import { setKubeClient, type V1PersistentVolumeClaim } from "../../lib/k8s";
import { pvcManifest } from "../../lib/manifests/volume";
import type { NamespaceEntity } from "../../lib/api/namespaces";
import NamespacesService from "../../services/k8s.namespaces.service";
import type { VolumeEntity } from "../../lib/api/volumes";
import VolumesService from "../../services/k8s.volumes.service";
import { eventually } from "../helpers/eventually";
import { FakeKube, startFakeNode } from "./namespaces.fakes";

const alice = { meta: { userID: "alice" } };
const bob = { meta: { userID: "bob" } };
const admin = { meta: { userID: "root", roles: ["admin"] } };

describe("pvcManifest", () => {
	it("builds a labelled claim, with a storage class only when one is named", () => {
		const pvc = pvcManifest({ id: "v1", name: "data", namespace: "team", size: "2Gi", accessModes: ["ReadWriteOnce"] });
		expect(pvc.metadata).toMatchObject({ name: "data", namespace: "team", labels: { "app.kubernetes.io/component": "volume", "berth.dev/id": "v1" }, annotations: { "berth.dev/id": "v1" } });
		expect(pvc.spec).toEqual({ accessModes: ["ReadWriteOnce"], resources: { requests: { storage: "2Gi" } } });
		expect(pvcManifest({ id: "v1", name: "d", namespace: "t", size: "1Gi", accessModes: ["ReadWriteMany"], storageClass: "fast" }).spec?.storageClassName).toBe("fast");
	});
});

describe("v1.k8s.volumes", () => {
	let kube: FakeKube;
	let broker: ServiceBroker;
	let ns: NamespaceEntity;
	const removedEvents: VolumeEntity[] = [];

	beforeEach(async () => {
		kube = new FakeKube();
		removedEvents.length = 0;
		const spy = { name: "spy", events: { "k8s.volumes.removed": (ctx: { params: VolumeEntity }) => void removedEvents.push(ctx.params) } };
		broker = await startFakeNode(kube, [NamespacesService, VolumesService, spy]);
		ns = await broker.call("v1.k8s.namespaces.create", { name: "team", quota: { storage: "10Gi" } }, alice);
	});
	afterEach(async () => {
		await broker.stop();
		setKubeClient(undefined);
	});

	const create = (params: Record<string, unknown>, opts: object = alice) =>
		broker.call<VolumeEntity, Record<string, unknown>>("v1.k8s.volumes.create", { namespace: ns.id, type: "persistentVolumeClaim", mountPath: "/var/www/html", ...params }, opts);

	it("creates a PVC as the seed calls it, and follows its status from the watch", async () => {
		const resolved = await broker.call<NamespaceEntity, object>("v1.k8s.namespaces.resolveName", { name: "team" });
		const options = { meta: { userID: resolved.owner } };
		const volume = await broker.call<VolumeEntity, object>("v1.k8s.volumes.create", { namespace: resolved.id, name: "my-app-nginx-php-data", type: "persistentVolumeClaim", mountPath: "/var/www/html" }, options);
		expect(volume).toMatchObject({ namespace: ns.id, name: "my-app-nginx-php-data", type: "persistentVolumeClaim", mountPath: "/var/www/html", size: "1Gi", accessModes: ["ReadWriteOnce"], owner: "alice", status: { phase: "Pending" } });
		expect(volume).not.toHaveProperty("key");
		expect(volume).not.toHaveProperty("namespaceName");
		const pvc = kube.peek("PersistentVolumeClaim", "my-app-nginx-php-data", "team") as V1PersistentVolumeClaim;
		expect(pvc.spec?.resources?.requests).toEqual({ storage: "1Gi" });
		kube.setStatus("PersistentVolumeClaim", "my-app-nginx-php-data", "team", { phase: "Bound", capacity: { storage: "1Gi" } });
		await eventually(async () => expect((await broker.call<VolumeEntity, object>("v1.k8s.volumes.get", { id: volume.id }, alice)).status).toEqual({ phase: "Bound", capacity: "1Gi" }));
	});

	it("accepts a namespace by name, sizes in Mi, access modes and a storage class", async () => {
		const volume = await create({ namespace: "team", name: "small", size: "500Mi", accessModes: ["ReadWriteMany"], storageClass: "standard" });
		expect(volume).toMatchObject({ namespace: ns.id, size: "500Mi", accessModes: ["ReadWriteMany"], storageClass: "standard" });
		expect((kube.peek("PersistentVolumeClaim", "small", "team") as V1PersistentVolumeClaim).spec).toMatchObject({ storageClassName: "standard", accessModes: ["ReadWriteMany"] });
	});

	it.each([["0Gi"], ["1000Gi"], ["1Ti"], ["1.5Gi"], ["10"], ["10gi"], ["01Gi"]])("refuses the size %p with 422 on size", async size => {
		await expect(create({ name: "bad-size", size })).rejects.toMatchObject({ code: 422, type: "VALIDATION_ERROR", data: [expect.objectContaining({ field: "size" })] });
		expect(kube.all("PersistentVolumeClaim")).toHaveLength(0);
	});

	it("accepts the size bounds 1Mi and 999Gi", async () => {
		await expect(create({ name: "tiny", size: "1Mi" })).resolves.toMatchObject({ size: "1Mi" });
		await broker.call("v1.k8s.namespaces.update", { id: ns.id, quota: { storage: "1Ti" } }, alice);
		await expect(create({ name: "huge", size: "999Gi" })).resolves.toMatchObject({ size: "999Gi" });
	});

	it("refuses invalid names, paths, types and access modes with the field", async () => {
		await expect(create({ name: "Bad_Name" })).rejects.toMatchObject({ code: 422, data: [expect.objectContaining({ field: "name" })] });
		await expect(create({ name: "ok", mountPath: "relative/path" })).rejects.toMatchObject({ code: 422, data: [expect.objectContaining({ field: "mountPath" })] });
		await expect(create({ name: "ok", type: "hostPath" })).rejects.toMatchObject({ code: 422, data: [expect.objectContaining({ field: "type" })] });
		await expect(create({ name: "ok", accessModes: ["WriteAll"] })).rejects.toMatchObject({ code: 422, data: [expect.objectContaining({ field: "accessModes[0]" })] });
		expect(kube.all("PersistentVolumeClaim")).toHaveLength(0);
	});

	it("refuses a duplicate name in one namespace, and a claim the cluster already has", async () => {
		await create({ name: "data" });
		await expect(create({ name: "data" })).rejects.toMatchObject({ code: 409, type: "CONFLICT" });
		kube.put({ apiVersion: "v1", kind: "PersistentVolumeClaim", metadata: { name: "external", namespace: "team" }, spec: {} });
		await expect(create({ name: "external" })).rejects.toMatchObject({ code: 409 });
		const other = await broker.call<NamespaceEntity, object>("v1.k8s.namespaces.create", { name: "other" }, alice);
		await expect(create({ namespace: other.id, name: "data" })).resolves.toMatchObject({ namespace: other.id });
	});

	it("refuses a volume that does not fit the storage quota, with the numbers", async () => {
		kube.setStatus("ResourceQuota", "berth-quota", "team", { hard: { "requests.storage": "10Gi" }, used: { "requests.storage": "9Gi" } });
		await expect(create({ name: "big", size: "2Gi" })).rejects.toMatchObject({ code: 422, type: "QUOTA_EXCEEDED", data: { resource: "requests.storage", requested: "2Gi", used: "9Gi", hard: "10Gi" } });
		await expect(create({ name: "fits", size: "1Gi" })).resolves.toMatchObject({ name: "fits" });
	});

	it("turns the apiserver's quota refusal into QUOTA_EXCEEDED and keeps no entity", async () => {
		kube.failApply = obj => (obj.kind === "PersistentVolumeClaim" ? new Errors.MoleculerError('persistentvolumeclaims "x" is forbidden: exceeded quota: berth-quota', 502, "K8S_FORBIDDEN") : undefined);
		await expect(create({ name: "refused" })).rejects.toMatchObject({ code: 422, type: "QUOTA_EXCEEDED" });
		expect(await broker.call("v1.k8s.volumes.count", {}, admin)).toBe(0);
		kube.failApply = () => new Errors.MoleculerRetryableError("cluster unreachable", 503, "K8S_UNAVAILABLE");
		await expect(create({ name: "refused" })).rejects.toMatchObject({ code: 503 });
		expect(await broker.call("v1.k8s.volumes.count", {}, admin)).toBe(0);
	});

	it("hides other tenants' volumes and namespaces as 404", async () => {
		const volume = await create({ name: "secret-data" });
		await expect(broker.call("v1.k8s.volumes.get", { id: volume.id }, bob)).rejects.toMatchObject({ code: 404 });
		await expect(broker.call("v1.k8s.volumes.remove", { id: volume.id }, bob)).rejects.toMatchObject({ code: 404 });
		await expect(create({ name: "intruder" }, bob)).rejects.toMatchObject({ code: 404 });
		expect(await broker.call("v1.k8s.volumes.find", {}, bob)).toEqual([]);
		await expect(broker.call("v1.k8s.volumes.find", { namespace: ns.id }, bob)).rejects.toMatchObject({ code: 404 });
		expect(kube.peek("PersistentVolumeClaim", "secret-data", "team")).toBeDefined();
	});

	it("lets the namespace's people see volumes made in it, by their role at each call", async () => {
		await broker.call("v1.k8s.namespaces.addMember", { id: ns.id, member: "bob" }, alice);
		const volume = await create({ name: "bobs" }, bob);
		// Nothing of the namespace's membership is copied onto the volume.
		expect(volume).toMatchObject({ owner: "bob", members: [] });
		await expect(broker.call("v1.k8s.volumes.get", { id: volume.id }, alice)).resolves.toMatchObject({ name: "bobs" });
		await broker.call("v1.k8s.namespaces.addMember", { id: ns.id, member: "bob", role: "view" }, alice);
		await expect(broker.call("v1.k8s.volumes.remove", { id: volume.id }, bob)).rejects.toMatchObject({ code: 403 });
		await broker.call("v1.k8s.namespaces.removeMember", { id: ns.id, member: "bob" }, alice);
		await expect(broker.call("v1.k8s.volumes.get", { id: volume.id }, bob)).rejects.toMatchObject({ code: 404 });
		await expect(broker.call("v1.k8s.volumes.remove", { id: volume.id }, bob)).rejects.toMatchObject({ code: 404 });
		await expect(broker.call("v1.k8s.volumes.transfer", { id: volume.id, owner: "bob" }, bob)).rejects.toMatchObject({ code: 404 });
	});

	it("lists by namespace", async () => {
		const other = await broker.call<NamespaceEntity, object>("v1.k8s.namespaces.create", { name: "other" }, alice);
		await create({ name: "a" });
		await create({ namespace: other.id, name: "b" });
		expect((await broker.call<VolumeEntity[], object>("v1.k8s.volumes.find", { namespace: "other" }, alice)).map(v => v.name)).toEqual(["b"]);
		expect(await broker.call<VolumeEntity[], object>("v1.k8s.volumes.list", {}, alice)).toHaveLength(2);
		expect((await broker.call<VolumeEntity[], object>("v1.k8s.volumes.list", { namespace: other.id }, alice)).map(v => v.name)).toEqual(["b"]);
		expect(await broker.call<VolumeEntity[], object>("v1.k8s.volumes.list", {}, bob)).toEqual([]);
		const confined = { meta: { userID: "alice", namespaces: ["team"] } };
		expect((await broker.call<VolumeEntity[], object>("v1.k8s.volumes.find", {}, confined)).map(v => v.name)).toEqual(["a"]);
	});

	it("refuses to remove a volume a Deployment mounts, then removes claim and entity", async () => {
		const volume = await create({ name: "shared" });
		kube.put({
			apiVersion: "apps/v1",
			kind: "Deployment",
			metadata: { name: "web", namespace: "team" },
			spec: { selector: {}, template: { spec: { containers: [], volumes: [{ name: "d", persistentVolumeClaim: { claimName: "shared" } }] } } },
		});
		await expect(broker.call("v1.k8s.volumes.remove", { id: volume.id }, alice)).rejects.toMatchObject({ code: 409, type: "CONFLICT", data: { deployments: ["web"], pods: [] } });
		expect(kube.peek("PersistentVolumeClaim", "shared", "team")).toBeDefined();
		await kube.delete({ apiVersion: "apps/v1", kind: "Deployment", name: "web", namespace: "team" });
		await expect(broker.call("v1.k8s.volumes.remove", { id: volume.id }, alice)).resolves.toMatchObject({ id: volume.id });
		expect(kube.peek("PersistentVolumeClaim", "shared", "team")).toBeUndefined();
		await expect(broker.call("v1.k8s.volumes.get", { id: volume.id }, alice)).rejects.toMatchObject({ code: 404 });
		expect(removedEvents.map(v => v.id)).toContain(volume.id);
	});

	it("counts a running standalone pod as a mount, but not a finished one", async () => {
		const volume = await create({ name: "job-data" });
		const pod = { apiVersion: "v1", kind: "Pod", metadata: { name: "once", namespace: "team" }, spec: { containers: [], volumes: [{ name: "d", persistentVolumeClaim: { claimName: "job-data" } }] } };
		kube.put({ ...pod, status: { phase: "Running" } });
		await expect(broker.call("v1.k8s.volumes.remove", { id: volume.id }, alice)).rejects.toMatchObject({ code: 409, data: { pods: ["once"] } });
		kube.setStatus("Pod", "once", "team", { phase: "Succeeded" });
		await expect(broker.call("v1.k8s.volumes.remove", { id: volume.id }, alice)).resolves.toMatchObject({ id: volume.id });
	});

	it("forgets a namespace's volumes when the namespace is removed", async () => {
		const volume = await create({ name: "doomed" });
		await broker.call("v1.k8s.namespaces.remove", { id: ns.id }, alice);
		await eventually(async () => expect(await broker.call("v1.k8s.volumes.count", {}, admin)).toBe(0));
		expect(removedEvents.map(v => v.id)).toContain(volume.id);
	});

	it("marks a claim deleted behind Berth's back as Missing", async () => {
		const volume = await create({ name: "vanishing" });
		await kube.delete({ apiVersion: "v1", kind: "PersistentVolumeClaim", name: "vanishing", namespace: "team" });
		await eventually(async () => expect((await broker.call<VolumeEntity, object>("v1.k8s.volumes.get", { id: volume.id }, alice)).status).toEqual({ phase: "Missing", capacity: null }));
	});

	it("offers no update", async () => {
		const volume = await create({ name: "fixed" });
		await expect(broker.call("v1.k8s.volumes.update", { id: volume.id, size: "5Gi" }, alice)).rejects.toMatchObject({ name: "ServiceNotFoundError" });
	});
});
