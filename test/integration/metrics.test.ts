import { uniqueName } from "../helpers/cluster";
import { eventually } from "../helpers/eventually";
import { createNamespace, keyFor, request, startMesh, type Mesh } from "../helpers/mesh";
import { freePort } from "../helpers/nodes";
import { getKubeClient } from "../../lib/k8s";
import { metricsOption } from "../../lib/metrics";

/**
 * METRICS_PORT: Moleculer's Prometheus reporter at /metrics, with Berth's own metrics beside the
 * per-action ones: the apiserver requests and errors, the reconcile queues and passes, the informer lag.
 */
describe("Prometheus metrics", () => {
	let mesh: Mesh;
	let metricsUrl: string;
	let alice: string;
	let nsId: string;

	beforeAll(async () => {
		const port = await freePort();
		metricsUrl = `http://127.0.0.1:${port}/metrics`;
		mesh = await startMesh(["api", "keys", "k8s.namespaces", "k8s.images", "k8s.deployments", "k8s.envs"], { metrics: metricsOption({ metricsPort: port, host: "127.0.0.1" }) });
		alice = await keyFor(mesh, uniqueName("alice"));
		({ id: nsId } = await createNamespace(mesh, alice, uniqueName("it-metrics"), { cpu: "1", memory: "1Gi", pods: 4 }));
	});

	afterAll(async () => {
		await request(`${mesh.url}/api/v1/k8s/namespaces/${nsId}`, { method: "DELETE", key: alice });
		await mesh.stop();
	});

	const scrape = async (): Promise<string> => {
		const res = await fetch(metricsUrl);
		expect(res.status).toBe(200);
		expect(res.headers.get("content-type")).toMatch(/^text\/plain/);
		return res.text();
	};

	it("counts requests and their latency per action, and Berth's apiserver requests and reconcile passes", async () => {
		const created = await request(`${mesh.url}/api/v1/k8s/deployments`, { method: "POST", key: alice, body: { name: "web", namespace: nsId, image: "nginx" } });
		expect(created.status).toBe(201);
		await request(`${mesh.url}/api/v1/k8s/deployments/${created.body.id}/scale`, { method: "POST", key: alice, body: { replicas: 2 } });
		const text = await eventually(async () => {
			const t = await scrape();
			expect(t).toMatch(/^berth_informer_lag_seconds_count\{[^}]*kind="Deployment"[^}]*\} [1-9]/m);
			return t;
		});
		expect(text).toMatch(/^moleculer_request_total\{[^}]*action="v1\.k8s\.deployments\.create"[^}]*\} [1-9]/m);
		expect(text).toMatch(/^moleculer_request_time_bucket\{.*action="v1\.k8s\.deployments\.scale".*\} /m);
		expect(text).toMatch(/^berth_apiserver_requests_total\{[^}]*verb="apply"[^}]*\} [1-9]/m);
		expect(text).toMatch(/^berth_reconcile_duration_seconds_count\{[^}]*controller="k8s\.deployments",outcome="ok"[^}]*\} [1-9]/m);
		expect(text).toMatch(/^berth_reconcile_queue_depth\{[^}]*controller="k8s\.deployments"[^}]*\} \d+/m);
	});

	it("counts the apiserver's refusals by verb and status", async () => {
		// This process's client is the mesh's: a ConfigMap name the apiserver refuses is its 422.
		await expect(getKubeClient().apply({ apiVersion: "v1", kind: "ConfigMap", metadata: { name: "Not_A_Name", namespace: "default" } })).rejects.toMatchObject({ code: 422 });
		expect(await scrape()).toMatch(/^berth_apiserver_errors_total\{[^}]*verb="apply",code="422"[^}]*\} [1-9]/m);
	});
});
