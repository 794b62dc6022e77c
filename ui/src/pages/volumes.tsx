import { useState } from "preact/hooks";
import { post } from "../api";
import { Badge, DeleteButton, ErrorBox, Loading, NamespaceSelect, Rows, Section, useAction, useNamespacedList } from "../components";
import type { Namespace, Volume } from "../types";

function CreateVolume({ namespaces, onCreated }: { namespaces: Namespace[]; onCreated: () => void }) {
	const [namespace, setNamespace] = useState(namespaces.length === 1 ? namespaces[0].name : "");
	const [name, setName] = useState("");
	const [size, setSize] = useState("1Gi");
	const [mountPath, setMountPath] = useState("/data");
	const action = useAction();
	const submit = async (e: Event) => {
		e.preventDefault();
		if (await action.run(() => post<Volume>("/v1/k8s/volumes", { namespace, name: name.trim(), size, mountPath, type: "persistentVolumeClaim" }))) {
			setName("");
			onCreated();
		}
	};
	return (
		<form class="form" onSubmit={submit}>
			<NamespaceSelect namespaces={namespaces} value={namespace} onChange={setNamespace} />
			<label>
				Name
				<input value={name} onInput={e => setName((e.target as HTMLInputElement).value)} required placeholder="data" />
			</label>
			<label>
				Size
				<input value={size} onInput={e => setSize((e.target as HTMLInputElement).value)} size={6} />
			</label>
			<label>
				Mount path
				<input value={mountPath} onInput={e => setMountPath((e.target as HTMLInputElement).value)} />
			</label>
			<button type="submit" disabled={action.busy || !namespace}>
				Create volume
			</button>
			<ErrorBox error={action.error} onDismiss={action.clear} />
		</form>
	);
}

export function VolumesPage() {
	const { namespaces, namespace, setNamespace, list } = useNamespacedList<Volume>("/v1/k8s/volumes");
	const remove = useAction();
	const nsName = (id: string) => namespaces.data?.find(n => n.id === id)?.name ?? id;
	return (
		<>
			<Section title="New volume">{namespaces.data ? <CreateVolume namespaces={namespaces.data} onCreated={list.reload} /> : <Loading />}</Section>
			<Section title="Volumes" testid="volumes" actions={<NamespaceSelect namespaces={namespaces.data ?? []} value={namespace} onChange={setNamespace} allowAll />}>
				<ErrorBox error={list.error ?? namespaces.error} />
				<ErrorBox error={remove.error} onDismiss={remove.clear} />
				<Rows
					items={list.data}
					loading={list.loading}
					empty="No volumes."
					columns={["Name", "Namespace", "Size", "Mount path", "Status", ""]}
					row={v => (
						<tr key={v.id}>
							<td data-label="Name" class="mono">
								{v.name}
							</td>
							<td data-label="Namespace">{nsName(v.namespace)}</td>
							<td data-label="Size">{v.status?.capacity ?? v.size}</td>
							<td data-label="Mount path" class="mono small">
								{v.mountPath}
							</td>
							<td data-label="Status">
								<Badge phase={v.status?.phase} />
							</td>
							<td>
								<DeleteButton action={remove} disabled={remove.busy} ask={`Delete volume ${v.name} and its data?`} path={`/v1/k8s/volumes/${v.id}`} then={list.reload}>
									Delete
								</DeleteButton>
							</td>
						</tr>
					)}
				/>
			</Section>
		</>
	);
}
