import { execFile } from "node:child_process";
import * as os from "node:os";
import * as path from "node:path";
import type { V1ConfigMap, V1Deployment, V1Ingress, V1Secret, V1Service } from "../../lib/k8s";
import { kube, uniqueName } from "../helpers/cluster";
import { envBackends } from "../helpers/backends";
import { eventually } from "../helpers/eventually";
import { request, startMesh, type Mesh } from "../helpers/mesh";

const backends = envBackends;

const KUBECTL = process.env.KUBECTL || path.join(os.homedir(), ".cache", "berth", "kubernetes-v1.36.3", "bin", "kubectl");
/** kubectl as a person would run it, behind Berth's back (KUBECONFIG comes from .cluster/env). */
function kubectl(...args: string[]): Promise<{ stdout: string; stderr: string }> {
	return new Promise((resolve, reject) =>
		execFile(KUBECTL, args, { env: { ...process.env } }, (err, stdout, stderr) => (err ? reject(new Error(`kubectl ${args.join(" ")}: ${stderr || err.message}`)) : resolve({ stdout, stderr }))),
	);
}

describe.each(backends)("drift: the cluster converges back to the entities, stored in %s", (_backend, useBackend) => {
	let mesh: Mesh;
	let alice: string;
	let nsName: string;
	let nsId: string;
	let id: string;
	const name = "drifty";
	const live = <T>(kind: string, apiVersion: string, n: string) => kube().get<T & { kind?: string }>({ apiVersion, kind, name: n, namespace: nsName }) as Promise<T | undefined>;

	beforeAll(async () => {
		useBackend();
		mesh = await startMesh(["api", "keys", "k8s.namespaces", "k8s.images", "k8s.deployments", "k8s.envs"]);
		const user = uniqueName("alice");
		alice = (await request(`${mesh.url}/api/v1/keys`, { method: "POST", key: mesh.adminKey, body: { name: user, userID: user } })).body.key;
		nsName = uniqueName("it-drift");
		nsId = (await request(`${mesh.url}/api/v1/k8s/namespaces`, { method: "POST", key: alice, body: { name: nsName } })).body.id;
		const res = await request(`${mesh.url}/api/v1/k8s/deployments`, {
			method: "POST",
			key: alice,
			body: { name, namespace: nsName, image: "nginx", vHosts: [`${name}.${nsName}.${process.env.BASE_DOMAIN || "berth.local"}`], configMap: { name: "conf", data: { "default.conf": "server { listen 80; }" } }, env: [{ key: "TOKEN", value: "s3cret-token", type: "secret" }] },
		});
		expect(res.status).toBe(201);
		id = res.body.id;
		await eventually(async () => expect((await live<V1Deployment>("Deployment", "apps/v1", name))?.status?.readyReplicas).toBe(1));
	});

	afterAll(async () => {
		await request(`${mesh.url}/api/v1/k8s/namespaces/${nsId}`, { method: "DELETE", key: alice });
		await mesh.stop();
	});

	it("restores a Service and a ConfigMap deleted with kubectl", async () => {
		const svcBefore = await live<V1Service>("Service", "v1", `${name}-service`);
		await kubectl("delete", "service", `${name}-service`, "-n", nsName, "--wait=true");
		await kubectl("delete", "configmap", `${name}-conf`, "-n", nsName, "--wait=true");
		await eventually(async () => {
			const svc = await live<V1Service>("Service", "v1", `${name}-service`);
			expect(svc?.metadata?.uid).toBeDefined();
			expect(svc?.metadata?.uid).not.toBe(svcBefore?.metadata?.uid);
			expect(svc?.spec?.ports).toEqual([expect.objectContaining({ port: 80, targetPort: 80 })]);
			expect((await live<V1ConfigMap>("ConfigMap", "v1", `${name}-conf`))?.data).toEqual({ "default.conf": "server { listen 80; }" });
		});
		const { stdout } = await kubectl("get", "service", `${name}-service`, "-n", nsName, "-o", "jsonpath={.metadata.labels.berth\\.dev/id}");
		expect(stdout).toBe(id);
	});

	it("restores an Ingress and the env Secret deleted with kubectl", async () => {
		await kubectl("delete", "ingress", name, "-n", nsName, "--wait=true");
		await kubectl("delete", "secret", `${name}-env`, "-n", nsName, "--wait=true");
		await eventually(async () => {
			expect((await live<V1Ingress>("Ingress", "networking.k8s.io/v1", name))?.spec?.rules?.[0].host).toBe(`${name}.${nsName}.${process.env.BASE_DOMAIN || "berth.local"}`);
			const secret = await live<V1Secret>("Secret", "v1", `${name}-env`);
			expect(Buffer.from(secret?.data?.TOKEN ?? "", "base64").toString()).toBe("s3cret-token");
		});
	});

	it("undoes edits made with kubectl: replicas, config files", async () => {
		await kubectl("scale", "deployment", name, "-n", nsName, "--replicas=3");
		await kubectl("patch", "configmap", `${name}-conf`, "-n", nsName, "--type", "merge", "-p", JSON.stringify({ data: { "default.conf": "hacked" } }));
		await eventually(async () => {
			expect((await live<V1Deployment>("Deployment", "apps/v1", name))?.spec?.replicas).toBe(1);
			expect((await live<V1ConfigMap>("ConfigMap", "v1", `${name}-conf`))?.data).toEqual({ "default.conf": "server { listen 80; }" });
		});
	});

	it("recreates a deleted Deployment, which runs again", async () => {
		await kubectl("delete", "deployment", name, "-n", nsName, "--wait=true");
		await eventually(async () => {
			const dep = await live<V1Deployment>("Deployment", "apps/v1", name);
			expect(dep?.status?.readyReplicas).toBe(1);
		});
		await eventually(async () => expect((await request(`${mesh.url}/api/v1/k8s/deployments/${id}`, { key: alice })).body.status).toMatchObject({ phase: "Running" }));
	});
});
