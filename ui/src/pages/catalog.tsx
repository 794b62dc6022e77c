import { useState } from "preact/hooks";
import { get, post } from "../api";
import { Empty, ErrorBox, Loading, NamespaceSelect, Section, useAction, useAsync, useNamespaces } from "../components";
import { navigate } from "../router";
import type { Deployment, Image, Namespace } from "../types";

function DeployForm({ image, namespaces }: { image: Image; namespaces: Namespace[] }) {
	const [namespace, setNamespace] = useState(namespaces.length === 1 ? namespaces[0].name : "");
	const [name, setName] = useState(image.name);
	const [replicas, setReplicas] = useState("1");
	const action = useAction();
	const submit = async (e: Event) => {
		e.preventDefault();
		const dep = await action.run(() => post<Deployment>(`/v1/k8s/images/${image.id}/deploy`, { namespace, name: name.trim(), replicas: Number(replicas) }));
		if (dep) navigate(`/deployments/${dep.id}`);
	};
	return (
		<form class="form compact" onSubmit={submit} data-testid={`deploy-form-${image.name}`}>
			<NamespaceSelect namespaces={namespaces} value={namespace} onChange={setNamespace} testid="deploy-namespace" />
			<input value={name} onInput={e => setName((e.target as HTMLInputElement).value)} aria-label="Deployment name" required data-testid="deploy-name" />
			<input type="number" min={0} max={100} value={replicas} onInput={e => setReplicas((e.target as HTMLInputElement).value)} aria-label="Replicas" style={{ width: "4.5em" }} />
			<button type="submit" disabled={action.busy || !namespace} data-testid="deploy-submit">
				{action.busy ? "Deploying…" : "Deploy"}
			</button>
			<ErrorBox error={action.error} onDismiss={action.clear} />
		</form>
	);
}

export function CatalogPage() {
	const images = useAsync(() => get<Image[]>("/v1/k8s/images"), []);
	const namespaces = useNamespaces();
	const [open, setOpen] = useState<string>();
	return (
		<Section title="Image catalog" testid="catalog">
			<ErrorBox error={images.error ?? namespaces.error} />
			{images.loading && !images.data ? <Loading /> : null}
			{images.data && !images.data.length ? <Empty>The catalog is empty.</Empty> : null}
			<div class="grid">
				{(images.data ?? []).map(img => (
					<article class="tile" key={img.id} data-testid={`image-${img.name}`}>
						<header class="tile-head">
							<h3>{img.name}</h3>
							{img.launchable ? <span class="tag">launchable</span> : null}
						</header>
						<p class="mono small">{img.image}</p>
						<p class="small">{img.description}</p>
						{img.ports?.length ? <p class="muted small">ports {img.ports.map(p => `${p.port}/${p.protocol ?? "TCP"}`).join(", ")}</p> : null}
						{open === img.id ? (
							namespaces.data && namespaces.data.length ? (
								<DeployForm image={img} namespaces={namespaces.data} />
							) : (
								<p class="muted small">
									Create a <a href="#/namespaces">namespace</a> first.
								</p>
							)
						) : (
							<button onClick={() => setOpen(img.id)} data-testid={`deploy-${img.name}`}>
								Deploy…
							</button>
						)}
					</article>
				))}
			</div>
		</Section>
	);
}
