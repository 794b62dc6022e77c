import type { KubernetesObject, V1Deployment, V1Pod, V1Service, V1ServiceAccount } from "../../lib/k8s";
import { Kinds } from "../../lib/k8s";
import { deploymentManifests, type CatalogImage, type DeploymentEntity } from "../../lib/manifests/deployment";
import { assignedNodePorts, jointManifests, type JointSpec } from "../../lib/manifests/joint";
import { kube, uniqueName } from "../helpers/cluster";
import { eventually } from "../helpers/eventually";

/**
 * What a managed deployment gains (ConfigMap/Secret mounts, NodePort, ServiceAccount), as the
 * deployments service will apply it: its generated manifests through `jointManifests`, applied
 * with server-side apply to the real apiserver, then read back.
 */
const image: CatalogImage = { id: "img-nginx", name: "nginx", image: "nginx:1.27", ports: [{ name: "http", port: 80, protocol: "TCP" }] };

describe("joint management manifests in the real cluster", () => {
	const ns = uniqueName("it-joint");

	function entity(name: string, joint: JointSpec): DeploymentEntity & JointSpec {
		return { id: `id-${name}`, name, namespace: "ns-entity", namespaceName: ns, image: image.id, replicas: 1, vHosts: [], volumes: [], owner: "tester", members: [], ...joint };
	}

	async function applyAll(dep: DeploymentEntity & JointSpec): Promise<KubernetesObject[]> {
		const out: KubernetesObject[] = [];
		for (const m of jointManifests(dep, deploymentManifests({ deployment: dep, image }, "joint.test"))) out.push(await kube().apply(m));
		return out;
	}

	const getDeployment = (name: string) => kube().get<V1Deployment>({ apiVersion: "apps/v1", kind: "Deployment", name, namespace: ns });
	const getService = (name: string) => kube().get<V1Service>({ apiVersion: "v1", kind: "Service", name, namespace: ns });
	const getAccount = (name: string) => kube().get<V1ServiceAccount>({ apiVersion: "v1", kind: "ServiceAccount", name, namespace: ns });
	const podsOf = async (name: string) => (await kube().list<V1Pod>(Kinds.Pod, { namespace: ns, labelSelector: `app.kubernetes.io/name=${name}` })).filter(p => !p.metadata?.deletionTimestamp);

	beforeAll(async () => {
		await kube().apply({ apiVersion: "v1", kind: "Namespace", metadata: { name: ns } });
		await kube().apply({ apiVersion: "v1", kind: "ConfigMap", metadata: { name: "app-config", namespace: ns }, data: { "a.conf": "a=1", "b.conf": "b=2" } });
		await kube().apply({ apiVersion: "v1", kind: "Secret", metadata: { name: "app-secret", namespace: ns }, stringData: { token: "t0k3n" } } as KubernetesObject);
	});

	afterAll(async () => {
		await kube().delete({ apiVersion: "v1", kind: "Namespace", name: ns });
	});

	it("mounts ConfigMaps and Secrets, exposes a NodePort and runs the pods as the deployment's own account", async () => {
		const dep = entity("api", {
			mounts: [
				{ type: "configMap", name: "app-config", mountPath: "/etc/app" },
				{ type: "configMap", name: "app-config", mountPath: "/etc/only-b.conf", subPath: "b.conf" },
				{ type: "secret", name: "app-secret", mountPath: "/run/secrets/app", readOnly: true },
			],
			nodePorts: [{ port: "http" }],
			serviceAccount: { automountToken: false },
		});
		const applied = await applyAll(dep);
		expect(applied.map(o => o.kind)).toEqual(["ServiceAccount", "Service", "Deployment", "Ingress"]);

		const account = await getAccount("api");
		expect(account?.metadata?.labels).toMatchObject({ "app.kubernetes.io/managed-by": "berth", "berth.dev/id": dep.id });

		const live = await getDeployment("api");
		const pod = live?.spec?.template.spec;
		expect(pod?.serviceAccountName).toBe("api");
		expect(pod?.automountServiceAccountToken).toBe(false);
		expect(pod?.volumes).toEqual(
			expect.arrayContaining([
				expect.objectContaining({ name: "cm-app-config", configMap: expect.objectContaining({ name: "app-config" }) }),
				expect.objectContaining({ name: "secret-app-secret", secret: expect.objectContaining({ secretName: "app-secret" }) }),
			]),
		);
		expect(pod?.volumes?.filter(v => v.name === "cm-app-config")).toHaveLength(1);
		expect(pod?.containers[0].volumeMounts).toEqual([
			{ name: "cm-app-config", mountPath: "/etc/app", readOnly: true },
			{ name: "cm-app-config", mountPath: "/etc/only-b.conf", subPath: "b.conf", readOnly: true },
			{ name: "secret-app-secret", mountPath: "/run/secrets/app", readOnly: true },
		]);

		// The pods run as specified.
		await eventually(async () => {
			const [p] = await podsOf("api");
			expect(p?.status?.phase).toBe("Running");
			expect(p?.spec?.serviceAccountName).toBe("api");
			expect(p?.spec?.containers[0].volumeMounts?.map(m => m.mountPath)).toEqual(expect.arrayContaining(["/etc/app", "/etc/only-b.conf", "/run/secrets/app"]));
		});

		// Kubernetes assigned the node port; reading it back is what status reports, and a re-apply keeps it.
		const svc = await getService("api-service");
		expect(svc?.spec?.type).toBe("NodePort");
		const assigned = assignedNodePorts(svc);
		expect(assigned).toEqual([{ name: "http", port: 80, protocol: "TCP", nodePort: expect.any(Number) }]);
		expect(assigned[0].nodePort).toBeGreaterThanOrEqual(30000);
		await applyAll(dep);
		expect(assignedNodePorts(await getService("api-service"))).toEqual(assigned);

		// Without joint fields the deployment goes back to plain: ClusterIP, no mounts, the default account.
		await applyAll(entity("api", {}));
		const plainSvc = await getService("api-service");
		expect(plainSvc?.spec?.type).toBe("ClusterIP");
		expect(assignedNodePorts(plainSvc)).toEqual([]);
		const plain = await getDeployment("api");
		expect(plain?.spec?.template.spec?.volumes).toBeUndefined();
		expect(plain?.spec?.template.spec?.serviceAccountName ?? "default").toBe("default");
	});

	it("takes a fixed node port and shares one account between deployments", async () => {
		const nodePort = 30000 + Math.floor(Math.random() * 2700);
		const first = entity("shared-a", { nodePorts: [{ port: 80, nodePort }], serviceAccount: { name: "team", shared: true } });
		const second = entity("shared-b", { serviceAccount: { name: "team", shared: true } });
		await applyAll(first);
		await applyAll(second);

		expect(assignedNodePorts(await getService("shared-a-service"))).toEqual([{ name: "http", port: 80, protocol: "TCP", nodePort }]);
		const accounts = (await kube().list<V1ServiceAccount>(Kinds.ServiceAccount, { namespace: ns })).filter(a => a.metadata?.name === "team");
		expect(accounts).toHaveLength(1);
		// No deployment's id: removing either deployment's objects by its id leaves the shared account.
		expect(accounts[0].metadata?.labels?.["berth.dev/id"]).toBeUndefined();
		expect(accounts[0].metadata?.labels).toMatchObject({ "app.kubernetes.io/managed-by": "berth", "app.kubernetes.io/component": "serviceaccount" });
		await eventually(async () => {
			for (const name of ["shared-a", "shared-b"]) {
				const [p] = await podsOf(name);
				expect(p?.status?.phase).toBe("Running");
				expect(p?.spec?.serviceAccountName).toBe("team");
			}
		});
	});
});
