import type { V1PersistentVolumeClaim } from "../../lib/k8s";
import { specManifests } from "../../lib/manifests/spec";
import { checkVolumes, validateSpec } from "../../lib/specs/checks";
import { DEFAULT_GPU_OPTIONS } from "../../lib/specs/parse";
import { checkDeployQuota, deployNeed, type QuotaReads } from "../../lib/specs/quota";
import { slugOf } from "../../lib/specs/references";
import { newService, serviceView, targetOf, type StoredService } from "../../lib/specs/store";

const YAML = `containers:
  - name: web
    image: nginx:1.27
    ports:
      - port: 80
    volumeMounts:
      - name: data
        mountPath: /data
volumes:
  - name: data
    size: 2Gi
`;

const stored: StoredService = {
	id: "s1",
	name: "My Web",
	namespace: "n1",
	namespaceName: "team",
	deployment: YAML,
	exposed_service: "web",
	exposed_port: 80,
	resourceName: "my-web",
	owner: "alice",
	members: [],
	createdAt: "2026-01-01T00:00:00.000Z",
	updatedAt: "2026-01-01T00:00:00.000Z",
};

const build = { gpuOptions: DEFAULT_GPU_OPTIONS, baseDomain: "example.test" };
const spec = validateSpec(YAML, "web", 80, DEFAULT_GPU_OPTIONS);
const manifests = specManifests(targetOf(stored), spec, build);

function claim(name: string, storage: string, deleting = false): V1PersistentVolumeClaim {
	return { metadata: { name, ...(deleting ? { deletionTimestamp: new Date() } : {}) }, spec: { resources: { requests: { storage } } } };
}

describe("lib/specs/store", () => {
	it("views a stored service: not deployed, no host", () => {
		expect(serviceView(stored, "example.test")).toMatchObject({ id: "s1", deployed: false, deployedAt: null, host: null, pendingChanges: false });
	});

	it("views a deployed service: its host while exposed, and whether it changed since", () => {
		const applied = { deployment: YAML, exposed_service: "web", exposed_port: 80, at: "2026-01-02T00:00:00.000Z", footprint: [] };
		expect(serviceView({ ...stored, applied }, "example.test")).toMatchObject({ deployed: true, deployedAt: applied.at, host: "my-web.team.example.test", pendingChanges: false });
		expect(serviceView({ ...stored, exposed_port: null, applied }, "example.test").pendingChanges).toBe(true);
	});

	it("records its creator and copies nothing of the namespace's membership (access is the namespace's, at each call)", () => {
		const doc = newService({ name: "x", namespace: "team", deployment: YAML }, { id: "n1", name: "team", owner: "bob", members: ["alice", "carol"] }, "x", "alice");
		expect(doc).toMatchObject({ owner: "alice", members: [], exposed_service: null, exposed_port: null, applied: null, teardown: null });
		expect(doc).not.toHaveProperty("externalId");
	});
});

describe("lib/specs/references slugOf", () => {
	it("makes a DNS-1035 label of free text", () => {
		expect(slugOf("My NGINX Service")).toBe("my-nginx-service");
		expect(slugOf("Çafé  déjà")).toBe("cafe-deja");
		expect(slugOf("42 things")).toBe("svc-42-things");
		expect(slugOf("!!!")).toBe("svc");
	});
});

describe("lib/specs/checks checkVolumes", () => {
	it("refuses a claim that would shrink, naming the YAML path", () => {
		expect(() => checkVolumes(spec, manifests, [claim("my-web-data", "5Gi")])).toThrow(expect.objectContaining({ code: 422, data: [expect.objectContaining({ field: "volumes[0].size" })] }));
	});

	it("answers 409 while a claim of the spec is being deleted", () => {
		expect(() => checkVolumes(spec, manifests, [claim("my-web-data", "2Gi", true)])).toThrow(expect.objectContaining({ code: 409 }));
	});

	it("lets a claim stay or grow", () => {
		expect(() => checkVolumes(spec, manifests, [claim("my-web-data", "1Gi")])).not.toThrow();
	});
});

describe("lib/specs/quota", () => {
	it("counts the new pod over the running one, and the claims' growth", () => {
		const need = deployNeed({ pods: 1, cpu: 100 }, { pods: 1, cpu: 100 }, manifests, [claim("my-web-data", "1Gi")]);
		expect(need).toEqual({ pods: 0, cpu: 0, "requests.storage": 2 ** 30 });
		expect(deployNeed({ pods: 1 }, {}, manifests, [])).toEqual({ pods: 1, "requests.storage": 2 * 2 ** 30, persistentvolumeclaims: 1 });
	});

	it("reads nothing more when the namespace has no quota", async () => {
		const reads: QuotaReads = { quota: async () => undefined, runningFootprint: jest.fn(), bookedByOthers: jest.fn() };
		await expect(checkDeployQuota(reads, "team", manifests, [])).resolves.toMatchObject({ pods: 1 });
		expect(reads.runningFootprint).not.toHaveBeenCalled();
		expect(reads.bookedByOthers).not.toHaveBeenCalled();
	});

	it("counts the others' bookings as used, and says by how much the quota is exceeded", async () => {
		const reads: QuotaReads = { quota: async () => ({ hard: { pods: "2" }, used: { pods: "0" } }), runningFootprint: async () => undefined, bookedByOthers: async () => ({ pods: 2 }) };
		await expect(checkDeployQuota(reads, "team", manifests, [])).rejects.toMatchObject({
			code: 422,
			type: "QUOTA_EXCEEDED",
			message: 'The quota of namespace "team" cannot hold this service (pods: needs 1 more, 2 of 2 used, exceeds it by 1)',
			data: { namespace: "team", shortfalls: [{ resource: "pods", requested: "1", used: "2", hard: "2", exceededBy: "1" }] },
		});
	});
});
