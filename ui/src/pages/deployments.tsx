import { useEffect, useMemo, useRef, useState } from "preact/hooks";
import { ApiError, del, get, post, query, readText, subscribe, type StreamState } from "../api";
import { Badge, DeleteButton, ErrorBox, Loading, NamespaceSelect, Rows, Section, ago, useAction, useAsync, useNamespaces } from "../components";
import { navigate, type Route } from "../router";
import type { AppHealth, Deployment, Env, KubeEvent, PodLogs } from "../types";

/** Live statuses of the apps of some namespaces, from their streams. */
function useNamespaceStatus(namespaceIds: string[]): Map<string, AppHealth> {
	const [statuses, setStatuses] = useState(() => new Map<string, AppHealth>());
	const key = namespaceIds.slice().sort().join(",");
	useEffect(() => {
		const closers = namespaceIds.map(id =>
			subscribe(`/v1/k8s/namespaces/${id}/stream`, {
				snapshot: (s: { apps: AppHealth[] }) =>
					setStatuses(prev => {
						const next = new Map(prev);
						for (const a of s.apps) next.set(a.id, a);
						return next;
					}),
				status: (a: AppHealth) => setStatuses(prev => new Map(prev).set(a.id, a)),
				removed: ({ id }: { id: string }) =>
					setStatuses(prev => {
						const next = new Map(prev);
						next.delete(id);
						return next;
					}),
			}),
		);
		return () => closers.forEach(c => c());
		// eslint-disable-next-line react-hooks/exhaustive-deps
	}, [key]);
	return statuses;
}

export function DeploymentsPage({ route }: { route: Route }) {
	const namespace = route.query.get("namespace") ?? "";
	const namespaces = useNamespaces();
	const list = useAsync(() => get<Deployment[]>(`/v1/k8s/deployments${query({ namespace })}`), [namespace]);
	const ids = useMemo(() => {
		const names = new Set((list.data ?? []).map(d => d.namespaceName));
		return (namespaces.data ?? []).filter(n => names.has(n.name)).map(n => n.id);
	}, [list.data, namespaces.data]);
	const live = useNamespaceStatus(ids);
	return (
		<Section
			title="Deployments"
			testid="deployments"
			actions={
				<>
					<NamespaceSelect namespaces={namespaces.data ?? []} value={namespace} allowAll onChange={v => navigate(`/deployments${query({ namespace: v })}`)} />
					<a class="button" href="#/catalog">
						Deploy from the catalog
					</a>
				</>
			}
		>
			<ErrorBox error={list.error ?? namespaces.error} />
			<Rows
				items={list.data}
				loading={list.loading}
				empty={<>No deployments{namespace ? ` in ${namespace}` : ""}. Deploy one from the catalog.</>}
				columns={["Name", "Namespace", "Image", "Status", "Pods", { label: "Hosts", class: "hide-narrow" }]}
				row={d => {
					const s = live.get(d.id);
					return (
						<tr key={d.id} data-testid={`deployment-row-${d.name}`}>
							<td data-label="Name">
								<a href={`#/deployments/${d.id}`}>{d.name}</a>
							</td>
							<td data-label="Namespace">{d.namespaceName}</td>
							<td data-label="Image" class="mono small">
								{d.imageName ?? d.image}
							</td>
							<td data-label="Status">
								<Badge phase={s?.phase ?? d.status?.phase} testid={`deployment-phase-${d.name}`} />
								{s && s.phase !== "Ready" ? <span class="muted small"> {s.reason}</span> : null}
							</td>
							<td data-label="Pods">{s ? `${s.replicas.ready}/${s.replicas.desired}` : `?/${d.replicas}`}</td>
							<td data-label="Hosts" class="hide-narrow small">
								{(s?.hosts ?? d.vHosts).join(", ")}
							</td>
						</tr>
					);
				}}
			/>
		</Section>
	);
}

function LiveState({ state }: { state: StreamState }) {
	return (
		<span class={`live ${state}`} title="Status stream" data-testid="stream-state">
			{state === "live" ? "● live" : state === "closed" ? "○ closed" : "○ connecting"}
		</span>
	);
}

function StatusPanel({ status, state }: { status?: AppHealth; state: StreamState }) {
	if (!status) return <Loading what="Waiting for status" />;
	const o = status.objects;
	const chip = (label: string, v: boolean | null) => (v === null ? null : <span class={`chip ${v ? "ok" : "bad"}`}>{label}</span>);
	return (
		<div class="status" data-testid="status">
			<div class="status-line">
				<Badge phase={status.phase} testid="phase" />
				<span data-testid="status-message">{status.message}</span>
				<LiveState state={state} />
			</div>
			<p class="small">
				<strong data-testid="ready-replicas">
					{status.replicas.ready}/{status.replicas.desired}
				</strong>{" "}
				ready · {status.replicas.updated} updated · {status.replicas.available} available
			</p>
			<div class="chips">
				{chip("Deployment", o.deployment)}
				{chip("Service", o.service)}
				{chip("Ingress", o.ingress)}
				{o.secret ? <span class="chip ok">Secret</span> : null}
				{o.claims.map(c => (
					<span key={c.name} class={`chip ${c.phase === "Bound" ? "ok" : c.phase === "Pending" ? "busy" : "bad"}`}>
						claim {c.name}: {c.phase}
					</span>
				))}
			</div>
			{status.reasons.some(r => r.severity !== "ok") ? (
				<ul class="reasons" data-testid="reasons">
					{status.reasons
						.filter(r => r.severity !== "ok")
						.map(r => (
							<li key={r.code} class={r.severity}>
								<code>{r.code}</code> {r.message}
							</li>
						))}
				</ul>
			) : null}
			{status.hosts.length ? (
				<p class="small">
					Hosts:{" "}
					{status.hosts.map(h => (
						<span key={h} class="mono">
							{h}{" "}
						</span>
					))}
				</p>
			) : null}
		</div>
	);
}

function Pods({ status }: { status?: AppHealth }) {
	return (
		<Rows
			items={status?.pods}
			empty="No pods."
			columns={["Pod", "Phase", "Ready", "Restarts", { label: "Node", class: "hide-narrow" }]}
			testid="pods"
			row={p => (
				<tr key={p.name}>
					<td data-label="Pod" class="mono small">
						{p.name}
					</td>
					<td data-label="Phase">
						{p.phase}
						{p.reason ? <span class="muted small"> ({p.reason})</span> : null}
					</td>
					<td data-label="Ready">{p.ready ? "yes" : "no"}</td>
					<td data-label="Restarts">{p.restarts}</td>
					<td data-label="Node" class="hide-narrow small">
						{p.node}
					</td>
				</tr>
			)}
		/>
	);
}

const MAX_LOG_CHARS = 200_000;

function Logs({ id, pods }: { id: string; pods: string[] }) {
	const [pod, setPod] = useState("");
	const [tail, setTail] = useState("100");
	const [follow, setFollow] = useState(false);
	const [text, setText] = useState("");
	const [error, setError] = useState<unknown>();
	const [loading, setLoading] = useState(false);
	const box = useRef<HTMLPreElement>(null);
	useEffect(() => {
		const controller = new AbortController();
		setError(undefined);
		setText("");
		const params = { pod: pod || undefined, tail: Number(tail) || undefined };
		if (follow) {
			readText(`/v1/k8s/deployments/${id}/logs${query({ ...params, follow: true })}`, controller.signal, chunk => setText(t => (t + chunk).slice(-MAX_LOG_CHARS))).catch(err => {
				if (!controller.signal.aborted) setError(err);
			});
		} else {
			setLoading(true);
			get<PodLogs[]>(`/v1/k8s/deployments/${id}/logs${query(params)}`)
				.then(logs => setText(logs.length ? logs.map(l => (logs.length > 1 ? l.log.replace(/^(?=.)/gm, `[${l.pod}] `) : l.log)).join("") : "No logs: no pod has started yet.\n"))
				.catch(setError)
				.finally(() => setLoading(false));
		}
		return () => controller.abort();
	}, [id, pod, tail, follow]);
	useEffect(() => {
		if (box.current) box.current.scrollTop = box.current.scrollHeight;
	}, [text]);
	return (
		<div data-testid="logs">
			<div class="form compact">
				<select value={pod} onChange={e => setPod((e.target as HTMLSelectElement).value)} aria-label="Pod">
					<option value="">All pods</option>
					{pods.map(p => (
						<option key={p} value={p}>
							{p}
						</option>
					))}
				</select>
				<label>
					Last
					<input type="number" min={1} max={100000} value={tail} onChange={e => setTail((e.target as HTMLInputElement).value)} style={{ width: "6em" }} />
					lines
				</label>
				<label class="check">
					<input type="checkbox" checked={follow} onChange={e => setFollow((e.target as HTMLInputElement).checked)} data-testid="logs-follow" /> Follow
				</label>
				{loading ? <span class="muted small">loading…</span> : null}
			</div>
			<ErrorBox error={error} />
			<pre class="log" ref={box} data-testid="log-text">
				{text}
			</pre>
		</div>
	);
}

function Events({ id, version }: { id: string; version: string }) {
	const { data, error, loading, reload } = useAsync(() => get<KubeEvent[]>(`/v1/k8s/deployments/${id}/events`), [id, version]);
	return (
		<div data-testid="events">
			<div class="actions">
				<button class="small" onClick={reload} disabled={loading}>
					Refresh
				</button>
			</div>
			<ErrorBox error={error} />
			<Rows
				items={data?.slice().reverse()}
				empty="No events."
				columns={["When", "Type", "Reason", "Object", "Message"]}
				row={(e, i) => (
					<tr key={i} class={e.type === "Warning" ? "warning" : ""}>
						<td data-label="When" class="small">
							{ago(e.lastTimestamp)}
						</td>
						<td data-label="Type">{e.type}</td>
						<td data-label="Reason">{e.reason}</td>
						<td data-label="Object" class="small mono">
							{e.object.kind}/{e.object.name}
						</td>
						<td data-label="Message" class="small">
							{e.message}
							{e.count > 1 ? <span class="muted"> ×{e.count}</span> : null}
						</td>
					</tr>
				)}
			/>
		</div>
	);
}

function Envs({ dep }: { dep: Deployment }) {
	const path = `/v1/k8s/envs${query({ namespace: dep.namespace, deployment: dep.id })}`;
	const { data, error, reload } = useAsync(() => get<Env[]>(path), [path]);
	const [key, setKey] = useState("");
	const [value, setValue] = useState("");
	const [secret, setSecret] = useState(false);
	const action = useAction();
	const add = async (e: Event) => {
		e.preventDefault();
		const ok = await action.run(() => post(`/v1/k8s/envs`, { namespace: dep.namespace, deployment: dep.id, key: key.trim(), value, type: secret ? "secret" : "as-is" }));
		if (ok) {
			setKey("");
			setValue("");
			setSecret(false);
			await reload();
		}
	};
	return (
		<div data-testid="envs">
			<ErrorBox error={error} />
			<Rows
				items={data}
				empty="No environment variables."
				columns={["Key", "Value", "Type", ""]}
				row={env => <EnvRow key={env.id} env={env} action={action} onRemoved={reload} />}
			/>
			<form class="form compact" onSubmit={add}>
				<input value={key} onInput={e => setKey((e.target as HTMLInputElement).value)} placeholder="KEY" aria-label="Key" required />
				{secret ? (
					<input type="password" value={value} onInput={e => setValue((e.target as HTMLInputElement).value)} placeholder="value" aria-label="Value" autocomplete="off" />
				) : (
					<input type="text" value={value} onInput={e => setValue((e.target as HTMLInputElement).value)} placeholder="value" aria-label="Value" />
				)}
				<label class="check">
					<input type="checkbox" checked={secret} onChange={e => setSecret((e.target as HTMLInputElement).checked)} /> secret
				</label>
				<button type="submit" disabled={action.busy}>
					Add
				</button>
			</form>
			<ErrorBox error={action.error} onDismiss={action.clear} />
			<p class="muted small">Changing an env rolls the pods. Secret values are never shown.</p>
		</div>
	);
}

/** One variable: its key, its value (masked when secret), and Remove. */
function EnvRow({ env, action, onRemoved }: { env: Env; action: ReturnType<typeof useAction>; onRemoved: () => Promise<void> }) {
	return (
		<tr data-testid={`env-${env.key}`}>
			<td data-label="Key" class="mono">
				{env.key}
			</td>
			<td data-label="Value" class="mono small">
				{env.type === "secret" ? "••••••••" : env.value}
			</td>
			<td data-label="Type">{env.type === "secret" ? <span class="tag">secret</span> : "plain"}</td>
			<td>
				<DeleteButton action={action} path={`/v1/k8s/envs/${env.id}`} then={onRemoved}>
					Remove
				</DeleteButton>
			</td>
		</tr>
	);
}

const TABS = ["pods", "logs", "events", "envs"] as const;

export function DeploymentPage({ id, route }: { id: string; route: Route }) {
	const dep = useAsync(() => get<Deployment>(`/v1/k8s/deployments/${id}`), [id]);
	const [status, setStatus] = useState<AppHealth>();
	const [state, setState] = useState<StreamState>("connecting");
	const [streamError, setStreamError] = useState<ApiError>();
	const [replicas, setReplicas] = useState("");
	const action = useAction();
	const tab = (route.query.get("tab") as (typeof TABS)[number]) || "pods";

	useEffect(() => {
		setStatus(undefined);
		return subscribe(`/v1/k8s/deployments/${id}/stream`, { status: setStatus, removed: () => setStatus(s => (s ? { ...s, phase: "Missing" } : s)) }, { onError: setStreamError, onState: setState });
	}, [id]);
	useEffect(() => {
		if (dep.data) setReplicas(String(dep.data.replicas));
	}, [dep.data?.replicas]);

	if (dep.error) return <ErrorBox error={dep.error} />;
	if (!dep.data) return <Loading />;
	const d = dep.data;
	const scale = async (e: Event) => {
		e.preventDefault();
		const updated = await action.run(() => post<Deployment>(`/v1/k8s/deployments/${id}/scale`, { replicas: Number(replicas) }));
		if (updated) dep.setData(updated);
	};
	return (
		<>
			<Section
				title={d.name}
				testid="deployment"
				actions={<DeploymentActions id={id} dep={d} action={action} onUpdated={dep.setData} />}
			>
				<p class="muted small">
					<a href={`#/deployments?namespace=${d.namespaceName}`}>{d.namespaceName}</a> · image <span class="mono">{d.imageName ?? d.image}</span> · created {ago(d.createdAt)}
				</p>
				<ErrorBox error={streamError} />
				<StatusPanel status={status} state={state} />
				<form class="form compact" onSubmit={scale} data-testid="scale">
					<label>
						Replicas
						<input type="number" min={0} max={100} value={replicas} onInput={e => setReplicas((e.target as HTMLInputElement).value)} style={{ width: "5em" }} data-testid="replicas" />
					</label>
					<button type="submit" disabled={action.busy || Number(replicas) === d.replicas} data-testid="scale-submit">
						Scale
					</button>
				</form>
				<ErrorBox error={action.error} onDismiss={action.clear} />
			</Section>
			<DeploymentTabs id={id} dep={d} tab={tab} status={status} />
		</>
	);
}

/** Restart and Delete, in the deployment's header. */
function DeploymentActions({ id, dep, action, onUpdated }: { id: string; dep: Deployment; action: ReturnType<typeof useAction>; onUpdated: (d: Deployment) => void }) {
	return (
		<>
			<button
				class="small"
				disabled={action.busy}
				data-testid="restart"
				onClick={async () => {
					const updated = await action.run(() => post<Deployment>(`/v1/k8s/deployments/${id}/restart`));
					if (updated) onUpdated(updated);
				}}
			>
				Restart
			</button>
			<button
				class="danger small"
				disabled={action.busy}
				onClick={async () => {
					if (!confirm(`Delete deployment ${dep.name}?`)) return;
					if (await action.run(() => del(`/v1/k8s/deployments/${id}`))) navigate(`/deployments`);
				}}
			>
				Delete
			</button>
		</>
	);
}

/** Pods, logs, events and envs, one tab at a time (the tab is in the route's query). */
function DeploymentTabs({ id, dep, tab, status }: { id: string; dep: Deployment; tab: (typeof TABS)[number]; status?: AppHealth }) {
	return (
		<section class="card">
			<nav class="tabs" role="tablist">
				{TABS.map(t => (
					<a key={t} role="tab" aria-selected={t === tab} class={t === tab ? "active" : ""} href={`#/deployments/${id}?tab=${t}`} data-testid={`tab-${t}`}>
						{t[0].toUpperCase() + t.slice(1)}
					</a>
				))}
			</nav>
			{tab === "pods" ? <Pods status={status} /> : null}
			{tab === "logs" ? <Logs id={id} pods={status?.pods.map(p => p.name) ?? []} /> : null}
			{tab === "events" ? <Events id={id} version={`${status?.phase}/${status?.replicas.ready}`} /> : null}
			{tab === "envs" ? <Envs dep={dep} /> : null}
		</section>
	);
}
