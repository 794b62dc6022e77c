import { useEffect, useState } from "preact/hooks";
import { apiText, del, get, post } from "../api";
import { Badge, ErrorBox, Loading, NamespaceSelect, Rows, Section, ago, useAction, useAsync, useNamespacedList } from "../components";
import { navigate } from "../router";
import type { Job, Namespace } from "../types";

const FINISHED = new Set(["Complete", "Failed", "Deleted"]);

function RunJob({ namespaces }: { namespaces: Namespace[] }) {
	const [namespace, setNamespace] = useState(namespaces.length === 1 ? namespaces[0].name : "");
	const [cmd, setCmd] = useState("");
	const [image, setImage] = useState("");
	const action = useAction();
	const submit = async (e: Event) => {
		e.preventDefault();
		const job = await action.run(() => post<Job>("/v1/k8s/jobs", { namespace, cmd, ...(image.trim() ? { image: image.trim() } : {}) }));
		if (job) navigate(`/jobs/${job.id}`);
	};
	return (
		<form class="form" onSubmit={submit} data-testid="run-job">
			<NamespaceSelect namespaces={namespaces} value={namespace} onChange={setNamespace} testid="job-namespace" />
			<label class="grow">
				Command
				<input value={cmd} onInput={e => setCmd((e.target as HTMLInputElement).value)} placeholder={`python3 -c "print('hello')"`} required class="mono" data-testid="job-cmd" />
			</label>
			<label>
				Image
				<input value={image} onInput={e => setImage((e.target as HTMLInputElement).value)} placeholder="python:3.12-slim" />
			</label>
			<button type="submit" disabled={action.busy || !namespace} data-testid="job-run">
				Run
			</button>
			<ErrorBox error={action.error} onDismiss={action.clear} />
		</form>
	);
}

export function JobsPage() {
	const { namespaces, namespace, setNamespace, list } = useNamespacedList<Job>("/v1/k8s/jobs");
	const nsName = (j: Job) => j.namespaceName ?? namespaces.data?.find(n => n.id === j.namespace)?.name ?? j.namespace;
	return (
		<>
			<Section title="Run a command">{namespaces.data ? <RunJob namespaces={namespaces.data} /> : <ErrorBox error={namespaces.error} />}</Section>
			<Section
				title="Jobs"
				testid="jobs"
				actions={
					<>
						<NamespaceSelect namespaces={namespaces.data ?? []} value={namespace} onChange={setNamespace} allowAll />
						<button class="small" onClick={list.reload}>
							Refresh
						</button>
					</>
				}
			>
				<ErrorBox error={list.error} />
				<Rows
					items={list.data?.slice().reverse()}
					loading={list.loading}
					empty="No jobs yet."
					columns={["Command", "Namespace", "Status", "Started"]}
					row={j => (
						<tr key={j.id}>
							<td data-label="Command" class="mono small">
								<a href={`#/jobs/${j.id}`}>{j.cmd ?? j.command.join(" ")}</a>
							</td>
							<td data-label="Namespace">{nsName(j)}</td>
							<td data-label="Status">
								<Badge phase={j.phase} />
							</td>
							<td data-label="Started" class="small">
								{ago(j.createdAt)}
							</td>
						</tr>
					)}
				/>
			</Section>
		</>
	);
}

export function JobPage({ id }: { id: string }) {
	const job = useAsync(() => get<Job>(`/v1/k8s/jobs/${id}`), [id]);
	const [logs, setLogs] = useState<string>();
	const [logError, setLogError] = useState<unknown>();
	const remove = useAction();
	const phase = job.data?.phase;
	// Jobs have no stream: follow one that is still running until it finishes.
	useEffect(() => {
		if (!phase || FINISHED.has(phase)) return;
		const t = setInterval(() => void job.reload(), 2000);
		return () => clearInterval(t);
	}, [phase]);
	useEffect(() => {
		if (!phase || phase === "Pending") return;
		apiText(`/v1/k8s/jobs/${id}/logs`)
			.then(text => {
				setLogs(text);
				setLogError(undefined);
			})
			.catch(setLogError);
	}, [id, phase]);
	if (job.error) return <ErrorBox error={job.error} />;
	if (!job.data) return <Loading />;
	const j = job.data;
	return (
		<Section
			title={`Job ${j.name.slice(0, 8)}`}
			testid="job"
			actions={
				<button
					class="danger small"
					disabled={remove.busy}
					onClick={async () => {
						if (await remove.run(() => del(`/v1/k8s/jobs/${id}`))) navigate("/jobs");
					}}
				>
					Delete
				</button>
			}
		>
			<p>
				<Badge phase={j.phase} testid="job-phase" /> <span class="mono small">{j.cmd ?? j.command.join(" ")}</span>
			</p>
			<p class="muted small">
				image <span class="mono">{j.image}</span> · {j.namespaceName} · started {ago(j.createdAt)}
				{j.finishedAt ? ` · finished ${ago(j.finishedAt)}` : ""}
			</p>
			<ErrorBox error={remove.error} onDismiss={remove.clear} />
			<h3>Output</h3>
			<ErrorBox error={logError} />
			{logs === undefined && !logError ? <Loading what={phase === "Pending" ? "Waiting for the job to start" : "Loading the output"} /> : null}
			{logs !== undefined ? (
				<pre class="log" data-testid="job-logs">
					{logs || "(no output)"}
				</pre>
			) : null}
		</Section>
	);
}
