import { loadConfig } from "../../lib/config";
import { execFile } from "node:child_process";
import * as os from "node:os";
import * as path from "node:path";
import type { KubernetesObject, V1Deployment, V1Ingress, V1Service, V2HorizontalPodAutoscaler } from "../../lib/k8s";
import { envBackends } from "../helpers/backends";
import { kube, uniqueName } from "../helpers/cluster";
import { eventually } from "../helpers/eventually";
import { request, startMesh, type HttpResult, type Mesh } from "../helpers/mesh";
import { setEnv } from "./applications.fixtures";

/**
 * Issue 22's workload fields through REST, read back from the real apiserver: the catalog's probes
 * (and a deployment's overrides), Ingress rules only for public ports, the Ingress class, TLS and
 * allowed annotations, and an HPA that owns the replicas (a `kubectl scale` survives a forced resync).
 */
const SERVICES = ["api", "keys", "k8s.namespaces", "k8s.images", "k8s.deployments", "k8s.envs"];
const KUBECTL = process.env.KUBECTL || path.join(os.homedir(), ".cache", "berth", "kubernetes-v1.36.3", "bin", "kubectl");
const ALLOWED = "nginx.ingress.kubernetes.io/proxy-body-size";

function kubectl(...args: string[]): Promise<string> {
	return new Promise((resolve, reject) => execFile(KUBECTL, args, { env: { ...process.env } }, (err, stdout, stderr) => (err ? reject(new Error(`kubectl ${args.join(" ")}: ${stderr || err.message}`)) : resolve(stdout))));
}

describe.each(envBackends)("production workloads of v1.k8s.deployments against the real control plane, stored in %s", (_backend, useBackend) => {
	let mesh: Mesh;
	let alice: string;
	let nsName: string;
	let nsId: string;
	let restoreEnv: () => void;
	const api = (p: string) => `${mesh.url}/api/v1/k8s/deployments${p}`;
	const call = (url: string, init: Parameters<typeof request>[1] = {}): Promise<HttpResult<any>> => request(url, { key: alice, ...init });
	// A host of the namespace's own domain (issue #19, "Domains"): `<namespace>.<BASE_DOMAIN>`.
	const secureHost = () => `secure.${nsName}.${loadConfig().baseDomain}`;
	const create = (body: Record<string, unknown>) => call(api("/"), { method: "POST", body: { namespace: nsName, image: "nginx", ...body } });
	const get = <T extends KubernetesObject>(kind: string, apiVersion: string, name: string) => kube().get<T>({ apiVersion, kind, name, namespace: nsName });
	const deployment = (name: string) => get<V1Deployment>("Deployment", "apps/v1", name);
	const ingress = (name: string) => get<V1Ingress>("Ingress", "networking.k8s.io/v1", name);
	const hpa = (name: string) => get<V2HorizontalPodAutoscaler>("HorizontalPodAutoscaler", "autoscaling/v2", name);

	beforeAll(async () => {
		useBackend();
		restoreEnv = setEnv({ INGRESS_CLASS: "berth-test", TLS_ISSUER: "test-issuer", INGRESS_ANNOTATIONS_ALLOWED: ALLOWED });
		mesh = await startMesh(SERVICES);
		const userID = uniqueName("alice");
		alice = (await request(`${mesh.url}/api/v1/keys`, { method: "POST", key: mesh.adminKey, body: { name: userID, userID } })).body.key as string;
		nsName = uniqueName("it-workloads");
		const ns = await call(`${mesh.url}/api/v1/k8s/namespaces`, { method: "POST", body: { name: nsName, quota: { cpu: "8", memory: "8Gi", pods: 12 } } });
		expect(ns.status).toBe(201);
		nsId = ns.body.id;
	});

	afterAll(async () => {
		if (nsId) await call(`${mesh.url}/api/v1/k8s/namespaces/${nsId}`, { method: "DELETE" });
		await mesh?.stop();
		restoreEnv?.();
	});

	it("applies the catalog's probes, and a deployment's overrides", async () => {
		expect((await create({ name: "probed" })).status).toBe(201);
		const c = (await deployment("probed"))!.spec!.template.spec!.containers[0];
		expect(c.readinessProbe).toMatchObject({ httpGet: { path: "/", port: 80 }, periodSeconds: 10 });
		expect(c.livenessProbe).toMatchObject({ httpGet: { path: "/", port: 80 } });
		const pg = await create({ name: "pg", image: "postgres" });
		expect(pg.status).toBe(201);
		expect((await deployment("pg"))!.spec!.template.spec!.containers[0]).toMatchObject({ readinessProbe: { tcpSocket: { port: 5432 } }, startupProbe: { tcpSocket: { port: 5432 }, failureThreshold: 60 } });
		const changed = await call(api(`/${(await call(api("/"))).body.find((d: { name: string }) => d.name === "probed").id}`), { method: "PATCH", body: { probes: { readiness: { tcp: { port: 80 }, periodSeconds: 3 }, liveness: false } } });
		expect(changed.status).toBe(200);
		expect(changed.body.probes).toEqual({ readiness: { tcp: { port: 80 }, periodSeconds: 3 }, liveness: false });
		await eventually(async () => {
			const live = (await deployment("probed"))!.spec!.template.spec!.containers[0];
			expect(live.readinessProbe).toMatchObject({ tcpSocket: { port: 80 }, periodSeconds: 3 });
			expect(live.livenessProbe).toBeUndefined();
		});
		const bad = await create({ name: "badprobe", probes: { readiness: { tcp: { port: "grpc" } } } });
		expect(bad.status).toBe(422);
		expect(bad.body.data).toEqual([expect.objectContaining({ field: "probes.readiness" })]);
	});

	it("routes only public ports: a database keeps its Service and gets no Ingress", async () => {
		expect((await get<V1Service>("Service", "v1", "pg-service"))?.spec?.ports).toEqual([expect.objectContaining({ port: 5432 })]);
		expect(await ingress("pg")).toBeUndefined();
		const web = await ingress("probed");
		expect(web?.spec?.ingressClassName).toBe("berth-test");
		expect(web?.spec?.rules?.[0].http?.paths[0].backend.service?.port?.number).toBe(80);
		// A port made public on purpose is routed.
		const exposed = await create({ name: "pgpub", image: "postgres", ports: [{ name: "postgres", port: 5432, expose: "public" }] });
		expect(exposed.status).toBe(201);
		expect((await ingress("pgpub"))?.spec?.rules?.[0].http?.paths[0].backend.service?.port?.number).toBe(5432);
		expect((await call(api(`/${exposed.body.id}`), { method: "DELETE" })).status).toBe(200);
	});

	it("TLS from the issuer or a named Secret, and only the annotations the admin allows", async () => {
		const tls = await create({ name: "secure", tls: true, vHosts: [secureHost()], annotations: { [ALLOWED]: "16m" } });
		expect(tls.status).toBe(201);
		let ing = (await ingress("secure"))!;
		expect(ing.spec?.tls).toEqual([{ hosts: [secureHost()], secretName: "secure-tls" }]);
		expect(ing.metadata?.annotations).toMatchObject({ "cert-manager.io/cluster-issuer": "test-issuer", [ALLOWED]: "16m" });
		expect(ing.spec?.ingressClassName).toBe("berth-test");
		expect(tls.body.annotations).toEqual({ [ALLOWED]: "16m" });
		const named = await call(api(`/${tls.body.id}`), { method: "PATCH", body: { tls: { secretName: "my-cert" }, annotations: null } });
		expect(named.status).toBe(200);
		await eventually(async () => {
			ing = (await ingress("secure"))!;
			expect(ing.spec?.tls).toEqual([{ hosts: [secureHost()], secretName: "my-cert" }]);
			expect(ing.metadata?.annotations?.["cert-manager.io/cluster-issuer"]).toBeUndefined();
			expect(ing.metadata?.annotations?.[ALLOWED]).toBeUndefined();
		});
		const refused = await create({ name: "sneaky", annotations: { "nginx.ingress.kubernetes.io/server-snippet": "evil" } });
		expect(refused.status).toBe(422);
		expect(refused.body).toMatchObject({ type: "VALIDATION_ERROR", data: [expect.objectContaining({ field: "annotations" })] });
		expect(await deployment("sneaky")).toBeUndefined();
	});

	it("autoscale: an HPA owns the replicas; kubectl scale survives a forced resync; scale is 409; the quota counts maxReplicas", async () => {
		const made = await create({ name: "elastic", replicas: 2 });
		expect(made.status).toBe(201);
		const id = made.body.id as string;
		await eventually(async () => expect((await deployment("elastic"))?.spec?.replicas).toBe(2));
		const on = await call(api(`/${id}`), { method: "PATCH", body: { autoscale: { minReplicas: 1, maxReplicas: 4, cpu: 60 } } });
		expect(on.status).toBe(200);
		const h = await eventually(async () => {
			const found = await hpa("elastic");
			expect(found).toBeDefined();
			return found as V2HorizontalPodAutoscaler;
		});
		expect(h.spec).toMatchObject({ scaleTargetRef: { apiVersion: "apps/v1", kind: "Deployment", name: "elastic" }, minReplicas: 1, maxReplicas: 4, metrics: [{ type: "Resource", resource: { name: "cpu", target: { type: "Utilization", averageUtilization: 60 } } }] });
		// Berth's field manager gave spec.replicas up.
		await eventually(async () => {
			const berth = (await deployment("elastic"))!.metadata?.managedFields?.find(f => f.manager === "berth" && f.operation === "Apply");
			expect(JSON.stringify(berth?.fieldsV1)).not.toContain("f:replicas");
		});
		await kubectl("scale", "deployment", "elastic", "-n", nsName, "--replicas=3");
		const applied = await call(api(`/${id}/apply`), { method: "POST" });
		expect(applied.status).toBe(200);
		expect(applied.body.applied.map((a: { kind: string }) => a.kind)).toContain("HorizontalPodAutoscaler");
		expect((await deployment("elastic"))?.spec?.replicas).toBe(3);
		const scaled = await call(api(`/${id}/scale`), { method: "POST", body: { replicas: 2 } });
		expect(scaled.status).toBe(409);
		expect(scaled.body.type).toBe("CONFLICT");
		// 12 pods in the quota: a maximum of 20 does not fit, whatever the replicas are now.
		const tooMany = await call(api(`/${id}`), { method: "PATCH", body: { autoscale: { minReplicas: 1, maxReplicas: 20 } } });
		expect(tooMany.status).toBe(422);
		expect(tooMany.body.type).toBe("QUOTA_EXCEEDED");
		expect((await deployment("elastic"))?.spec?.replicas).toBe(3);
		// Off again: the HPA goes and Berth's replicas apply again.
		const off = await call(api(`/${id}`), { method: "PATCH", body: { autoscale: null } });
		expect(off.status).toBe(200);
		expect(off.body).not.toHaveProperty("autoscale");
		await eventually(async () => {
			expect(await hpa("elastic")).toBeUndefined();
			expect((await deployment("elastic"))?.spec?.replicas).toBe(2);
		});
		expect((await call(api(`/${id}/scale`), { method: "POST", body: { replicas: 1 } })).status).toBe(200);
	});
});
