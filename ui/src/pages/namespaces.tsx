import { useState } from "preact/hooks";
import { get, post } from "../api";
import { Badge, DeleteButton, Empty, ErrorBox, Loading, Section, UsageBar, formatBytes, formatCount, formatCpu, quantity, useAction, useAsync, useNamespaces } from "../components";
import type { Namespace, QuotaReport } from "../types";

/** What a ResourceQuota names each resource, and how to show it. */
const RESOURCES: { label: string; keys: string[]; format: (n: number) => string }[] = [
	{ label: "cpu", keys: ["requests.cpu", "limits.cpu", "cpu"], format: formatCpu },
	{ label: "memory", keys: ["requests.memory", "limits.memory", "memory"], format: formatBytes },
	{ label: "storage", keys: ["requests.storage"], format: formatBytes },
	{ label: "pods", keys: ["pods"], format: formatCount },
];

function Quota({ ns }: { ns: Namespace }) {
	const { data, error, loading } = useAsync(() => get<QuotaReport>(`/v1/k8s/namespaces/${ns.id}/resourcequota`), [ns.id]);
	if (loading && !data) return <Loading what="Quota" />;
	if (error) return <ErrorBox error={error} />;
	const bars = RESOURCES.map(r => {
		const key = r.keys.find(k => data?.hard?.[k] !== undefined);
		return key ? { ...r, hard: quantity(data?.hard?.[key]), used: quantity(data?.used?.[key]) } : undefined;
	}).filter(b => b !== undefined);
	if (!bars.length) return <p class="muted">No quota</p>;
	return (
		<div class="quota">
			{bars.map(b => (
				<UsageBar key={b!.label} label={b!.label} used={b!.used} hard={b!.hard} format={b!.format} />
			))}
		</div>
	);
}

function CreateNamespace({ onCreated }: { onCreated: () => void }) {
	const [name, setName] = useState("");
	const [cpu, setCpu] = useState("2");
	const [memory, setMemory] = useState("4Gi");
	const [storage, setStorage] = useState("10Gi");
	const [pods, setPods] = useState("20");
	const action = useAction();
	const submit = async (e: Event) => {
		e.preventDefault();
		const created = await action.run(() => post<Namespace>("/v1/k8s/namespaces", { name: name.trim(), quota: { cpu, memory, storage, pods: Number(pods) } }));
		if (created) {
			setName("");
			onCreated();
		}
	};
	return (
		<form class="form" onSubmit={submit} data-testid="create-namespace">
			<label>
				Name
				<input value={name} onInput={e => setName((e.target as HTMLInputElement).value)} placeholder="team-a" required data-testid="namespace-name" />
			</label>
			<label>
				CPU
				<input value={cpu} onInput={e => setCpu((e.target as HTMLInputElement).value)} size={5} />
			</label>
			<label>
				Memory
				<input value={memory} onInput={e => setMemory((e.target as HTMLInputElement).value)} size={6} />
			</label>
			<label>
				Storage
				<input value={storage} onInput={e => setStorage((e.target as HTMLInputElement).value)} size={6} />
			</label>
			<label>
				Pods
				<input type="number" min={1} value={pods} onInput={e => setPods((e.target as HTMLInputElement).value)} style={{ width: "5em" }} />
			</label>
			<button type="submit" disabled={action.busy} data-testid="namespace-create">
				Create namespace
			</button>
			<ErrorBox error={action.error} onDismiss={action.clear} />
		</form>
	);
}

export function NamespacesPage() {
	const { data, error, loading, reload } = useNamespaces();
	const remove = useAction();
	return (
		<>
			<Section title="New namespace">
				<CreateNamespace onCreated={reload} />
			</Section>
			<Section title="Namespaces" testid="namespaces">
				<ErrorBox error={error} />
				<ErrorBox error={remove.error} onDismiss={remove.clear} />
				{loading && !data ? <Loading /> : null}
				{data && !data.length ? <Empty>No namespaces yet: create one above.</Empty> : null}
				<div class="grid">
					{(data ?? []).map(ns => (
						<article class="tile" key={ns.id} data-testid={`namespace-${ns.name}`}>
							<header class="tile-head">
								<h3>{ns.name}</h3>
								<Badge phase={ns.phase} />
							</header>
							<p class="muted small">
								owner {ns.owner}
								{ns.members?.length ? ` · members ${ns.members.join(", ")}` : ""}
							</p>
							<Quota ns={ns} />
							<div class="actions">
								<a href={`#/deployments?namespace=${ns.name}`}>Deployments</a>
								<DeleteButton action={remove} disabled={remove.busy} ask={`Delete namespace ${ns.name} and everything in it?`} path={`/v1/k8s/namespaces/${ns.id}`} then={reload}>
									Delete
								</DeleteButton>
							</div>
						</article>
					))}
				</div>
			</Section>
		</>
	);
}
