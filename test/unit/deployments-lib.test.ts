import { deploymentShortfalls, quotaMessage } from "../../lib/deployments/checks";
import { changesOf, decodeDeployment, encodeChange, encodeDeployment, withChanges, type StoredDeployment } from "../../lib/deployments/store";
import { checkSize, envWrites, type StoredEnv } from "../../lib/envs/envs";

const base = {
	id: "d1",
	name: "web",
	namespace: "ns1",
	namespaceName: "team-a",
	image: "i1",
	imageName: "nginx",
	replicas: 1,
	vHosts: [],
	volumes: [],
	owner: "alice",
	members: [],
} as unknown as StoredDeployment;

describe("lib/deployments/store: the NeDB/MongoDB codec", () => {
	it("stores maps with dotted keys as entries and reads them back", () => {
		const doc = { ...base, configMap: { name: "site", data: { "default.conf": "x" } }, footprint: { "limits.cpu": 500, pods: 1 }, serviceAccount: {} };
		const stored = encodeDeployment(doc);
		expect(stored.configMap).toEqual({ name: "site", mountPath: undefined, files: [{ key: "default.conf", value: "x" }] });
		expect(stored.footprint).toEqual([{ resource: "limits.cpu", amount: 500 }, { resource: "pods", amount: 1 }]);
		expect(stored.serviceAccount).toEqual({ shared: false });
		expect(decodeDeployment(stored)).toEqual(doc);
	});

	it("clears a field with null, and an update's params become the stored changes", () => {
		expect(encodeChange({ configMap: undefined, serviceAccount: undefined })).toMatchObject({ configMap: null, serviceAccount: null });
		const changes = changesOf({ replicas: 3, vHosts: [], configMap: null });
		expect(changes).toEqual({ replicas: 3, vHosts: [], configMap: undefined });
		expect(withChanges({ ...base, configMap: { name: "c", data: {} } }, changes)).not.toHaveProperty("configMap");
	});
});

describe("lib/deployments/checks: the quota", () => {
	const quota = { hard: { "requests.cpu": "1", pods: "10" }, used: { "requests.cpu": "0", pods: "0" } };

	it("counts the namespace's other deployments as a floor under the reported usage", () => {
		const other = { ...base, id: "d2", replicas: 2, footprint: { "requests.cpu": 400, pods: 1 } };
		const shortfalls = deploymentShortfalls(quota, { ...base, replicas: 1 }, { "requests.cpu": 300, pods: 1 }, [other]);
		expect(shortfalls).toEqual([{ resource: "requests.cpu", requested: "300m", used: "800m", hard: "1000m" }]);
		expect(quotaMessage(shortfalls)).toBe("The namespace's quota cannot hold this deployment (requests.cpu: needs 300m more, 800m of 1000m already used)");
	});

	it("asks a scale only for the pods it adds", () => {
		const current = { ...base, replicas: 2, footprint: { "requests.cpu": 400, pods: 1 } };
		const used = { hard: quota.hard, used: { "requests.cpu": "800m", pods: "2" } };
		expect(deploymentShortfalls(used, { ...current, replicas: 2 }, current.footprint, [], current)).toEqual([]);
		expect(deploymentShortfalls(used, { ...current, replicas: 3 }, current.footprint, [], current)).toEqual([{ resource: "requests.cpu", requested: "400m", used: "800m", hard: "1000m" }]);
	});

	it("counts the deployment's own booked pods when the quota has not reported them yet", () => {
		// Two pods of 400m booked, none reported: a third would make 1200m of 1000m.
		const current = { ...base, replicas: 2, footprint: { "requests.cpu": 400, pods: 1 } };
		expect(deploymentShortfalls(quota, { ...current, replicas: 3 }, current.footprint, [], current)).toEqual([{ resource: "requests.cpu", requested: "400m", used: "800m", hard: "1000m" }]);
	});
});

describe("lib/envs: what an image's declarations and a caller's env write", () => {
	const env = (key: string, value: string, type: "as-is" | "secret" = "as-is") => ({ key, value: type === "secret" ? "" : value, secretValue: type === "secret" ? value : undefined, type }) as StoredEnv;

	it("keeps keys the deployment has, fills declared secrets with random values, and sets explicit ones on top", () => {
		const writes = envWrites([env("KEEP", "1")], [{ key: "KEEP", value: "0" }, { key: "PASSWORD", type: "secret" }, { key: "MODE", value: "dev" }], [{ key: "MODE", value: "prod" }, { key: "KEEP", value: "2" }]);
		expect(writes.map(w => [w.key, w.type, w.explicit, Boolean(w.current)])).toEqual([
			["PASSWORD", "secret", false, false],
			["MODE", "as-is", true, false],
			["KEEP", "as-is", true, true],
		]);
		expect(writes[0].value).toMatch(/^[A-Za-z0-9_-]{43}$/);
		expect(writes[1].value).toBe("prod");
	});

	it("refuses envs past 512 KiB in all", () => {
		expect(() => checkSize([env("A", "x".repeat(400 * 1024))], "B", "y".repeat(200 * 1024))).toThrow(/at most 524288 bytes/);
		expect(() => checkSize([env("A", "x".repeat(400 * 1024))], "A", "y".repeat(200 * 1024))).not.toThrow();
	});
});
