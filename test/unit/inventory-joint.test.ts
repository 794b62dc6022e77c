import Validator from "fastest-validator";
import type { V1Deployment, V1Service } from "../../lib/k8s";
import { deploymentManifests, type CatalogImage, type DeploymentEntity } from "../../lib/manifests/deployment";
import {
	assignedNodePorts,
	configMountVolumes,
	jointManifests,
	jointParams,
	jointProblems,
	mountVolumeName,
	serviceAccountFor,
	withConfigMounts,
	withNodePorts,
	withServiceAccount,
	type JointSpec,
} from "../../lib/manifests/joint";

const image: CatalogImage = { id: "img", name: "nginx", image: "nginx:1.27", ports: [{ name: "http", port: 80 }] };
const dep = (joint: JointSpec = {}): DeploymentEntity & JointSpec => ({ id: "d1", name: "web", namespace: "n1", namespaceName: "shop", image: "img", replicas: 1, vHosts: [], volumes: [], owner: "u", members: [], ...joint });
const generated = () => deploymentManifests({ deployment: dep(), image }, "example.test");
const deploymentOf = (objs: { kind?: string }[]) => objs.find(o => o.kind === "Deployment") as V1Deployment;
const serviceOf = (objs: { kind?: string }[]) => objs.find(o => o.kind === "Service") as V1Service;

describe("ConfigMap and Secret mounts", () => {
	it("adds one volume per object and one mount per mount, read-only unless asked", () => {
		const { volumes, volumeMounts } = configMountVolumes([
			{ type: "configMap", name: "site", mountPath: "/etc/site" },
			{ type: "configMap", name: "site", mountPath: "/etc/nginx/nginx.conf", subPath: "nginx.conf" },
			{ type: "secret", name: "tls", mountPath: "/tls", readOnly: false, optional: true },
		]);
		expect(volumes).toEqual([
			{ name: "cm-site", configMap: { name: "site" } },
			{ name: "secret-tls", secret: { secretName: "tls", optional: true } },
		]);
		expect(volumeMounts).toEqual([
			{ name: "cm-site", mountPath: "/etc/site", readOnly: true },
			{ name: "cm-site", mountPath: "/etc/nginx/nginx.conf", subPath: "nginx.conf", readOnly: true },
			{ name: "secret-tls", mountPath: "/tls", readOnly: false },
		]);
	});

	it("names volumes as DNS labels whatever the object's name", () => {
		expect(mountVolumeName({ type: "configMap", name: "app" })).toBe("cm-app");
		const dotted = mountVolumeName({ type: "secret", name: "tls.example.com" });
		expect(dotted).toMatch(/^secret-tls-example-com-[0-9a-f]{8}$/);
		expect(mountVolumeName({ type: "secret", name: "tls-example.com" })).not.toBe(dotted);
		const long = mountVolumeName({ type: "configMap", name: "x".repeat(200) });
		expect(long.length).toBeLessThanOrEqual(63);
		expect(long).toMatch(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/);
	});

	it("mounts into the named container and leaves the input alone", () => {
		const d = deploymentOf(generated());
		const before = JSON.stringify(d);
		const out = withConfigMounts(d, [{ type: "secret", name: "creds", mountPath: "/creds" }], "web");
		expect(JSON.stringify(d)).toBe(before);
		expect(out.spec?.template.spec?.volumes).toEqual([{ name: "secret-creds", secret: { secretName: "creds" } }]);
		expect(out.spec?.template.spec?.containers[0].volumeMounts).toEqual([{ name: "secret-creds", mountPath: "/creds", readOnly: true }]);
		expect(withConfigMounts(d, [])).toBe(d);
	});
});

describe("NodePort", () => {
	it("turns the Service into a NodePort one, with the fixed node ports asked for", () => {
		const svc = serviceOf(generated());
		expect(withNodePorts(svc, [{ port: "http", nodePort: 30080 }]).spec).toMatchObject({ type: "NodePort", ports: [{ name: "http", port: 80, nodePort: 30080 }] });
		const assigned = withNodePorts(svc, [{ port: 80 }]);
		expect(assigned.spec?.type).toBe("NodePort");
		// No number: Kubernetes assigns one, and Berth never owns the field.
		expect(assigned.spec?.ports?.[0].nodePort).toBeUndefined();
		expect(withNodePorts(svc, [])).toBe(svc);
	});

	it("reads back what Kubernetes assigned", () => {
		expect(assignedNodePorts({ spec: { ports: [{ name: "http", port: 80, nodePort: 31234 }, { port: 81 }] } })).toEqual([{ name: "http", port: 80, protocol: "TCP", nodePort: 31234 }]);
		expect(assignedNodePorts(undefined)).toEqual([]);
	});
});

describe("ServiceAccounts", () => {
	it("makes a deployment's own account, removed with it (it carries the deployment's id)", () => {
		const sa = serviceAccountFor(dep(), {});
		expect(sa).toMatchObject({ kind: "ServiceAccount", metadata: { name: "web", namespace: "shop", labels: { "berth.dev/id": "d1", "app.kubernetes.io/managed-by": "berth" } } });
		expect(serviceAccountFor(dep(), { name: "runner" })?.metadata?.name).toBe("runner");
		expect(serviceAccountFor(dep(), undefined)).toBeUndefined();
		expect(serviceAccountFor(dep(), null)).toBeUndefined();
	});

	it("makes a shared account the same for every deployment, with no deployment's id", () => {
		const a = serviceAccountFor(dep(), { name: "team", shared: true });
		const b = serviceAccountFor({ id: "d2", name: "other", namespaceName: "shop" }, { name: "team", shared: true });
		expect(a).toEqual(b);
		expect(a?.metadata?.labels?.["berth.dev/id"]).toBeUndefined();
		expect(a?.metadata?.labels?.["app.kubernetes.io/component"]).toBe("serviceaccount");
	});

	it("runs the pods as the account, through both spellings of the field", () => {
		const d = withServiceAccount(deploymentOf(generated()), "team", false);
		expect(d.spec?.template.spec).toMatchObject({ serviceAccountName: "team", serviceAccount: "team", automountServiceAccountToken: false });
		expect(withServiceAccount(deploymentOf(generated()), "team").spec?.template.spec?.automountServiceAccountToken).toBeUndefined();
	});
});

describe("jointManifests", () => {
	it("puts the account first and changes only the deployment's own Deployment and Service", () => {
		const out = jointManifests(dep({ mounts: [{ type: "configMap", name: "site", mountPath: "/site" }], nodePorts: [{ port: 80 }], serviceAccount: {} }), generated());
		expect(out.map(o => o.kind)).toEqual(["ServiceAccount", "Service", "Deployment", "Ingress"]);
		const d = deploymentOf(out);
		expect(d.spec?.template.spec).toMatchObject({ serviceAccountName: "web", volumes: [{ name: "cm-site" }] });
		expect(serviceOf(out).spec?.type).toBe("NodePort");
	});

	it("changes nothing without joint fields", () => {
		const objs = generated();
		expect(jointManifests(dep(), objs)).toEqual(objs);
	});
});

describe("validation", () => {
	// As the broker validates: Moleculer turns on the new-style custom checks (the mounts rule renames its aliases in one).
	const check = new Validator({ useNewCustomCheckerFunction: true }).compile({ $$async: false, ...jointParams } as never) as (v: unknown) => true | { field: string }[];

	it("accepts the documented shapes", () => {
		expect(
			check({
				mounts: [{ type: "secret", name: "tls.example", mountPath: "/tls", subPath: "tls.crt", readOnly: true, optional: false }],
				nodePorts: [{ port: 80 }, { port: "http", nodePort: 30080 }],
				serviceAccount: { name: "team", shared: true, automountToken: false },
			}),
		).toBe(true);
		expect(check({ serviceAccount: null })).toBe(true);
	});

	it.each([
		[{ mounts: [{ type: "hostPath", name: "x", mountPath: "/x" }] }, "mounts[0].type"],
		[{ mounts: [{ type: "secret", name: "x", mountPath: "relative" }] }, "mounts[0].mountPath"],
		[{ mounts: [{ type: "secret", name: "x", mountPath: "/x", subPath: "../etc/passwd" }] }, "mounts[0].subPath"],
		[{ mounts: [{ type: "secret", name: "x", mountPath: "/x", items: ["a"] }] }, "mounts[0]"],
		[{ nodePorts: [{ port: 0 }] }, "nodePorts[0].port"],
		[{ serviceAccount: { name: "Bad_Name" } }, "serviceAccount.name"],
	])("refuses %j at %s", (params, field) => {
		const result = check(params);
		expect(result).not.toBe(true);
		expect((result as { field: string }[]).map(e => e.field)).toContain(field);
	});

	it("finds what the rules cannot: clashing paths, unknown ports, a shared account without a name", () => {
		const ports = [{ name: "http", port: 80 }];
		expect(
			jointProblems(
				{
					volumes: [{ name: "data", type: "emptyDir", mountPath: "/data" }],
					configMapMountPath: "/etc/conf",
					mounts: [
						{ type: "secret", name: "a", mountPath: "/data" },
						{ type: "secret", name: "b", mountPath: "/etc/conf" },
						{ type: "secret", name: "c", mountPath: "/ok" },
						{ type: "secret", name: "d", mountPath: "/ok" },
					],
					nodePorts: [{ port: 81 }, { port: "http", nodePort: 30001 }, { port: 80, nodePort: 30001 }],
					serviceAccount: { shared: true },
				},
				ports,
			).map(e => e.field),
		).toEqual(["mounts[0].mountPath", "mounts[1].mountPath", "mounts[3].mountPath", "nodePorts[0].port", "nodePorts[2].port", "nodePorts[2].nodePort", "serviceAccount.name"]);
		expect(jointProblems({ serviceAccount: { name: "default" } }, ports).map(e => e.field)).toEqual(["serviceAccount.name"]);
		expect(jointProblems({ mounts: [{ type: "configMap", name: "a", mountPath: "/a" }], nodePorts: [{ port: 80 }], serviceAccount: {} }, ports)).toEqual([]);
	});
});
