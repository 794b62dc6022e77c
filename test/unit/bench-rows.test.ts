import { benchRow, targetText, within } from "../../scripts/bench/targets";
import { renderTable, rows, type Results } from "../../scripts/bench/report";

describe("bench rows: met and the ratio", () => {
	it("a ≤ ratio target is met at or under the bound, missed over it", () => {
		const row = (berth: number, baseline: number) => benchRow({ id: "1a", benchmark: "apply", berth, baseline, unit: "s", target: { of: "ratio", op: "≤", value: 1 } });
		expect(row(5, 5)).toMatchObject({ ratio: 1, met: true, target: "≤ 1.0×" });
		expect(row(3.5, 5)).toMatchObject({ ratio: 0.7, met: true });
		expect(row(5.5, 5).met).toBe(false);
	});

	it("a ≥ ratio target is met at or over the bound, missed under it", () => {
		const row = (berth: number) => benchRow({ id: "2a", benchmark: "reads", berth, baseline: 1000, unit: "req/s", target: { of: "ratio", op: "≥", value: 0.7 } });
		expect(row(700)).toMatchObject({ ratio: 0.7, met: true, target: "≥ 0.7×" });
		expect(row(1200).met).toBe(true);
		expect(row(699).met).toBe(false);
	});

	it("a target on Berth's own figure ignores the baseline; < and > are strict", () => {
		expect(benchRow({ id: "4a", benchmark: "idle", berth: 149.9, unit: "MB", target: { of: "berth", op: "<", value: 150 } })).toMatchObject({ baseline: null, ratio: null, met: true, target: "< 150 MB" });
		expect(benchRow({ id: "4a", benchmark: "idle", berth: 150, unit: "MB", target: { of: "berth", op: "<", value: 150 } }).met).toBe(false);
		expect(benchRow({ id: "3b", benchmark: "list", berth: 3000, unit: "objects/s", target: { of: "berth", op: "≥", value: 3000 } })).toMatchObject({ met: true, target: "≥ 3,000 objects/s" });
		expect(within(3000, { op: ">", value: 3000 })).toBe(false);
	});

	it("no baseline means no ratio, and a ratio target is then not met", () => {
		expect(benchRow({ id: "1b", benchmark: "ready", berth: 10, baseline: null, unit: "s", target: { of: "ratio", op: "≤", value: 1.05 } })).toMatchObject({ ratio: null, met: false, target: "≤ 1.05×" });
		expect(benchRow({ id: "1b", benchmark: "ready", berth: 10, baseline: 0, unit: "s", target: { of: "ratio", op: "≤", value: 1.05 } }).met).toBe(false);
	});

	it("a run that failed part of its work meets nothing, and NaN never meets", () => {
		expect(benchRow({ id: "1a", benchmark: "apply", berth: 1, baseline: 5, unit: "s", target: { of: "ratio", op: "≤", value: 1 }, clean: false }).met).toBe(false);
		expect(within(Number.NaN, { op: "<", value: 1 })).toBe(false);
	});

	it("the target says its stretch goal", () => {
		expect(targetText({ of: "ratio", op: "≤", value: 1, note: "stretch 0.7×" })).toBe("≤ 1.0× (stretch 0.7×)");
	});
});

describe("bench rows: results.json's rows from a run", () => {
	it("1a is the apply time and 1b the time to Ready, each against kubectl's; memory in MB", () => {
		const side = (appliedSeconds: number, seconds: number) => ({ appliedSeconds, seconds, submittedSeconds: appliedSeconds, objectsPerApp: 6, ready: 2, failed: 0, notes: [] });
		const results = {
			command: "npm run bench",
			startedAt: "",
			config: { createConcurrency: 16, connections: 32, pods: 10, only: [] },
			deploy: { apps: 2, berth: side(4, 20), kubectl: side(5, 20) },
			idle: { rssMiB: 100, peakMiB: 120 },
			errors: [],
		} as unknown as Results;
		const out = rows(results, [{ id: "5a", benchmark: "scale", berth: 1, baseline: null, unit: "s", ratio: null, target: "< 2 s", met: true }]);
		expect(out.map(r => r.id)).toEqual(["1a", "1b", "4a", "5a"]);
		expect(out[0]).toMatchObject({ berth: 4, baseline: 5, unit: "s", ratio: 0.8, met: true });
		expect(out[1]).toMatchObject({ ratio: 1, met: true });
		expect(out[2]).toMatchObject({ unit: "MB", met: true });
		expect(out[2].berth).toBeCloseTo(104.86, 1);
		expect(renderTable({ ...results, rows: out })).toContain("| 1a ");
	});
});
