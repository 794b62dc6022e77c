import { costRows } from "../../scripts/bench/cost";
import { scaleRows, scaleSizes, type ScalePoint } from "../../scripts/bench/scale";
import { delta, parseMetrics, percentile, sumBy } from "../../scripts/bench/scrape";

const PROMETHEUS = `# HELP moleculer_request_total Number of requests
# TYPE moleculer_request_total counter
moleculer_request_total{action="v1.k8s.deployments.create",service="v1.k8s.deployments",caller="api"} 3
moleculer_request_total{action="v1.k8s.deployments.create",service="v1.k8s.deployments",caller="null"} 1
moleculer_request_total{action="v1.audit.record",service="v1.audit",caller="api"} 2
berth_apiserver_requests_total{verb="apply"} 7
berth_reconcile_resync_seconds{controller="k8s.deployments"} 1.5
berth_reconcile_resync_keys{controller="k8s.deployments"} 1000
`;

describe("the scale benchmarks' arithmetic", () => {
	it("reads Prometheus samples and sums them by a label", () => {
		const samples = parseMetrics(PROMETHEUS);
		expect(sumBy(samples, "moleculer_request_total", "action")).toEqual({ "v1.k8s.deployments.create": 4, "v1.audit.record": 2 });
		expect(sumBy(samples, "berth_reconcile_resync_keys", "controller")).toEqual({ "k8s.deployments": 1000 });
		expect(sumBy(samples, "moleculer_request_total", "action", { caller: "api" })).toEqual({ "v1.k8s.deployments.create": 3, "v1.audit.record": 2 });
	});

	it("keeps only what grew between two readings", () => {
		expect(delta({ a: 1, b: 2 }, { a: 1, b: 5, c: 1 })).toEqual({ b: 3, c: 1 });
	});

	it("takes nearest-rank percentiles", () => {
		const values = Array.from({ length: 100 }, (_, i) => 100 - i);
		expect(percentile(values, 50)).toBe(50);
		expect(percentile(values, 99)).toBe(99);
		expect(percentile([7], 99)).toBe(7);
		expect(percentile([], 50)).toBeNaN();
	});

	it("measures a tenth, half and all of BENCH_SCALE", () => {
		expect(scaleSizes(10_000)).toEqual([1_000, 5_000, 10_000]);
		expect(scaleSizes(2_000)).toEqual([200, 1_000, 2_000]);
	});

	it("makes rows with the issue's targets at the top size", () => {
		const point = (deployments: number, createPerSec: number, rssMiB: number): ScalePoint => ({ deployments, createPerSec, createFailed: 0, pageP50Ms: 8, pageP99Ms: 60, resyncSeconds: 12, resyncKeys: deployments, rssMiB });
		const rows = scaleRows([point(1000, 40, 150), point(10_000, 44, 230)], 130, 30);
		const byId = Object.fromEntries(rows.map(r => [r.id, r]));
		expect(byId["5a"]).toMatchObject({ berth: 44, baseline: 40, ratio: 1.1, met: true });
		expect(byId["5c"]).toMatchObject({ berth: 60, met: false });
		expect(byId["5d"]).toMatchObject({ berth: 12, met: true });
		expect(byId["5e"]).toMatchObject({ berth: 10, unit: "MiB", met: true });
		expect(byId["5f"]).toMatchObject({ berth: 30, baseline: 40, ratio: 0.75 });
		for (const r of rows) expect(Object.keys(r).sort()).toEqual(["baseline", "benchmark", "berth", "id", "met", "ratio", "target", "unit"]);
	});

	it("compares the write path's counts with those before the cut", () => {
		const rows = costRows([{ op: "delete", mesh: { a: 3, b: 4 }, apiserver: { list: 7, delete: 5 } }]);
		expect(rows.map(r => [r.id, r.berth, r.baseline, r.met])).toEqual([
			["count-delete-mesh", 7, 10, true],
			["count-delete-apiserver", 12, 19, true],
		]);
	});
});
