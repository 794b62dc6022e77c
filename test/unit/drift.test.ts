import { bodyOf, containsDesired, manifestsFingerprint } from "../../lib/manifests/drift";

describe("drift between desired manifests and live objects", () => {
	const desired = {
		apiVersion: "apps/v1",
		kind: "Deployment",
		metadata: { name: "web", labels: { app: "web" } },
		spec: { replicas: 2, template: { spec: { containers: [{ name: "web", image: "nginx:1.27", ports: [{ containerPort: 80 }] }] } } },
	};
	const live = {
		metadata: { name: "web", uid: "u1", resourceVersion: "7", labels: { app: "web", extra: "by-someone" } },
		spec: { replicas: 2, progressDeadlineSeconds: 600, template: { spec: { containers: [{ name: "web", image: "nginx:1.27", ports: [{ containerPort: 80, protocol: "TCP" }] }] } } },
		status: { readyReplicas: 2 },
	};

	it("finds a live object that holds everything asked for, whatever was added", () => {
		expect(containsDesired(bodyOf(desired), live)).toBe(true);
	});

	it("sees a changed value, a missing field, a list of another length and a value the apiserver rewrote", () => {
		expect(containsDesired(bodyOf(desired), { ...live, spec: { ...live.spec, replicas: 5 } })).toBe(false);
		expect(containsDesired(bodyOf(desired), { ...live, metadata: { name: "web" } })).toBe(false);
		const twoContainers = { ...live.spec.template.spec.containers[0] };
		expect(containsDesired(bodyOf(desired), { ...live, spec: { ...live.spec, template: { spec: { containers: [twoContainers, { name: "sidecar" }] } } } })).toBe(false);
		expect(containsDesired({ cpu: "0.5" }, { cpu: "500m" })).toBe(false);
		expect(containsDesired({ a: null }, {})).toBe(true);
		expect(containsDesired({ a: null }, { a: 1 })).toBe(false);
		expect(containsDesired(bodyOf(desired), undefined)).toBe(false);
	});

	it("fingerprints manifests independently of key order, and tells changes apart", () => {
		const reordered = { kind: "Deployment", metadata: { labels: { app: "web" }, name: "web" }, spec: desired.spec, apiVersion: "apps/v1" };
		expect(manifestsFingerprint([desired])).toBe(manifestsFingerprint([reordered]));
		expect(manifestsFingerprint([desired])).not.toBe(manifestsFingerprint([{ ...desired, spec: { ...desired.spec, replicas: 3 } }]));
		expect(manifestsFingerprint([desired])).toMatch(/^[A-Za-z0-9_-]{22}$/);
	});
});
