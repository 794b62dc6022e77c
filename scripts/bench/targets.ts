/**
 * A benchmark's target and whether a measurement meets it: the one place `met` is decided. A target
 * bounds either the ratio to the baseline (`of: "ratio"`, e.g. ≤ 1.0×) or Berth's own figure
 * (`of: "berth"`, e.g. < 150 MB).
 */
import type { BenchRow } from "./rows";

export interface Target {
	of: "ratio" | "berth";
	op: "<" | "≤" | ">" | "≥";
	value: number;
	/** Shown after the value: "×" for ratios, else the row's unit. */
	unit?: string;
	/** Said after the bound, e.g. "stretch 0.7×". */
	note?: string;
}

/** The target as the table shows it, e.g. "≤ 1.0×" or "< 150 MB". */
export function targetText(t: Target): string {
	const unit = t.of === "ratio" ? "×" : t.unit ? ` ${t.unit}` : "";
	const value = t.of === "ratio" ? t.value.toFixed(2).replace(/0$/, "") : t.value.toLocaleString("en-US");
	return `${t.op} ${value}${unit}${t.note ? ` (${t.note})` : ""}`;
}

/** Whether `x` is within the bound. */
export function within(x: number, t: Pick<Target, "op" | "value">): boolean {
	if (!Number.isFinite(x)) return false;
	switch (t.op) {
		case "<":
			return x < t.value;
		case "≤":
			return x <= t.value;
		case ">":
			return x > t.value;
		case "≥":
			return x >= t.value;
	}
}

export interface RowInput {
	id: string;
	benchmark: string;
	berth: number;
	baseline?: number | null;
	unit: string;
	target: Target;
	/** A run that failed part of its work meets no target, whatever its figure. */
	clean?: boolean;
}

/** One row of results.json: the ratio is Berth over the baseline (for times: lower is better; for rates: higher). */
export function benchRow(r: RowInput): BenchRow {
	const baseline = r.baseline ?? null;
	const ratio = baseline !== null && baseline > 0 && Number.isFinite(r.berth) ? r.berth / baseline : null;
	const measured = r.target.of === "ratio" ? ratio : r.berth;
	const met = measured !== null && (r.clean ?? true) && within(measured, r.target);
	return { id: r.id, benchmark: r.benchmark, berth: r.berth, baseline, unit: r.unit, ratio, target: targetText({ unit: r.unit, ...r.target }), met };
}
