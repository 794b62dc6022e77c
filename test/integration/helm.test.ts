import { execFileSync, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { parse, parseAllDocuments } from "yaml";
import type { KubernetesObject } from "../../lib/k8s";
import { serviceRegistry } from "../../services";
import { kube, repoRoot, uniqueName } from "../helpers/cluster";

const chart = path.join(repoRoot, "deploy", "helm", "berth");
const splitValues = path.join(chart, "ci", "split-values.yaml");

/** The helm scripts/cluster/build.sh makes (npm test runs it), at the pinned version. */
function helmBinary(): string {
	const pins = fs.readFileSync(path.join(repoRoot, "scripts", "cluster", "versions.sh"), "utf8");
	const version = process.env.HELM_VERSION ?? /HELM_VERSION:-([^}]+)\}/.exec(pins)?.[1];
	const cache = process.env.BERTH_CACHE ?? path.join(os.homedir(), ".cache", "berth");
	const bin = path.join(cache, `helm-${version}`, "bin", "helm");
	if (!fs.existsSync(bin)) throw new Error(`helm is missing at ${bin}: run \`bash scripts/cluster/build.sh helm\` (npm test does)`);
	return bin;
}

/** The local apiserver's version: the chart is rendered for the cluster it is checked against. */
let kubeVersion = "";

function helm(args: string[]): { status: number; out: string } {
	const res = spawnSync(helmBinary(), [...args, "--kube-version", kubeVersion], { encoding: "utf8" });
	return { status: res.status ?? -1, out: `${res.stdout}${res.stderr}` };
}

type Container = { name: string; env?: { name: string; value?: string; valueFrom?: { secretKeyRef?: { name: string } } }[]; readinessProbe?: { httpGet?: { path: string } }; livenessProbe?: { httpGet?: { path: string } } };
type Workload = KubernetesObject & { spec: { replicas: number; template: { spec: { containers: Container[] } } } };

function render(namespace: string, extra: string[] = []): KubernetesObject[] {
	const out = execFileSync(helmBinary(), ["template", "berth", chart, "--namespace", namespace, "--kube-version", kubeVersion, ...extra], { encoding: "utf8" });
	return parseAllDocuments(out)
		.map(d => d.toJSON() as KubernetesObject | null)
		.filter((o): o is KubernetesObject => Boolean(o));
}

const berthContainers = (objects: KubernetesObject[]) =>
	objects.filter(o => o.kind === "Deployment").flatMap(o => (o as Workload).spec.template.spec.containers.filter(c => c.name === "berth"));
const envOf = (c: Container, name: string) => c.env?.find(e => e.name === name);

describe("the Helm chart deploy/helm/berth", () => {
	let namespace = "";

	beforeAll(async () => {
		kubeVersion = await kube().version();
		namespace = uniqueName("it-helm");
		await kube().apply({ apiVersion: "v1", kind: "Namespace", metadata: { name: namespace } });
	});

	afterAll(async () => {
		if (namespace) await kube().delete({ apiVersion: "v1", kind: "Namespace", name: namespace });
	});

	it.each([
		["all-in-one", []],
		["api and worker nodes", ["--values", splitValues]],
	])("passes helm lint (%s)", (_, extra) => {
		const res = helm(["lint", chart, "--strict", ...extra]);
		expect({ status: res.status, out: res.out }).toEqual({ status: 0, out: expect.stringContaining("0 chart(s) failed") });
	});

	it.each([
		["all-in-one", []],
		["api and worker nodes", ["--values", splitValues]],
	])("renders objects the local apiserver accepts in a server-side dry run (%s)", async (_, extra) => {
		const objects = render(namespace, extra);
		expect(objects.length).toBeGreaterThan(10);
		for (const obj of objects) {
			const res = await kube().apply(obj, { dryRun: true });
			expect(`${res.kind}/${res.metadata?.name}`).toBe(`${obj.kind}/${obj.metadata?.name}`);
		}
		// A dry run stores nothing.
		expect(await kube().get({ apiVersion: "v1", kind: "ServiceAccount", name: "berth", namespace })).toBeUndefined();
	});

	it("probes readiness without the apiserver and liveness on the process alone", () => {
		for (const c of berthContainers(render(namespace))) {
			expect(c.readinessProbe?.httpGet?.path).toBe("/health/serving");
			expect(c.livenessProbe?.httpGet?.path).toBe("/health/live");
		}
	});

	it("gives every replica the admin key, the mesh secret and NATS credentials from Secrets it makes once and keeps", () => {
		const objects = render(namespace);
		const secrets = objects.filter(o => o.kind === "Secret");
		for (const name of ["berth-admin-key", "berth-secrets-key", "berth-mesh"]) {
			expect(secrets.find(s => s.metadata?.name === name)?.metadata?.annotations?.["helm.sh/resource-policy"]).toBe("keep");
		}
		for (const c of berthContainers(objects)) {
			expect(envOf(c, "BERTH_ADMIN_KEY")?.valueFrom?.secretKeyRef?.name).toBe("berth-admin-key");
			expect(envOf(c, "MESH_SECRET")?.valueFrom?.secretKeyRef?.name).toBe("berth-mesh");
			expect(envOf(c, "TRANSPORTER")?.value).toBe(`nats://$(NATS_USER):$(NATS_PASSWORD)@berth-nats.${namespace}.svc:4222`);
			expect(envOf(c, "MONGO_URI")?.valueFrom?.secretKeyRef?.name).toBe("berth-mongo");
		}
		expect(objects.filter(o => o.kind === "StatefulSet").map(o => o.metadata?.name)).toEqual(["berth-mongodb"]);
	});

	it("splits the services over api and worker nodes that between them run every one, with a PodDisruptionBudget each", () => {
		const objects = render(namespace, ["--values", splitValues]);
		const services = berthContainers(objects).flatMap(c => envOf(c, "SERVICES")!.value!.split(","));
		expect(Object.keys(serviceRegistry).filter(s => !services.includes(s))).toEqual([]);
		expect(objects.filter(o => o.kind === "PodDisruptionBudget").map(o => o.metadata?.name).sort()).toEqual(["berth-api", "berth-worker"]);
		const service = objects.find(o => o.kind === "Service" && o.metadata?.name === "berth") as KubernetesObject & { spec: { selector: Record<string, string> } };
		expect(service.spec.selector["berth.dev/gateway"]).toBe("true");
		// An external MongoDB: no bundled one.
		expect(objects.filter(o => o.kind === "StatefulSet")).toEqual([]);
	});

	it("refuses values that cannot work, saying why", () => {
		expect(helm(["template", "berth", chart, "--set", "nodes[0].gateway=false"]).out).toContain("exactly one entry of `nodes` sets gateway: true");
		expect(helm(["template", "berth", chart, "--set", "mongodb.bundled=false"]).out).toContain("more than one Berth pod needs a shared MongoDB");
	});

	it("grants the same least-privilege rules as deploy/kubernetes/berth.yaml, the writer role bound per namespace", () => {
		type Role = KubernetesObject & { rules: unknown[] };
		const manifest = parseAllDocuments(fs.readFileSync(path.join(repoRoot, "deploy", "kubernetes", "berth.yaml"), "utf8")).map(d => d.toJSON() as Role);
		const rendered = render(namespace);
		// Released as "berth", the chart's roles have the manifest's names.
		const rulesOf = (objects: Role[], name: string) => objects.find(o => o.kind === "ClusterRole" && o.metadata?.name === name)?.rules;
		for (const name of ["berth-reader", "berth-tenant-writer"]) expect(rulesOf(rendered as Role[], name)).toEqual(rulesOf(manifest, name));
		expect(rendered.filter(o => o.kind === "ClusterRoleBinding").map(o => o.metadata?.name)).toEqual(["berth-reader"]);
		for (const c of berthContainers(rendered)) {
			expect(envOf(c, "RBAC_SERVICE_ACCOUNT")?.value).toBe(`${namespace}:berth`);
			expect(envOf(c, "RBAC_ROLE")?.value).toBe("berth-tenant-writer");
		}
	});

	it("documents every value in its README", () => {
		const readme = fs.readFileSync(path.join(chart, "README.md"), "utf8");
		const values = parse(fs.readFileSync(path.join(chart, "values.yaml"), "utf8")) as Record<string, unknown>;
		const leaves = (obj: Record<string, unknown>, prefix = ""): string[] =>
			Object.entries(obj).flatMap(([k, v]) => (v && typeof v === "object" && !Array.isArray(v) && Object.keys(v).length && k !== "resources" ? leaves(v as Record<string, unknown>, `${prefix}${k}.`) : [`${prefix}${k}`]));
		expect(leaves(values).filter(name => !readme.includes(`| \`${name}\` |`))).toEqual([]);
	});
});
