import { useEffect } from "preact/hooks";
import { ApiError, del, get, post } from "../api";
import { Badge, Empty, ErrorBox, Rows, Section, ago, countdown, useAction, useAsync, useNow } from "../components";
import type { Application, Image } from "../types";

type Action = ReturnType<typeof useAction>;

/** Ephemeral applications (v1.k8s.applications): launch a template, follow it until it has a location, see when it will be culled. */
export function ApplicationsPage() {
	const templates = useAsync(() => get<Image[]>("/v1/k8s/images?launchable=true"), []);
	const list = useAsync(() => get<Application[]>("/v1/k8s/applications"), []);
	const action = useAction();
	const now = useNow();
	const deploying = list.data?.some(a => a.status === "deploying");
	// Instances have no stream yet: refresh while one is starting.
	useEffect(() => {
		if (!deploying) return;
		const t = setInterval(() => void list.reload(), 2000);
		return () => clearInterval(t);
	}, [deploying]);
	const unavailable = list.error instanceof ApiError && list.error.status === 404;
	if (unavailable) return <Section title="Applications">{<Empty>Applications are not served by this mesh (the k8s.applications service is not running).</Empty>}</Section>;
	return (
		<>
			<LaunchSection templates={templates} action={action} onLaunched={list.reload} />
			<Section
				title="Applications"
				testid="applications"
				actions={
					<button class="small" onClick={list.reload}>
						Refresh
					</button>
				}
			>
				<ErrorBox error={list.error} />
				<Rows
					items={list.data}
					loading={list.loading}
					empty="No applications."
					columns={["Template", "Status", "Location", "Culled in", "Last activity", ""]}
					row={a => <ApplicationRow key={a.id} app={a} now={now} action={action} onChanged={list.reload} />}
				/>
			</Section>
		</>
	);
}

/** The launchable templates, one tile each with its Launch button. */
function LaunchSection({ templates, action, onLaunched }: { templates: ReturnType<typeof useAsync<Image[]>>; action: Action; onLaunched: () => Promise<void> }) {
	return (
		<Section title="Launch" testid="templates">
			<ErrorBox error={templates.error} />
			{templates.data && !templates.data.length ? <Empty>No launchable templates in the catalog.</Empty> : null}
			<div class="grid">
				{(templates.data ?? []).map(t => (
					<article class="tile" key={t.id}>
						<header class="tile-head">
							<h3>{t.name}</h3>
							{t.public ? <span class="tag">public</span> : null}
						</header>
						<p class="small">{t.description}</p>
						<button
							disabled={action.busy}
							onClick={async () => {
								if (await action.run(() => post<Application>("/v1/k8s/applications", { template: t.name }))) await onLaunched();
							}}
						>
							Launch
						</button>
					</article>
				))}
			</div>
			<ErrorBox error={action.error} onDismiss={action.clear} />
		</Section>
	);
}

/** One instance: where it runs, when it will be culled, and Keep alive / Stop while it lives. */
function ApplicationRow({ app, now, action, onChanged }: { app: Application; now: number; action: Action; onChanged: () => Promise<void> }) {
	return (
		<tr>
			<td data-label="Template">
				{app["template-name"]} <span class="muted mono small">{app.id.slice(0, 8)}</span>
			</td>
			<td data-label="Status">
				<Badge phase={app.status} />
				{app.reason ? <span class="muted small"> {app.reason}</span> : null}
			</td>
			<td data-label="Location" class="small">
				{app.location ? (
					<a href={/^https?:\/\//.test(app.location) ? app.location : `http://${app.location}`} target="_blank" rel="noreferrer">
						{app.location}
					</a>
				) : (
					<span class="muted">–</span>
				)}
			</td>
			<td data-label="Culled in" class="mono">
				{app.cullAt && (app.status === "running" || app.status === "deploying") ? countdown(app.cullAt, now) : "–"}
			</td>
			<td data-label="Last activity" class="small">
				{ago(app.lastActivityAt, now)}
			</td>
			<td>
				{app.status === "running" || app.status === "deploying" ? (
					<span class="actions">
						<button
							class="small"
							disabled={action.busy}
							onClick={async () => {
								if (await action.run(() => post(`/v1/k8s/applications/${app.id}/keepalive`))) await onChanged();
							}}
						>
							Keep alive
						</button>
						<button
							class="danger small"
							disabled={action.busy}
							onClick={async () => {
								if (await action.run(() => del(`/v1/k8s/applications/${app.id}`))) await onChanged();
							}}
						>
							Stop
						</button>
					</span>
				) : null}
			</td>
		</tr>
	);
}
