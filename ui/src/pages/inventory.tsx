import { useState } from "preact/hooks";
import { ApiError, get, query } from "../api";
import { Empty, ErrorBox, Loading, Rows, Section, ago, useAsync } from "../components";
import type { InventoryItem, InventoryPage as Page } from "../types";

const KINDS = ["deployments", "pods", "services", "configmaps", "secrets", "statefulsets", "daemonsets", "replicasets", "jobs", "serviceaccounts", "namespaces"];
const LIMIT = 50;

/** Everything in the namespaces the caller may see, Berth's or not; external objects are marked. */
export function InventoryPage() {
	const [kind, setKind] = useState("deployments");
	const [namespace, setNamespace] = useState("");
	const [provenance, setProvenance] = useState("");
	const [name, setName] = useState("");
	const [offset, setOffset] = useState(0);
	const summary = useAsync(() => get<{ synced: boolean; counts: Record<string, number> }>("/v1/k8s/inventory"), []);
	const page = useAsync(() => get<Page>(`/v1/k8s/inventory/${kind}${query({ namespace: namespace.trim(), provenance, name: name.trim(), limit: LIMIT, offset })}`), [kind, namespace, provenance, name, offset]);
	if (summary.error instanceof ApiError && summary.error.status === 404) return <Section title="Inventory">{<Empty>The inventory is not served by this mesh (the k8s.inventory service is not running).</Empty>}</Section>;
	const items = page.data?.items ?? [];
	return (
		<>
			<Section title="Inventory" testid="inventory-summary">
				<ErrorBox error={summary.error} />
				<SummaryChips summary={summary.data} kind={kind} onKind={k => (setKind(k), setOffset(0))} />
			</Section>
			<Section title={kind} testid="inventory">
				<div class="form compact">
					<select value={kind} onChange={e => (setKind((e.target as HTMLSelectElement).value), setOffset(0))} aria-label="Kind">
						{KINDS.map(k => (
							<option key={k} value={k}>
								{k}
							</option>
						))}
					</select>
					<input value={namespace} onChange={e => (setNamespace((e.target as HTMLInputElement).value), setOffset(0))} placeholder="namespace" aria-label="Namespace" />
					<input value={name} onChange={e => (setName((e.target as HTMLInputElement).value), setOffset(0))} placeholder="name contains" aria-label="Name" />
					<select value={provenance} onChange={e => (setProvenance((e.target as HTMLSelectElement).value), setOffset(0))} aria-label="Provenance">
						<option value="">Berth and external</option>
						<option value="berth">Berth's only</option>
						<option value="external">External only</option>
					</select>
				</div>
				<ErrorBox error={page.error} />
				<Rows
					items={page.data ? items : undefined}
					loading={page.loading}
					empty="Nothing here."
					columns={["Name", "Namespace", "Made by", "Owner", { label: "Details", class: "hide-narrow" }, "Age"]}
					row={item => <InventoryRow key={`${item.namespace}/${item.kind}/${item.name}`} item={item} />}
				/>
				{page.data ? <Pager offset={offset} total={page.data.total} onOffset={setOffset} /> : null}
			</Section>
		</>
	);
}

/** Objects per kind, as chips that pick the kind. */
function SummaryChips({ summary, kind, onKind }: { summary?: { synced: boolean; counts: Record<string, number> }; kind: string; onKind: (kind: string) => void }) {
	if (!summary) return <Loading />;
	return (
		<div class="chips">
			{Object.entries(summary.counts).map(([k, n]) => (
				<button key={k} class={`chip ${k === kind ? "active" : ""}`} onClick={() => onKind(k)}>
					{k} {n}
				</button>
			))}
			{!summary.synced ? <span class="muted small">still listing…</span> : null}
		</div>
	);
}

function InventoryRow({ item }: { item: InventoryItem }) {
	return (
		<tr class={item.provenance === "external" ? "external" : ""}>
			<td data-label="Name" class="mono small">
				{item.name}
			</td>
			<td data-label="Namespace">{item.namespace ?? "–"}</td>
			<td data-label="Made by">{item.provenance === "external" ? <span class="tag warn">external</span> : <span class="tag">berth</span>}</td>
			<td data-label="Owner" class="small">
				{item.owners?.length ? item.owners.map(o => `${o.kind}/${o.name}`).join(" ← ") : item.owner ? `${item.owner.kind}/${item.owner.name}` : "–"}
			</td>
			<td data-label="Details" class="hide-narrow small">
				{item.phase ?? ""}
				{item.replicas ? ` ${item.replicas.ready}/${item.replicas.desired} ready` : ""}
				{item.images?.length ? <span class="mono"> {item.images.join(", ")}</span> : null}
				{item.counts ? Object.entries(item.counts).map(([k, n]) => `${k} ${n}`).join(", ") : null}
			</td>
			<td data-label="Age" class="small">
				{ago(item.createdAt)}
			</td>
		</tr>
	);
}

/** Previous / Next over pages of LIMIT objects (nothing when one page holds them all). */
function Pager({ offset, total, onOffset }: { offset: number; total: number; onOffset: (offset: number) => void }) {
	if (total <= LIMIT) return null;
	return (
		<div class="actions pager">
			<button class="small" disabled={offset === 0} onClick={() => onOffset(Math.max(0, offset - LIMIT))}>
				Previous
			</button>
			<span class="muted small">
				{offset + 1}–{Math.min(offset + LIMIT, total)} of {total}
			</span>
			<button class="small" disabled={offset + LIMIT >= total} onClick={() => onOffset(offset + LIMIT)}>
				Next
			</button>
		</div>
	);
}
