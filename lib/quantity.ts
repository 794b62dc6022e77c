/**
 * Kubernetes resource quantities as numbers: CPU in millicores, memory and storage in bytes.
 * Used to check that a workload fits a namespace's quota before anything is applied.
 */
const binary: Record<string, number> = { Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30, Ti: 2 ** 40, Pi: 2 ** 50, Ei: 2 ** 60 };
const decimal: Record<string, number> = { n: 1e-9, u: 1e-6, m: 1e-3, "": 1, k: 1e3, M: 1e6, G: 1e9, T: 1e12, P: 1e15, E: 1e18 };

const QUANTITY = /^([+-]?\d+(?:\.\d+)?)(Ki|Mi|Gi|Ti|Pi|Ei|n|u|m|k|M|G|T|P|E)?$/;

/** A container's cpu and memory requests and limits: numbers in the catalog (millicores, Mi), quantities in jobs. */
export interface ResourcePair<Q> {
	requests: { cpu: Q; memory: Q };
	limits: { cpu: Q; memory: Q };
}

/** The value of a quantity string ("500m", "2", "1Gi") in base units (cores, bytes); NaN if malformed. */
export function parseQuantity(q: string | number): number {
	if (typeof q === "number") return q;
	const m = QUANTITY.exec(q.trim());
	if (!m) return NaN;
	const n = Number(m[1]);
	const suffix = m[2] ?? "";
	return n * (binary[suffix] ?? decimal[suffix]);
}

export function isQuantity(q: unknown): boolean {
	return (typeof q === "string" || typeof q === "number") && Number.isFinite(parseQuantity(q as string));
}

/** CPU in millicores ("500m" → 500, "2" → 2000). */
export function cpuMillis(q: string | number): number {
	return Math.round(parseQuantity(q) * 1000);
}

/** Memory or storage in bytes ("512Mi" → 536870912). */
export function bytes(q: string | number): number {
	return Math.round(parseQuantity(q));
}

/** The catalog writes cpu as millicores and memory as Mi (plain numbers); Kubernetes wants strings. */
export function catalogCpu(millicores: number): string {
	return `${millicores}m`;
}

export function catalogMemory(mebibytes: number): string {
	return `${mebibytes}Mi`;
}

export function formatBytes(n: number): string {
	for (const [suffix, size] of [["Gi", 2 ** 30], ["Mi", 2 ** 20], ["Ki", 2 ** 10]] as const) if (n >= size && n % size === 0) return `${n / size}${suffix}`;
	return String(n);
}
