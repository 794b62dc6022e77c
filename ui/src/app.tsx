import type { ComponentChildren } from "preact";
import { Component } from "preact";
import { useEffect, useState } from "preact/hooks";
import { checkKey, session } from "./api";
import { ErrorBox, useAction } from "./components";
import { ApplicationsPage } from "./pages/applications";
import { CatalogPage } from "./pages/catalog";
import { DeploymentPage, DeploymentsPage } from "./pages/deployments";
import { InventoryPage } from "./pages/inventory";
import { JobPage, JobsPage } from "./pages/jobs";
import { NamespacesPage } from "./pages/namespaces";
import { VolumesPage } from "./pages/volumes";
import { useRoute, type Route } from "./router";

const NAV = [
	["namespaces", "Namespaces"],
	["catalog", "Catalog"],
	["deployments", "Deployments"],
	["volumes", "Volumes"],
	["jobs", "Jobs"],
	["applications", "Applications"],
	["inventory", "Inventory"],
] as const;

function SignIn({ onSignedIn }: { onSignedIn: () => void }) {
	const [key, setKey] = useState("");
	const action = useAction();
	const submit = async (e: Event) => {
		e.preventDefault();
		const k = key.trim();
		const ok = await action.run(async () => {
			await checkKey(k);
			return true;
		});
		if (ok) {
			session.signIn(k);
			onSignedIn();
		}
	};
	return (
		<main class="signin">
			<form class="card" onSubmit={submit} data-testid="signin">
				<h1>Berth</h1>
				<p class="muted">Sign in with an API key. It is kept in this browser tab only, and forgotten when the tab closes.</p>
				<label>
					API key
					<input type="password" value={key} onInput={e => setKey((e.target as HTMLInputElement).value)} autocomplete="off" required autofocus data-testid="api-key" />
				</label>
				<button type="submit" disabled={action.busy} data-testid="signin-submit">
					{action.busy ? "Checking…" : "Sign in"}
				</button>
				<ErrorBox error={action.error} />
			</form>
		</main>
	);
}

/** A page that throws shows what it threw, not a blank screen. */
class Boundary extends Component<{ children: ComponentChildren; route: string }, { error?: unknown }> {
	state: { error?: unknown } = {};
	static getDerivedStateFromError(error: unknown) {
		return { error };
	}
	componentDidUpdate(prev: { route: string }) {
		if (prev.route !== this.props.route && this.state.error) this.setState({ error: undefined });
	}
	render() {
		return this.state.error ? <ErrorBox error={this.state.error} /> : this.props.children;
	}
}

function Page({ route }: { route: Route }) {
	const [section, id] = route.parts;
	switch (section ?? "namespaces") {
		case "namespaces":
			return <NamespacesPage />;
		case "catalog":
			return <CatalogPage />;
		case "deployments":
			return id ? <DeploymentPage id={id} route={route} /> : <DeploymentsPage route={route} />;
		case "volumes":
			return <VolumesPage />;
		case "jobs":
			return id ? <JobPage id={id} /> : <JobsPage />;
		case "applications":
			return <ApplicationsPage />;
		case "inventory":
			return <InventoryPage />;
		default:
			return <ErrorBox error={new Error(`No page ${route.path}`)} />;
	}
}

export function App() {
	const [signedIn, setSignedIn] = useState(() => Boolean(session.key));
	const route = useRoute();
	const [menu, setMenu] = useState(false);
	useEffect(() => session.onSignedOut(() => setSignedIn(false)), []);
	useEffect(() => setMenu(false), [route.path]);
	if (!signedIn) return <SignIn onSignedIn={() => setSignedIn(true)} />;
	const current = route.parts[0] ?? "namespaces";
	return (
		<div class="shell">
			<header class="top">
				<a class="brand" href="#/namespaces">
					Berth
				</a>
				<button class="menu-toggle link" aria-expanded={menu} aria-controls="nav" onClick={() => setMenu(!menu)}>
					☰ Menu
				</button>
				<nav id="nav" class={menu ? "open" : ""}>
					{NAV.map(([path, label]) => (
						<a key={path} href={`#/${path}`} class={current === path ? "active" : ""} data-testid={`nav-${path}`}>
							{label}
						</a>
					))}
				</nav>
				<button class="link signout" onClick={() => session.signOut()} data-testid="signout">
					Sign out
				</button>
			</header>
			<main class="content">
				<Boundary route={route.path}>
					<Page route={route} />
				</Boundary>
			</main>
		</div>
	);
}
