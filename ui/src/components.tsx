import type { ComponentChildren } from "preact";
import { useCallback, useEffect, useRef, useState } from "preact/hooks";
import { ApiError, del, get, query } from "./api";
import type { Namespace } from "./types";

/** An API failure as the API worded it; never a blank page. */
export function ErrorBox({ error, onDismiss }: { error: unknown; onDismiss?: () => void }) {
	if (!error) return null;
	const e = error as Partial<ApiError> & { message?: string };
	return (
		<div class="error" role="alert" data-testid="error">
			<span>
				{e.status ? <strong>{e.status} </strong> : null}
				{e.message ?? String(error)}
			</span>
			{onDismiss ? (
				<button class="link" onClick={onDismiss} aria-label="Dismiss">
					×
				</button>
			) : null}
		</div>
	);
}

export function Loading({ what = "Loading" }: { what?: string }) {
	return <p class="muted">{what}…</p>;
}

/** A column heading; a class such as "hide-narrow" goes on the heading cell. */
export type Column = string | { label: string; class: string };

/**
 * A list as a table (cards on narrow screens: the cells carry data-label), "Loading…" before the
 * first answer when `loading`, or what `empty` says when there is nothing.
 */
export function Rows<T>({ items, loading, empty, columns, testid, row }: { items?: T[]; loading?: boolean; empty: ComponentChildren; columns: Column[]; testid?: string; row: (item: T, index: number) => ComponentChildren }) {
	if (!items) return loading ? <Loading /> : null;
	if (!items.length) return <Empty>{empty}</Empty>;
	return (
		<div class="table-wrap">
			<table data-testid={testid}>
				<thead>
					<tr>
						{columns.map(c => (typeof c === "string" ? <th key={c}>{c || null}</th> : <th key={c.label} class={c.class}>{c.label}</th>))}
					</tr>
				</thead>
				<tbody>{items.map(row)}</tbody>
			</table>
		</div>
	);
}

const PHASE_CLASS: Record<string, string> = {
	Ready: "ok",
	Running: "ok",
	Complete: "ok",
	Bound: "ok",
	Active: "ok",
	running: "ok",
	ScaledToZero: "idle",
	Progressing: "busy",
	Pending: "busy",
	deploying: "busy",
	Degraded: "warn",
	Failed: "bad",
	failed: "bad",
	Missing: "bad",
	Lost: "bad",
	Deleted: "idle",
	deleted: "idle",
};

export function Badge({ phase, testid }: { phase?: string; testid?: string }) {
	const p = phase ?? "Unknown";
	return (
		<span class={`badge ${PHASE_CLASS[p] ?? "idle"}`} data-testid={testid} data-phase={p}>
			{p === "ScaledToZero" ? "Scaled to zero" : p}
		</span>
	);
}

/** A usage bar: used of hard, with the figures; red from 90 %. */
export function UsageBar({ label, used, hard, format }: { label: string; used: number; hard: number; format: (n: number) => string }) {
	const pct = hard > 0 ? Math.min(100, (used / hard) * 100) : 0;
	return (
		<div class="usage" data-testid={`quota-${label}`}>
			<div class="usage-label">
				<span>{label}</span>
				<span class="muted">
					{format(used)} / {format(hard)}
				</span>
			</div>
			<div class="bar" role="meter" aria-valuemin={0} aria-valuemax={hard} aria-valuenow={used} aria-label={label}>
				<div class={`fill ${pct >= 90 ? "bad" : pct >= 70 ? "warn" : ""}`} style={{ width: `${pct}%` }} />
			</div>
		</div>
	);
}

/** Loads something, with its error and a reload. */
export function useAsync<T>(load: () => Promise<T>, deps: unknown[]): { data?: T; error?: unknown; loading: boolean; reload: () => Promise<void>; setData: (t: T) => void } {
	const [data, setData] = useState<T>();
	const [error, setError] = useState<unknown>();
	const [loading, setLoading] = useState(true);
	const alive = useRef(true);
	const reload = useCallback(async () => {
		setLoading(true);
		try {
			const d = await load();
			if (alive.current) {
				setData(d);
				setError(undefined);
			}
		} catch (err) {
			if (alive.current) setError(err);
		} finally {
			if (alive.current) setLoading(false);
		}
		// eslint-disable-next-line react-hooks/exhaustive-deps
	}, deps);
	useEffect(() => {
		alive.current = true;
		void reload();
		return () => {
			alive.current = false;
		};
	}, [reload]);
	return { data, error, loading, reload, setData };
}

/** Runs an action (a form's submit, a button), keeping its error and whether it is busy. */
export function useAction(): { busy: boolean; error: unknown; run: <T>(fn: () => Promise<T>) => Promise<T | undefined>; clear: () => void } {
	const [busy, setBusy] = useState(false);
	const [error, setError] = useState<unknown>();
	const run = useCallback(async <T,>(fn: () => Promise<T>) => {
		setBusy(true);
		setError(undefined);
		try {
			return await fn();
		} catch (err) {
			setError(err);
			return undefined;
		} finally {
			setBusy(false);
		}
	}, []);
	return { busy, error, run, clear: () => setError(undefined) };
}

export function useNamespaces() {
	return useAsync(() => get<Namespace[]>("/v1/k8s/namespaces"), []);
}

/** A page's list of `path` in the namespace picked on the page ("": every one), and the namespaces to pick from. */
export function useNamespacedList<T>(path: string) {
	const namespaces = useNamespaces();
	const [namespace, setNamespace] = useState("");
	const list = useAsync(() => get<T[]>(`${path}${query({ namespace })}`), [namespace]);
	return { namespaces, namespace, setNamespace, list };
}

/**
 * A row's small red delete button: asks first when `ask` is given, deletes `path` through `action`
 * (whose error the page shows), then calls `then` whether or not the delete went through.
 */
export function DeleteButton({ action, path, ask, then, disabled, children }: { action: ReturnType<typeof useAction>; path: string; ask?: string; then: () => unknown; disabled?: boolean; children: ComponentChildren }) {
	return (
		<button
			class="danger small"
			disabled={disabled}
			onClick={async () => {
				if (ask && !confirm(ask)) return;
				await action.run(() => del(path));
				await then();
			}}
		>
			{children}
		</button>
	);
}

export function NamespaceSelect({ namespaces, value, onChange, allowAll, testid }: { namespaces: Namespace[]; value: string; onChange: (v: string) => void; allowAll?: boolean; testid?: string }) {
	return (
		<select value={value} onChange={e => onChange((e.target as HTMLSelectElement).value)} data-testid={testid} aria-label="Namespace">
			{allowAll ? <option value="">All namespaces</option> : null}
			{!allowAll && !value ? <option value="">Choose a namespace</option> : null}
			{namespaces.map(n => (
				<option value={n.name} key={n.id}>
					{n.name}
				</option>
			))}
		</select>
	);
}

export function Section({ title, children, actions, testid }: { title: string; children: ComponentChildren; actions?: ComponentChildren; testid?: string }) {
	return (
		<section class="card" data-testid={testid}>
			<header class="card-head">
				<h2>{title}</h2>
				{actions ? <div class="actions">{actions}</div> : null}
			</header>
			{children}
		</section>
	);
}

export function Empty({ children }: { children: ComponentChildren }) {
	return <p class="muted empty">{children}</p>;
}

/** "3m ago", "2h ago": the age of a timestamp. */
export function ago(iso: string | undefined, now = Date.now()): string {
	if (!iso) return "";
	const s = Math.max(0, Math.round((now - new Date(iso).getTime()) / 1000));
	if (s < 60) return `${s}s ago`;
	if (s < 3600) return `${Math.floor(s / 60)}m ago`;
	if (s < 86400) return `${Math.floor(s / 3600)}h ago`;
	return `${Math.floor(s / 86400)}d ago`;
}

/** A countdown, "4m 05s", to a time; "now" once passed. */
export function countdown(iso: string | undefined, now = Date.now()): string {
	if (!iso) return "";
	const s = Math.round((new Date(iso).getTime() - now) / 1000);
	if (s <= 0) return "now";
	const h = Math.floor(s / 3600);
	const m = Math.floor((s % 3600) / 60);
	const sec = s % 60;
	return h ? `${h}h ${String(m).padStart(2, "0")}m` : `${m}m ${String(sec).padStart(2, "0")}s`;
}

/** The current time, ticking every `ms`. */
export function useNow(ms = 1000): number {
	const [now, setNow] = useState(Date.now());
	useEffect(() => {
		const t = setInterval(() => setNow(Date.now()), ms);
		return () => clearInterval(t);
	}, [ms]);
	return now;
}

const BINARY: Record<string, number> = { Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30, Ti: 2 ** 40, Pi: 2 ** 50, Ei: 2 ** 60 };
const DECIMAL: Record<string, number> = { n: 1e-9, u: 1e-6, m: 1e-3, "": 1, k: 1e3, K: 1e3, M: 1e6, G: 1e9, T: 1e12, P: 1e15, E: 1e18 };

/** A Kubernetes quantity ("500m", "4Gi", "2") as a number (cores, bytes, count). */
export function quantity(q: string | number | undefined): number {
	if (q === undefined || q === "") return 0;
	if (typeof q === "number") return q;
	const m = /^([0-9.]+)([a-zA-Z]*)$/.exec(q.trim());
	if (!m) return 0;
	const n = Number(m[1]);
	return m[2] in BINARY ? n * BINARY[m[2]] : n * (DECIMAL[m[2]] ?? 1);
}

export function formatBytes(n: number): string {
	if (n >= 2 ** 30) return `${+(n / 2 ** 30).toFixed(1)}Gi`;
	if (n >= 2 ** 20) return `${+(n / 2 ** 20).toFixed(0)}Mi`;
	if (n >= 2 ** 10) return `${+(n / 2 ** 10).toFixed(0)}Ki`;
	return `${n}`;
}

export function formatCpu(n: number): string {
	return n >= 1 ? `${+n.toFixed(2)}` : `${Math.round(n * 1000)}m`;
}

export function formatCount(n: number): string {
	return String(Math.round(n));
}
