import { execFile } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { parseAllDocuments } from "yaml";
import { ensureAppsNamespace } from "../../lib/applications/reconcile";
import { loadConfig } from "../../lib/config";
import { getKubeClient, KubeClient, setKubeClient, type KubernetesObject, type V1Deployment, type V1Namespace, type V1RoleBinding } from "../../lib/k8s";
import { DEFAULT_QUOTA, NETWORK_POLICY_NAME } from "../../lib/manifests/namespace";
import { WRITER_BINDING_NAME } from "../../lib/manifests/rbac";
import { envBackends } from "../helpers/backends";
import { kube, repoRoot, uniqueName } from "../helpers/cluster";
import { eventually } from "../helpers/eventually";
import { createNamespace, keyFor, request, startMesh, type Mesh } from "../helpers/mesh";

/**
 * deploy/kubernetes/berth.yaml's RBAC on the real apiserver: its ServiceAccount may read the cluster
 * and write only inside the namespaces Berth made, and Berth works authenticated as it. The
 * manifest's objects are renamed for this run (Berth's namespace, the cluster-wide names), so
 * suites running at the same time never share them.
 */

const RBAC_KINDS = ["Namespace", "ServiceAccount", "ClusterRole", "ClusterRoleBinding", "Role", "RoleBinding", "ValidatingAdmissionPolicy", "ValidatingAdmissionPolicyBinding"];
const CLUSTER_SCOPED = new Set(["Namespace", "ClusterRole", "ClusterRoleBinding", "ValidatingAdmissionPolicy", "ValidatingAdmissionPolicyBinding"]);
const SERVICES = ["api", "keys", "k8s.namespaces", "k8s.images", "k8s.volumes", "k8s.deployments", "k8s.envs", "k8s.inventory"];

const suffix = uniqueName("r").slice(2);
const berthNs = `berth-rbac-${suffix}`;
const writerRole = `berth-tenant-writer-${suffix}`;
const account = `system:serviceaccount:${berthNs}:berth`;

/** The manifest's RBAC objects with this run's names: Berth's namespace, and each cluster-wide name with the suffix. */
function rbacObjects(): KubernetesObject[] {
	const file = path.join(repoRoot, "deploy", "kubernetes", "berth.yaml");
	const objects = parseAllDocuments(fs.readFileSync(file, "utf8")).map(d => d.toJSON() as KubernetesObject).filter(o => RBAC_KINDS.includes(o.kind as string));
	let text = JSON.stringify(objects).replaceAll("berth-system", berthNs);
	for (const name of new Set(objects.filter(o => CLUSTER_SCOPED.has(o.kind as string) && o.kind !== "Namespace").map(o => o.metadata?.name as string)))
		text = text.replaceAll(`"${name}"`, `"${name}-${suffix}"`);
	return JSON.parse(text) as KubernetesObject[];
}

/** The kubectl the local control plane was built with (scripts/cluster/build.sh). */
function kubectlPath(): string {
	const cache = process.env.BERTH_CACHE ?? path.join(os.homedir(), ".cache", "berth");
	const found = fs.existsSync(cache) ? fs.readdirSync(cache).filter(d => d.startsWith("kubernetes-")).map(d => path.join(cache, d, "bin", "kubectl")).find(p => fs.existsSync(p)) : undefined;
	if (!found) throw new Error(`No kubectl under ${cache}/kubernetes-*/bin: the RBAC table needs the control plane's build (scripts/cluster/build.sh)`);
	return found;
}

/** `kubectl auth can-i <verb> <resource> [-n ns | -A] --as=<Berth's ServiceAccount>`: "yes" or "no". */
function canI(kubeconfig: string, args: string[]): Promise<string> {
	return new Promise((resolve, reject) =>
		execFile(kubectlPath(), ["auth", "can-i", ...args, `--as=${account}`], { env: { ...process.env, KUBECONFIG: kubeconfig } }, (err, stdout, stderr) => {
			const answer = stdout.trim();
			// Exit code 1 with "no" is an answer; anything else is a failure to ask.
			if (answer === "yes" || answer === "no") resolve(answer);
			else reject(new Error(`kubectl auth can-i ${args.join(" ")}: ${stderr || err?.message}`));
		}),
	);
}

/** A kubeconfig that authenticates as Berth's ServiceAccount with a token from the TokenRequest API, against the admin kubeconfig's server and CA. */
async function serviceAccountKubeconfig(dir: string): Promise<string> {
	const token = await kube().core.createNamespacedServiceAccountToken({ name: "berth", namespace: berthNs, body: { apiVersion: "authentication.k8s.io/v1", kind: "TokenRequest", spec: { audiences: [], expirationSeconds: 3600 } } });
	const cluster = kube().kc.getCurrentCluster()!;
	const ca = cluster.caData ? { "certificate-authority-data": cluster.caData } : cluster.caFile ? { "certificate-authority": cluster.caFile } : { "insecure-skip-tls-verify": true };
	const config = {
		apiVersion: "v1",
		kind: "Config",
		clusters: [{ name: "local", cluster: { server: cluster.server, ...ca } }],
		users: [{ name: "berth", user: { token: token.status?.token } }],
		contexts: [{ name: "berth", context: { cluster: "local", user: "berth" } }],
		"current-context": "berth",
	};
	const file = path.join(dir, "kubeconfig");
	fs.writeFileSync(file, JSON.stringify(config), { mode: 0o600 });
	return file;
}

/** Process settings the mesh reads when it starts (and at each use): set here, restored in afterAll. */
function setEnv(values: Record<string, string>): () => void {
	const before = Object.fromEntries(Object.keys(values).map(k => [k, process.env[k]]));
	Object.assign(process.env, values);
	return () => {
		for (const [k, v] of Object.entries(before)) if (v === undefined) delete process.env[k];
		else process.env[k] = v;
	};
}

const adminKubeconfig = process.env.KUBECONFIG as string;
const dir = fs.mkdtempSync(path.join(os.tmpdir(), "berth-rbac-"));
const objects = rbacObjects();
const otherNs = uniqueName("rbac-other");
let saKubeconfig: string;
let restoreEnv: () => void;

beforeAll(async () => {
	kube(); // the admin client, made before KUBECONFIG names the ServiceAccount's
	for (const obj of objects) await kube().apply(obj);
	await kube().apply({ apiVersion: "v1", kind: "Namespace", metadata: { name: otherNs } });
	saKubeconfig = await serviceAccountKubeconfig(dir);
	// Berth as deploy/kubernetes/berth.yaml runs it, with this run's names.
	restoreEnv = setEnv({ KUBECONFIG: saKubeconfig, RBAC_SERVICE_ACCOUNT: `${berthNs}:berth`, RBAC_ROLE: writerRole, LEADER_LEASE_NAMESPACE: berthNs, BERTH_NAMESPACE: berthNs });
	setKubeClient(undefined);
});

afterAll(async () => {
	restoreEnv?.();
	setKubeClient(undefined);
	await kube().delete({ apiVersion: "v1", kind: "Namespace", name: otherNs }).catch(() => undefined);
	for (const obj of [...objects].reverse().filter(o => CLUSTER_SCOPED.has(o.kind as string)))
		await kube().delete({ apiVersion: obj.apiVersion as string, kind: obj.kind as string, name: obj.metadata?.name as string }).catch(() => undefined);
	fs.rmSync(dir, { recursive: true, force: true });
});

/** Create a namespace through Berth, deploy nginx, scale it, delete it, delete the namespace: every step as the ServiceAccount. */
async function deployFlow(mesh: Mesh, key: string, nsName: string, nsId: string): Promise<void> {
	const api = (p: string) => `${mesh.url}/api/v1/k8s/deployments${p}`;
	const dep = () => kube().get<V1Deployment>({ apiVersion: "apps/v1", kind: "Deployment", name: "web", namespace: nsName });
	const created = await request(api("/"), { method: "POST", key, body: { name: "web", namespace: nsName, image: "nginx", replicas: 1, env: [{ key: "MODE", value: "production" }] } });
	expect([created.status, created.body?.status?.conditions]).toEqual([201, expect.arrayContaining([expect.objectContaining({ type: "Applied", status: "True" })])]);
	const id = created.body.id as string;
	await eventually(async () => expect((await dep())?.status?.readyReplicas).toBe(1));

	const scaled = await request(api(`/${id}/scale`), { method: "POST", key, body: { replicas: 2 } });
	expect([scaled.status, scaled.body.replicas]).toEqual([200, 2]);
	await eventually(async () => expect((await dep())?.status?.readyReplicas).toBe(2));
	await eventually(async () => expect((await request(api(`/${id}/pods`), { key })).body).toHaveLength(2));

	expect((await request(api(`/${id}`), { method: "DELETE", key })).status).toBe(200);
	await eventually(async () => expect(await dep()).toBeUndefined());
	expect((await request(`${mesh.url}/api/v1/k8s/namespaces/${nsId}`, { method: "DELETE", key })).status).toBe(200);
	await eventually(async () => {
		const ns = await kube().get<V1Namespace>({ apiVersion: "v1", kind: "Namespace", name: nsName });
		expect(ns === undefined || Boolean(ns.metadata?.deletionTimestamp)).toBe(true);
	});
}

describe("least-privilege RBAC of deploy/kubernetes/berth.yaml, with Berth authenticated as its ServiceAccount (NeDB)", () => {
	let mesh: Mesh;
	let alice: string;
	let tenant: { id: string; name: string };

	beforeAll(async () => {
		envBackends[0][1]();
		mesh = await startMesh(SERVICES);
		alice = await keyFor(mesh, uniqueName("rbac-alice"));
		tenant = await createNamespace(mesh, alice, uniqueName("rbac-tenant"));
	});
	afterAll(async () => {
		await mesh?.stop();
		await kube().delete({ apiVersion: "v1", kind: "Namespace", name: tenant?.name ?? "" }).catch(() => undefined);
	});

	it("runs as the ServiceAccount, and binds the writer role to it in the namespace it made", async () => {
		// The mesh's kubeconfig is the ServiceAccount's: the apiserver names it when it refuses a write.
		const sa = KubeClient.fromEnvironment({ kind: "file", path: saKubeconfig });
		const probe = { apiVersion: "v1", kind: "ConfigMap", metadata: { name: "rbac-probe", namespace: "default" } };
		await expect(sa.create(probe, { dryRun: true })).rejects.toMatchObject({ type: "K8S_FORBIDDEN", message: expect.stringContaining(`User "${account}" cannot create resource "configmaps"`) });
		expect(getKubeClient().server).toBe(sa.server);
		const rb = await kube().get<V1RoleBinding>({ apiVersion: "rbac.authorization.k8s.io/v1", kind: "RoleBinding", name: WRITER_BINDING_NAME, namespace: tenant.name });
		expect(rb?.roleRef).toEqual({ apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: writerRole });
		expect(rb?.subjects).toEqual([{ kind: "ServiceAccount", name: "berth", namespace: berthNs }]);
		expect(rb?.metadata?.labels).toMatchObject({ "app.kubernetes.io/managed-by": "berth", "berth.dev/id": tenant.id });
	});

	// [verb, resource, where ("-A": cluster-wide, "": cluster-scoped), expected]
	const rows: [string, string, string, "yes" | "no"][] = [
		["create", "deployments.apps", "kube-system", "no"],
		["create", "deployments.apps", "default", "no"],
		["create", "deployments.apps", "<berth>", "no"],
		["create", "deployments.apps", "<other>", "no"],
		["create", "deployments.apps", "<tenant>", "yes"],
		["patch", "deployments.apps", "<tenant>", "yes"],
		["delete", "deployments.apps", "<tenant>", "yes"],
		["patch", "replicasets.apps", "<tenant>", "yes"],
		["delete", "replicasets.apps", "<tenant>", "yes"],
		["patch", "replicasets.apps", "kube-system", "no"],
		["create", "secrets", "default", "no"],
		["create", "secrets", "kube-system", "no"],
		["create", "secrets", "<tenant>", "yes"],
		["create", "serviceaccounts", "kube-system", "no"],
		["create", "serviceaccounts", "<tenant>", "yes"],
		["update", "configmaps", "kube-system", "no"],
		["create", "configmaps", "<tenant>", "yes"],
		["create", "services", "<tenant>", "yes"],
		["create", "ingresses.networking.k8s.io", "default", "no"],
		["create", "ingresses.networking.k8s.io", "<tenant>", "yes"],
		["create", "networkpolicies.networking.k8s.io", "<tenant>", "yes"],
		["create", "resourcequotas", "<tenant>", "yes"],
		["create", "limitranges", "<tenant>", "yes"],
		["create", "persistentvolumeclaims", "<tenant>", "yes"],
		["create", "jobs.batch", "<tenant>", "yes"],
		["create", "jobs.batch", "default", "no"],
		["create", "pods", "<tenant>", "no"],
		["delete", "pods", "<tenant>", "yes"],
		["delete", "pods", "kube-system", "no"],
		["get", "pods --subresource=log", "<tenant>", "yes"],
		["get", "pods --subresource=log", "kube-system", "no"],
		["create", "pods --subresource=exec", "<tenant>", "no"],
		["list", "pods", "-A", "yes"],
		["watch", "deployments.apps", "-A", "yes"],
		["list", "events", "-A", "yes"],
		["list", "nodes", "", "yes"],
		["create", "namespaces", "", "yes"],
		["delete", "namespaces", "", "yes"],
		["create", "leases.coordination.k8s.io", "<berth>", "yes"],
		["create", "leases.coordination.k8s.io", "kube-system", "no"],
		["update", "leases.coordination.k8s.io", "default", "no"],
		["bind", `clusterroles/${writerRole}`, "", "yes"],
		["bind", "clusterroles/cluster-admin", "", "no"],
		["escalate", "clusterroles", "", "no"],
		["create", "clusterrolebindings", "", "no"],
		["create", "clusterroles", "", "no"],
		["create", "validatingadmissionpolicies.admissionregistration.k8s.io", "", "no"],
	];

	it(`answers kubectl auth can-i as the manifest means, ${rows.length} rows`, async () => {
		const where = (w: string) => (w === "" ? [] : w === "-A" ? ["-A"] : ["-n", w.replace("<tenant>", tenant.name).replace("<berth>", berthNs).replace("<other>", otherNs)]);
		const answers: string[] = [];
		for (const [verb, resource, ns] of rows) answers.push(`${verb} ${resource} ${ns}: ${await canI(adminKubeconfig, [verb, ...resource.split(" "), ...where(ns)])}`);
		expect(answers).toEqual(rows.map(([verb, resource, ns, want]) => `${verb} ${resource} ${ns}: ${want}`));
	});

	it("is refused, by the admission policy, RoleBindings and namespace changes outside the namespaces Berth manages", async () => {
		const sa = KubeClient.fromEnvironment({ kind: "file", path: saKubeconfig });
		const binding = (namespace: string) => ({ apiVersion: "rbac.authorization.k8s.io/v1", kind: "RoleBinding", metadata: { name: WRITER_BINDING_NAME, namespace }, roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: writerRole }, subjects: [{ kind: "ServiceAccount", name: "berth", namespace: berthNs }] });
		// The apiserver loads a new policy a moment after it is made.
		await eventually(() => expect(sa.apply(binding("kube-system"), { dryRun: true })).rejects.toThrow(/RoleBindings only in namespaces labelled app.kubernetes.io\/managed-by=berth/));
		await expect(sa.apply(binding(otherNs), { dryRun: true })).rejects.toThrow(/RoleBindings only in namespaces labelled/);
		await expect(sa.apply({ apiVersion: "v1", kind: "Namespace", metadata: { name: "kube-system", labels: { "app.kubernetes.io/managed-by": "berth" } } }, { dryRun: true })).rejects.toThrow(/only namespaces labelled/);
		await expect(sa.delete({ apiVersion: "v1", kind: "Namespace", name: otherNs }, { dryRun: true })).rejects.toThrow(/only namespaces labelled/);
		// In its own namespaces it may.
		await expect(sa.apply(binding(tenant.name), { dryRun: true })).resolves.toMatchObject({ metadata: { name: WRITER_BINDING_NAME } });
		expect(await kube().get({ apiVersion: "v1", kind: "Namespace", name: otherNs })).toBeDefined();
		// An adoption labels a namespace it does not manage, with berth.dev/adopted-at; never Kubernetes' own or Berth's.
		const adopted = (name: string) => ({ apiVersion: "v1", kind: "Namespace", metadata: { name, labels: { "app.kubernetes.io/managed-by": "berth" }, annotations: { "berth.dev/adopted-at": new Date().toISOString() } } });
		await expect(sa.apply(adopted(otherNs), { dryRun: true })).resolves.toMatchObject({ metadata: { name: otherNs } });
		for (const name of ["kube-public", "default", berthNs]) await expect(sa.apply(adopted(name), { dryRun: true })).rejects.toThrow(/only namespaces labelled/);
		await expect(sa.apply({ apiVersion: "v1", kind: "Namespace", metadata: { name: otherNs, labels: { "app.kubernetes.io/managed-by": "berth" } } }, { dryRun: true })).rejects.toThrow(/only namespaces labelled/);
	});

	it("adopts a namespace Berth did not make, and binds the writer role in it", async () => {
		const name = uniqueName("rbac-adopt");
		await kube().apply({ apiVersion: "v1", kind: "Namespace", metadata: { name, labels: { "app.kubernetes.io/managed-by": "Helm" } } });
		try {
			const res = await request(`${mesh.url}/api/v1/k8s/namespaces/adopt`, { method: "POST", key: mesh.adminKey, body: { name, owner: "rbac-heir" } });
			expect([res.status, res.body.owner, res.body.phase]).toEqual([201, "rbac-heir", "Active"]);
			expect((await kube().get<V1RoleBinding>({ apiVersion: "rbac.authorization.k8s.io/v1", kind: "RoleBinding", name: WRITER_BINDING_NAME, namespace: name }))?.roleRef.name).toBe(writerRole);
			expect(await kube().get({ apiVersion: "v1", kind: "ResourceQuota", name: "berth-quota", namespace: name })).toBeDefined();
		} finally {
			await kube().delete({ apiVersion: "v1", kind: "Namespace", name }).catch(() => undefined);
		}
	});

	it("binds the applications namespace too, and writes its quota and NetworkPolicy through that binding", async () => {
		const name = uniqueName("rbac-apps");
		try {
			await ensureAppsNamespace(getKubeClient(), { namespace: name, quota: DEFAULT_QUOTA, tenantPolicy: loadConfig().tenantPolicy }, false);
			expect((await kube().get<V1RoleBinding>({ apiVersion: "rbac.authorization.k8s.io/v1", kind: "RoleBinding", name: WRITER_BINDING_NAME, namespace: name }))?.roleRef.name).toBe(writerRole);
			expect(await kube().get({ apiVersion: "networking.k8s.io/v1", kind: "NetworkPolicy", name: NETWORK_POLICY_NAME, namespace: name })).toBeDefined();
		} finally {
			await kube().delete({ apiVersion: "v1", kind: "Namespace", name }).catch(() => undefined);
		}
	});

	it("deploys, scales and deletes through Berth", async () => {
		const ns = await createNamespace(mesh, alice, uniqueName("rbac-flow"));
		await deployFlow(mesh, alice, ns.name, ns.id);
	});
});

describe("a deploy through Berth authenticated as its ServiceAccount (FerretDB)", () => {
	let mesh: Mesh;

	beforeAll(async () => {
		envBackends[1][1]();
		mesh = await startMesh(SERVICES);
	});
	afterAll(async () => {
		await mesh?.stop();
		delete process.env.MONGO_URI;
	});

	it("deploys, scales and deletes", async () => {
		const alice = await keyFor(mesh, uniqueName("rbac-alice"));
		const ns = await createNamespace(mesh, alice, uniqueName("rbac-flow"));
		await deployFlow(mesh, alice, ns.name, ns.id);
	});
});
