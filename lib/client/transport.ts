/** How the client reaches the gateway: options, URLs, and what the resource groups call through. */
import type { HttpMethod, OperationName } from "./routes";

export interface BerthClientOptions {
	/** The gateway's base URL (`https://berth.example.com`); wins over host and port. */
	url?: string;
	/** Host name or address, optionally with a scheme (`https://berth.example.com`). Default 127.0.0.1. */
	host?: string;
	/** Default 3000. */
	port?: number;
	/** Sent as `Authorization: Bearer <key>`; public routes work without one. */
	apiKey?: string;
	/** Per request (not for log streams). Default 30 s. */
	timeoutMs?: number;
	/** Another fetch (tests, proxies). */
	fetch?: typeof fetch;
	/** Extra headers for every request. */
	headers?: Record<string, string>;
}

export interface RequestOptions {
	query?: Record<string, unknown>;
	body?: unknown;
	signal?: AbortSignal;
	timeoutMs?: number;
}

/** `http://127.0.0.1:3000` from the options, without a trailing slash. */
export function baseUrlOf(opts: Pick<BerthClientOptions, "url" | "host" | "port"> = {}): string {
	if (opts.url) return opts.url.replace(/\/+$/, "");
	const host = (opts.host || "127.0.0.1").replace(/\/+$/, "");
	const withScheme = /^[a-z][a-z0-9+.-]*:\/\//i.test(host) ? host : `http://${host}`;
	if (opts.port === undefined) {
		// A bare host gets the gateway's default port; a URL given as host keeps its own.
		return withScheme === host ? host : `${withScheme}:3000`;
	}
	const url = new URL(withScheme);
	url.port = String(opts.port);
	return url.toString().replace(/\/+$/, "");
}

/** `a=1&b=x&b=y`: arrays repeat the key, objects go as JSON, undefined is left out. */
export function queryString(query: Record<string, unknown> | undefined): string {
	if (!query) return "";
	const search = new URLSearchParams();
	for (const [key, value] of Object.entries(query)) {
		if (value === undefined || value === null) continue;
		if (Array.isArray(value)) for (const v of value) search.append(key, String(v));
		else if (typeof value === "object") search.append(key, JSON.stringify(value));
		else search.append(key, String(value));
	}
	const s = search.toString();
	return s ? `?${s}` : "";
}

/** What a resource group needs of the client: the route table's operations and raw streams. */
export interface Transport {
	call<R = unknown>(name: OperationName, params?: object, opts?: Omit<RequestOptions, "query" | "body">): Promise<R>;
	stream(method: HttpMethod, path: string, opts?: Omit<RequestOptions, "timeoutMs">): AsyncGenerator<string>;
}
