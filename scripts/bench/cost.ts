/**
 * Issue #24 item 2, count: the mesh calls (moleculer_request_total by action) and apiserver requests
 * (berth_apiserver_requests_total by verb) that one create, one scale and one delete through REST
 * cost, read from the mesh's /metrics before and after each, background passes included (a settle
 * of BENCH_COST_SETTLE_MS, default 3 s, after each answer lets status write-backs land).
 */
import { randomBytes } from "node:crypto";
import { BENCH_QUOTA } from "./deploy";
import type { BenchRow } from "./rows";
import { startMetered, type ScaleContext } from "./scale";
import { delta, scrape, sumBy, type Sample } from "./scrape";
import { log, sleep } from "./util";

export interface OpCost {
	op: string;
	mesh: Record<string, number>;
	apiserver: Record<string, number>;
}

const total = (o: Record<string, number>) => Object.values(o).reduce((a, b) => a + b, 0);

function counts(samples: Sample[]): { mesh: Record<string, number>; apiserver: Record<string, number> } {
	return { mesh: sumBy(samples, "moleculer_request_total", "action"), apiserver: sumBy(samples, "berth_apiserver_requests_total", "verb") };
}

export function formatCost(c: OpCost): string {
	const lines = [`${c.op}: ${total(c.mesh)} mesh calls, ${total(c.apiserver)} apiserver requests`];
	for (const [k, n] of Object.entries(c.mesh).sort()) lines.push(`  mesh       ${k.padEnd(44)} ${String(n).padStart(3)}`);
	for (const [k, n] of Object.entries(c.apiserver).sort()) lines.push(`  apiserver  ${k.padEnd(44)} ${String(n).padStart(3)}`);
	return lines.join("\n");
}

/**
 * The counts before issue #24's cut, measured by this benchmark at 83cebe5 (one run; background
 * passes within the settle make the apiserver's vary by a request or two).
 */
export const BEFORE_CUT: Record<string, { mesh: number; apiserver: number }> = {
	create: { mesh: 15, apiserver: 22 },
	scale: { mesh: 6, apiserver: 6 },
	delete: { mesh: 10, apiserver: 19 },
};

export function costRows(costs: OpCost[]): BenchRow[] {
	return costs.flatMap(c => {
		const before = BEFORE_CUT[c.op];
		return (["mesh", "apiserver"] as const).map((what): BenchRow => {
			const now = total(c[what]);
			const baseline = before?.[what] || null;
			return { id: `count-${c.op}-${what}`, benchmark: `count: ${what === "mesh" ? "mesh calls" : "apiserver requests"} of one ${c.op} (baseline: before the cut)`, berth: now, baseline, unit: "calls", ratio: baseline ? now / baseline : null, target: "≤ before", met: baseline === null || now <= baseline };
		});
	});
}

export async function runCost(ctx: ScaleContext): Promise<BenchRow[]> {
	const settleMs = Number(process.env.BENCH_COST_SETTLE_MS || 3_000);
	const { mesh, metricsUrl } = await startMetered(ctx, "cost");
	const costs: OpCost[] = [];
	try {
		const namespace = `bench-cost-${randomBytes(2).toString("hex")}`;
		await mesh.must("POST", "/api/v1/k8s/namespaces", { name: namespace, quota: BENCH_QUOTA });
		ctx.createdNamespaces?.push(namespace);
		await sleep(settleMs);
		const measure = async (op: string, fn: () => Promise<void>) => {
			const before = counts(await scrape(metricsUrl));
			await fn();
			await sleep(settleMs);
			const after = counts(await scrape(metricsUrl));
			const cost: OpCost = { op, mesh: delta(before.mesh, after.mesh), apiserver: delta(before.apiserver, after.apiserver) };
			log(formatCost(cost));
			costs.push(cost);
		};
		let id = "";
		await measure("create", async () => {
			id = (await mesh.must<{ id: string }>("POST", "/api/v1/k8s/deployments", { name: "web", namespace, image: "nginx", env: [{ key: "MODE", value: "production" }] })).id;
		});
		await measure("scale", () => mesh.must("POST", `/api/v1/k8s/deployments/${id}/scale`, { replicas: 2 }));
		await measure("delete", () => mesh.must("DELETE", `/api/v1/k8s/deployments/${id}`));
	} finally {
		await mesh.stop();
	}
	return costRows(costs);
}
