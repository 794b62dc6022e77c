import { loadConfig } from "../../lib/config";
import type { KubernetesObject, V1Namespace } from "../../lib/k8s";
import { ANNOTATION_ID } from "../../lib/manifests/labels";
import { WRITER_ANNOTATION, WRITER_BINDING_NAME, parseServiceAccount, writerBindingManifest, writerMark } from "../../lib/manifests/rbac";
import type { TenantPolicy } from "../../lib/manifests/security";
import { refreshPolicy, writeNamespace } from "../../lib/namespaces/identity";
import { applyWithWriterBinding, whileBindingSettles } from "../../lib/namespaces/writer";

const forbidden = () => Object.assign(new Error("forbidden"), { code: 502, type: "K8S_FORBIDDEN" });
const writer = { role: "berth-tenant-writer", serviceAccount: { namespace: "berth-system", name: "berth" } };
const policy: TenantPolicy = { podSecurityLevel: "baseline", ingressNamespace: "ingress-nginx", berthNamespace: "berth-system", egressExceptCidrs: [], writer };
const quota = { cpu: "1", memory: "1Gi", storage: "1Gi", pods: 5, gpu: 0 };
const entity = { id: "n1", name: "team-a", owner: "alice", uid: null, quota };

/** The Kubernetes boundary only: records what is applied, in order; `refuse` says which applies answer 403 (once each). */
function fakeKube(live?: V1Namespace, refuse: Set<string> = new Set()) {
	const applied: KubernetesObject[] = [];
	return {
		applied,
		kinds: () => applied.map(o => o.kind),
		get: async <T>() => live as T | undefined,
		create: async <T extends KubernetesObject>(obj: T) => ({ ...obj, metadata: { ...obj.metadata, uid: "uid-1" } }) as T,
		delete: async () => true,
		apply: async <T extends KubernetesObject>(obj: T) => {
			if (refuse.delete(obj.kind as string)) throw forbidden();
			applied.push(obj);
			return obj;
		},
	};
}

describe("RBAC settings", () => {
	it("defaults to the berth-tenant-writer role and no ServiceAccount (no binding)", () => {
		expect(loadConfig({}).tenantPolicy.writer).toEqual({ role: "berth-tenant-writer", serviceAccount: undefined });
		expect(loadConfig({ RBAC_ROLE: "my-writer", RBAC_SERVICE_ACCOUNT: "platform:berth" }).tenantPolicy.writer).toEqual({ role: "my-writer", serviceAccount: { namespace: "platform", name: "berth" } });
	});

	it("reads <namespace>:<name> and refuses anything else rather than starting without access", () => {
		expect(parseServiceAccount(" berth-system:berth ")).toEqual({ namespace: "berth-system", name: "berth" });
		expect(parseServiceAccount("")).toBeUndefined();
		for (const bad of ["berth", "berth-system:", ":berth", "a:b:c", "Berth:x", "ns:Bad_Name"]) expect(() => parseServiceAccount(bad)).toThrow(/RBAC_SERVICE_ACCOUNT must be <namespace>:<name>/);
		expect(() => loadConfig({ RBAC_SERVICE_ACCOUNT: "berth" })).toThrow(/RBAC_SERVICE_ACCOUNT/);
	});
});

describe("the writer RoleBinding (pure)", () => {
	it("binds the role to the ServiceAccount in the namespace, labelled and annotated as the namespace's", () => {
		const rb = writerBindingManifest({ id: "n1", name: "team-a" }, writer)!;
		expect(rb).toMatchObject({
			apiVersion: "rbac.authorization.k8s.io/v1",
			kind: "RoleBinding",
			metadata: { name: WRITER_BINDING_NAME, namespace: "team-a", labels: { "app.kubernetes.io/managed-by": "berth", "berth.dev/id": "n1" }, annotations: { [ANNOTATION_ID]: "n1" } },
			roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: "berth-tenant-writer" },
			subjects: [{ kind: "ServiceAccount", name: "berth", namespace: "berth-system" }],
		});
		expect(writerMark(writer)).toBe("berth-tenant-writer=berth-system:berth");
	});

	it("makes none without a ServiceAccount", () => {
		expect(writerBindingManifest({ id: "n1", name: "team-a" }, { role: "berth-tenant-writer" })).toBeUndefined();
		expect(writerBindingManifest({ id: "n1", name: "team-a" }, undefined)).toBeUndefined();
		expect(writerMark({ role: "berth-tenant-writer" })).toBeUndefined();
	});
});

describe("applying a namespace with its writer binding", () => {
	it("applies the binding right after the Namespace, before the quota, limits and NetworkPolicy", async () => {
		const kube = fakeKube();
		const { created } = await writeNamespace(kube, entity, policy);
		expect(created).toBe(true);
		expect(kube.kinds()).toEqual(["RoleBinding", "ResourceQuota", "LimitRange", "NetworkPolicy"]);
	});

	it("applies no binding without a ServiceAccount", async () => {
		const kube = fakeKube();
		await writeNamespace(kube, entity, { ...policy, writer: { role: "berth-tenant-writer" } });
		expect(kube.kinds()).toEqual(["ResourceQuota", "LimitRange", "NetworkPolicy"]);
	});

	it("writes again while the apiserver has not yet seen the new binding", async () => {
		const kube = fakeKube(undefined, new Set(["ResourceQuota"]));
		await applyWithWriterBinding(kube, { id: "n1", name: "team-a" }, policy, [{ apiVersion: "v1", kind: "ResourceQuota", metadata: { name: "q", namespace: "team-a" } }]);
		expect(kube.kinds()).toEqual(["RoleBinding", "ResourceQuota"]);
	});

	it("does not retry a 403 when it made no binding, nor other failures, nor beyond its attempts", async () => {
		const noBinding = fakeKube(undefined, new Set(["ResourceQuota"]));
		await expect(applyWithWriterBinding(noBinding, { id: "n1", name: "team-a" }, { writer: { role: "r" } }, [{ apiVersion: "v1", kind: "ResourceQuota", metadata: { name: "q" } }])).rejects.toMatchObject({ type: "K8S_FORBIDDEN" });
		const pause = jest.fn(async () => undefined);
		let calls = 0;
		await expect(whileBindingSettles(async () => { calls++; throw new Error("invalid"); }, 5, pause)).rejects.toThrow("invalid");
		expect(calls).toBe(1);
		await expect(whileBindingSettles(async () => { calls++; throw forbidden(); }, 3, pause)).rejects.toMatchObject({ type: "K8S_FORBIDDEN" });
		expect(calls).toBe(4);
		expect(pause).toHaveBeenCalledTimes(2);
	});

	it("binds again a namespace made before the binding (or under other settings), and leaves a bound one alone", async () => {
		const made = await writeNamespace(fakeKube(), entity, policy);
		const liveNs = { ...made.live, metadata: { ...made.live.metadata, annotations: { ...made.live.metadata?.annotations } } };
		expect(liveNs.metadata.annotations[WRITER_ANNOTATION]).toBe("berth-tenant-writer=berth-system:berth");

		const bound = fakeKube(liveNs);
		await refreshPolicy(bound, liveNs, { ...entity, uid: "uid-1" }, policy);
		expect(bound.applied).toEqual([]);

		const before = { ...liveNs, metadata: { ...liveNs.metadata, annotations: { [ANNOTATION_ID]: "n1" } } };
		const unbound = fakeKube(before);
		await refreshPolicy(unbound, before, { ...entity, uid: "uid-1" }, policy);
		expect(unbound.kinds()).toEqual(["Namespace", "RoleBinding", "ResourceQuota", "LimitRange", "NetworkPolicy"]);
	});
});
