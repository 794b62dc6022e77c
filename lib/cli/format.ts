import Table from "cli-table3";

/**
 * Human output: kubectl-like tables (no borders, upper-case headers, two spaces between columns),
 * so they read well in a terminal and still split on whitespace in a script. Pure functions.
 */

export interface Column<R> {
	header: string;
	value: (row: R) => unknown;
}

const borderless = {
	top: "", "top-mid": "", "top-left": "", "top-right": "",
	bottom: "", "bottom-mid": "", "bottom-left": "", "bottom-right": "",
	left: "", "left-mid": "", mid: "", "mid-mid": "", right: "", "right-mid": "",
	middle: "  ",
};

/** One cell's text: empty for nothing, lists joined with commas, objects as compact JSON. */
export function cell(value: unknown): string {
	if (value === undefined || value === null || value === "") return "-";
	if (Array.isArray(value)) return value.length ? value.map(v => (typeof v === "object" && v !== null ? JSON.stringify(v) : String(v))).join(",") : "-";
	if (value instanceof Date) return value.toISOString();
	if (typeof value === "object") return JSON.stringify(value);
	return String(value);
}

/** Rows under a header line; an empty list says so instead of printing a lone header. */
export function table<R>(rows: R[], columns: Column<R>[], empty = "Nothing found."): string {
	if (!rows.length) return `${empty}\n`;
	const t = new Table({
		head: columns.map(c => c.header.toUpperCase()),
		chars: borderless,
		style: { "padding-left": 0, "padding-right": 0, head: [], border: [], compact: true },
	});
	for (const row of rows) t.push(columns.map(c => cell(c.value(row))));
	return `${t.toString().split("\n").map(l => l.trimEnd()).join("\n")}\n`;
}

/** One entity as FIELD / VALUE lines. */
export function details(fields: [string, unknown][]): string {
	const t = new Table({ chars: borderless, style: { "padding-left": 0, "padding-right": 0, head: [], border: [], compact: true } });
	for (const [name, value] of fields) t.push([`${name}:`, cell(value)]);
	return `${t.toString().split("\n").map(l => l.trimEnd()).join("\n")}\n`;
}

/** Cuts a long text for a table cell; `get` shows it whole. */
export function truncate(text: string | undefined, max = 60): string | undefined {
	if (!text) return text;
	const line = text.split("\n")[0];
	return line.length > max ? `${line.slice(0, max - 1)}…` : line;
}

export function json(value: unknown): string {
	return `${JSON.stringify(value ?? null, null, 2)}\n`;
}

/** "3m", "2h", "5d" since an ISO time, as kubectl shows ages. */
export function age(since: string | Date | undefined | null, now = Date.now()): string {
	if (!since) return "-";
	const t = typeof since === "string" ? Date.parse(since) : since.getTime();
	if (Number.isNaN(t)) return "-";
	const s = Math.max(0, Math.floor((now - t) / 1000));
	if (s < 60) return `${s}s`;
	if (s < 3600) return `${Math.floor(s / 60)}m`;
	if (s < 86400) return `${Math.floor(s / 3600)}h`;
	return `${Math.floor(s / 86400)}d`;
}

/** `{cpu: "2", pods: 20}` → `cpu=2 pods=20`. */
export function pairs(obj: Record<string, unknown> | undefined | null): string {
	if (!obj) return "-";
	const entries = Object.entries(obj).filter(([, v]) => v !== undefined && v !== null);
	return entries.length ? entries.map(([k, v]) => `${k}=${cell(v)}`).join(" ") : "-";
}

/** The quota's hard and used side by side: one row per resource. */
export function quotaRows(report: { hard?: Record<string, string>; used?: Record<string, string> }): { resource: string; used: string; hard: string }[] {
	const names = [...new Set([...Object.keys(report.hard ?? {}), ...Object.keys(report.used ?? {})])].sort();
	return names.map(resource => ({ resource, used: report.used?.[resource] ?? "0", hard: report.hard?.[resource] ?? "-" }));
}

/** Text as it is, ending with a newline unless it is empty (a job's or a pod's output). */
export function endLine(text: string): string {
	return text + (text && !text.endsWith("\n") ? "\n" : "");
}
