import { ensureAppsNamespace } from "../../lib/applications/reconcile";
import { loadConfig } from "../../lib/config";
import type { V1Namespace, V1NetworkPolicy, V1Pod, V1ServiceAccount } from "../../lib/k8s";
import { DEFAULT_QUOTA, NETWORK_POLICY_NAME, networkPolicyManifest } from "../../lib/manifests/namespace";
import { podSecurityLabels, type PodSecurityLevel } from "../../lib/manifests/security";
import { backends as dbBackends, dropStore, useStore } from "../helpers/backends";
import { kube, uniqueName } from "../helpers/cluster";
import { eventually } from "../helpers/eventually";
import { createNamespace, keyFor, startMesh, type Mesh } from "../helpers/mesh";
import { generatedTemplates, podOf } from "../helpers/pod-templates";

// Every namespace this suite makes starts with "nsp-" (this helper's prefix).
const nsRef = (name: string) => ({ apiVersion: "v1", kind: "Namespace", name });
const policyRef = (namespace: string) => ({ apiVersion: "networking.k8s.io/v1", kind: "NetworkPolicy", name: NETWORK_POLICY_NAME, namespace });
const { tenantPolicy } = loadConfig();

/** A Pod no `baseline` namespace admits. */
const privilegedPod = (namespace: string): V1Pod => ({
	apiVersion: "v1",
	kind: "Pod",
	metadata: { name: "privileged", namespace },
	spec: { containers: [{ name: "c", image: "busybox", securityContext: { privileged: true } }] },
});

/** Sends the Pod with a server-side dry run: admitted (undefined) or the apiserver's refusal. */
async function admission(pod: V1Pod): Promise<string | undefined> {
	try {
		await kube().create(pod, { dryRun: true });
		return undefined;
	} catch (err) {
		return (err as Error).message;
	}
}

describe.each(dbBackends())("namespaces Berth makes on %s: Pod Security labels and the default NetworkPolicy", (_backend, pickMongo) => {
	let mesh: Mesh;
	let alice: string;
	let uri: string | undefined;
	const made: string[] = [];

	beforeAll(async () => {
		uri = pickMongo();
		useStore(uri);
		mesh = await startMesh(["api", "keys", "k8s.namespaces"]);
		alice = await keyFor(mesh, uniqueName("nsp-alice"));
	});
	afterAll(async () => {
		await mesh?.stop();
		await Promise.all(made.map(name => kube().delete(nsRef(name)).catch(() => undefined)));
		await dropStore(uri);
	});

	it("creates the Namespace enforcing POD_SECURITY_LEVEL (warning at restricted) with the NetworkPolicy, and the level is enforced", async () => {
		const name = uniqueName("nsp-tenant");
		made.push(name);
		const { id } = await createNamespace(mesh, alice, name);
		const live = await kube().get<V1Namespace>(nsRef(name));
		expect(live?.metadata?.labels).toMatchObject({ "pod-security.kubernetes.io/enforce": "baseline", "pod-security.kubernetes.io/warn": "restricted" });
		const policy = await kube().get<V1NetworkPolicy>(policyRef(name));
		expect(policy?.spec).toEqual(networkPolicyManifest({ id, name }, tenantPolicy).spec);
		expect(await admission(privilegedPod(name))).toMatch(/violates PodSecurity "baseline/);
	});

	it("gives a namespace that lacks them (made before, or under another level) the labels and the NetworkPolicy on its next reconcile", async () => {
		const name = uniqueName("nsp-older");
		made.push(name);
		await createNamespace(mesh, alice, name);
		await kube().delete(policyRef(name));
		// As a namespace made before this change looks: no Pod Security labels, no NetworkPolicy.
		const unlabelled = Object.fromEntries(Object.keys(podSecurityLabels("baseline")).map(k => [k, null]));
		await kube().mergeMetadata({ apiVersion: "v1", kind: "Namespace", metadata: { name, labels: unlabelled as unknown as Record<string, string> } });
		await eventually(async () => {
			expect((await kube().get<V1Namespace>(nsRef(name)))?.metadata?.labels).toMatchObject(podSecurityLabels("baseline"));
			expect(await kube().get<V1NetworkPolicy>(policyRef(name))).toBeDefined();
		});
	});
});

describe("the applications namespace", () => {
	const name = uniqueName("nsp-apps");
	afterAll(() => kube().delete(nsRef(name)).catch(() => undefined));

	it("gets the same labels and NetworkPolicy when Berth applies it", async () => {
		await ensureAppsNamespace(kube(), { namespace: name, quota: DEFAULT_QUOTA, tenantPolicy }, false);
		expect((await kube().get<V1Namespace>(nsRef(name)))?.metadata?.labels).toMatchObject(podSecurityLabels(tenantPolicy.podSecurityLevel));
		expect((await kube().get<V1NetworkPolicy>(policyRef(name)))?.spec).toEqual(networkPolicyManifest({ id: "applications", name }, tenantPolicy).spec);
	});
});

describe("every generated pod template under the PodSecurity admission plugin (server-side dry run)", () => {
	const namespaces: Record<Exclude<PodSecurityLevel, "privileged">, string> = { baseline: uniqueName("nsp-baseline"), restricted: uniqueName("nsp-restricted") };

	beforeAll(async () => {
		for (const [level, name] of Object.entries(namespaces)) await kube().create<V1Namespace>({ apiVersion: "v1", kind: "Namespace", metadata: { name, labels: { "pod-security.kubernetes.io/enforce": level } } });
		// A Pod is admitted only once its namespace's default ServiceAccount exists.
		for (const name of Object.values(namespaces)) await eventually(async () => expect(await kube().get<V1ServiceAccount>({ apiVersion: "v1", kind: "ServiceAccount", name: "default", namespace: name })).toBeDefined());
	});
	afterAll(() => Promise.all(Object.values(namespaces).map(name => kube().delete(nsRef(name)).catch(() => undefined))));

	it("refuses a privileged Pod in the baseline namespace (so an admission below means something)", async () => {
		expect(await admission(privilegedPod(namespaces.baseline))).toMatch(/violates PodSecurity "baseline:latest": privileged/);
	});

	it("admits every template under baseline: each starter image's deployment and application, a spec, a job", async () => {
		const templates = generatedTemplates(namespaces.baseline);
		expect(templates.length).toBe(2 * 7 + 2);
		const refused: Record<string, string | undefined> = {};
		for (const [i, t] of templates.entries()) refused[t.what] = await admission(podOf(t.template, `pod-${i}`, namespaces.baseline));
		expect(refused).toEqual(Object.fromEntries(templates.map(t => [t.what, undefined])));
	});

	it("admits under restricted the templates of images that declare a non-root user, and refuses one that starts as root", async () => {
		const templates = generatedTemplates(namespaces.restricted);
		const declared = templates.filter(t => t.image?.runAsUser !== undefined);
		expect(declared.map(t => t.what)).toEqual(["deployment of jupyter-notebook", "application of jupyter-notebook"]);
		for (const [i, t] of declared.entries()) expect({ what: t.what, refused: await admission(podOf(t.template, `pod-${i}`, namespaces.restricted)) }).toEqual({ what: t.what, refused: undefined });
		const root = templates.find(t => t.what === "deployment of python")!;
		expect(await admission(podOf(root.template, "root", namespaces.restricted))).toMatch(/violates PodSecurity "restricted:latest": runAsNonRoot/);
	});
});
