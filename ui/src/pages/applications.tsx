import { useEffect } from "preact/hooks";
import { ApiError, del, get, post } from "../api";
import { Badge, Empty, ErrorBox, Rows, Section, ago, countdown, useAction, useAsync, useNow } from "../components";
import type { Application, Image } from "../types";

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
									if (await action.run(() => post<Application>("/v1/k8s/applications", { template: t.name }))) await list.reload();
								}}
							>
								Launch
							</button>
						</article>
					))}
				</div>
				<ErrorBox error={action.error} onDismiss={action.clear} />
			</Section>
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
					row={a => (
						<tr key={a.id}>
							<td data-label="Template">
								{a["template-name"]} <span class="muted mono small">{a.id.slice(0, 8)}</span>
							</td>
							<td data-label="Status">
								<Badge phase={a.status} />
								{a.reason ? <span class="muted small"> {a.reason}</span> : null}
							</td>
							<td data-label="Location" class="small">
								{a.location ? (
									<a href={/^https?:\/\//.test(a.location) ? a.location : `http://${a.location}`} target="_blank" rel="noreferrer">
										{a.location}
									</a>
								) : (
									<span class="muted">–</span>
								)}
							</td>
							<td data-label="Culled in" class="mono">
								{a.cullAt && (a.status === "running" || a.status === "deploying") ? countdown(a.cullAt, now) : "–"}
							</td>
							<td data-label="Last activity" class="small">
								{ago(a.lastActivityAt, now)}
							</td>
							<td>
								{a.status === "running" || a.status === "deploying" ? (
									<span class="actions">
										<button
											class="small"
											disabled={action.busy}
											onClick={async () => {
												if (await action.run(() => post(`/v1/k8s/applications/${a.id}/keepalive`))) await list.reload();
											}}
										>
											Keep alive
										</button>
										<button
											class="danger small"
											disabled={action.busy}
											onClick={async () => {
												if (await action.run(() => del(`/v1/k8s/applications/${a.id}`))) await list.reload();
											}}
										>
											Stop
										</button>
									</span>
								) : null}
							</td>
						</tr>
					)}
				/>
			</Section>
		</>
	);
}
