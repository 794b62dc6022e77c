/** Prometheus text from a mesh started with METRICS_PORT (lib/metrics.ts), read into numbers. */

export interface Sample {
	name: string;
	labels: Record<string, string>;
	value: number;
}

/** Parses the exposition format's sample lines (`name{a="b"} 1`), skipping comments. */
export function parseMetrics(text: string): Sample[] {
	const out: Sample[] = [];
	for (const line of text.split("\n")) {
		const m = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})?\s+(\S+)/.exec(line);
		if (!m) continue;
		const labels: Record<string, string> = {};
		for (const l of (m[2] ?? "").matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) labels[l[1]] = l[2];
		out.push({ name: m[1], labels, value: Number(m[3]) });
	}
	return out;
}

/** The sum of a metric's samples by one label (e.g. moleculer_request_total by action). */
export function sumBy(samples: Sample[], name: string, label: string, where: Record<string, string> = {}): Record<string, number> {
	const out: Record<string, number> = {};
	for (const s of samples) {
		if (s.name !== name || !Object.entries(where).every(([k, v]) => s.labels[k] === v)) continue;
		const key = s.labels[label] ?? "";
		out[key] = (out[key] ?? 0) + s.value;
	}
	return out;
}

/** What grew between two readings of `sumBy`, without the keys that did not. */
export function delta(before: Record<string, number>, after: Record<string, number>): Record<string, number> {
	const out: Record<string, number> = {};
	for (const [k, v] of Object.entries(after)) if (v - (before[k] ?? 0) > 0) out[k] = v - (before[k] ?? 0);
	return out;
}

export async function scrape(metricsUrl: string): Promise<Sample[]> {
	const res = await fetch(metricsUrl, { signal: AbortSignal.timeout(30_000) });
	if (res.status !== 200) throw new Error(`GET ${metricsUrl}: ${res.status}`);
	return parseMetrics(await res.text());
}

/** The p-th percentile (0–100) of `values`, nearest rank. */
export function percentile(values: number[], p: number): number {
	if (!values.length) return NaN;
	const sorted = [...values].sort((a, b) => a - b);
	return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))];
}
