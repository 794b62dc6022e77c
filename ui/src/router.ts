import { useEffect, useState } from "preact/hooks";

/** Hash routes (`#/deployments/abc?tab=logs`): the gateway serves one index.html, no fallback needed. */
export interface Route {
	path: string;
	parts: string[];
	query: URLSearchParams;
}

export function parseHash(hash: string): Route {
	const raw = hash.replace(/^#/, "") || "/";
	const [path, search = ""] = raw.split("?");
	return { path, parts: path.split("/").filter(Boolean).map(decodeURIComponent), query: new URLSearchParams(search) };
}

export function navigate(path: string): void {
	location.hash = `#${path}`;
}

export function useRoute(): Route {
	const [route, setRoute] = useState(() => parseHash(location.hash));
	useEffect(() => {
		const update = () => setRoute(parseHash(location.hash));
		addEventListener("hashchange", update);
		return () => removeEventListener("hashchange", update);
	}, []);
	return route;
}
