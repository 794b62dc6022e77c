/**
 * Talking to Berth's REST API from the browser: the API key lives in sessionStorage only (gone
 * when the tab closes), every failure becomes an ApiError carrying the API's own message.
 */

const KEY = "berth.apiKey";

export class ApiError extends Error {
	constructor(
		message: string,
		readonly status: number,
		readonly type: string,
		readonly data?: unknown,
	) {
		super(message);
		this.name = "ApiError";
	}
}

type Listener = () => void;
const signedOutListeners = new Set<Listener>();

export const session = {
	get key(): string | null {
		return sessionStorage.getItem(KEY);
	},
	signIn(key: string): void {
		sessionStorage.setItem(KEY, key);
	},
	signOut(): void {
		sessionStorage.removeItem(KEY);
		for (const l of signedOutListeners) l();
	},
	/** Called when the key stops working (401): the app goes back to the sign-in page. */
	onSignedOut(l: Listener): () => void {
		signedOutListeners.add(l);
		return () => signedOutListeners.delete(l);
	},
};

function headers(key = session.key, extra: Record<string, string> = {}): Record<string, string> {
	return { ...(key ? { Authorization: `Bearer ${key}` } : {}), ...extra };
}

/** An error body of the gateway ({name, message, code, type, data}) as an ApiError; anything else by its status. */
async function failure(res: Response): Promise<ApiError> {
	const text = await res.text().catch(() => "");
	try {
		const body = JSON.parse(text) as { message?: string; type?: string; data?: unknown };
		let message = body.message || `${res.status} ${res.statusText}`;
		// Validation errors name their fields: say which.
		if (Array.isArray(body.data) && body.data.length && typeof body.data[0] === "object") {
			const fields = (body.data as { field?: string; message?: string }[]).map(d => d.message ?? d.field).filter(Boolean);
			if (fields.length) message = `${message}: ${fields.join("; ")}`;
		}
		return new ApiError(message, res.status, body.type ?? "ERROR", body.data);
	} catch {
		return new ApiError(text.trim() || `${res.status} ${res.statusText}`, res.status, "ERROR");
	}
}

async function send(method: string, path: string, body?: unknown, key?: string): Promise<Response> {
	let res: Response;
	try {
		res = await fetch(`/api${path}`, {
			method,
			headers: headers(key ?? session.key, body === undefined ? {} : { "Content-Type": "application/json" }),
			body: body === undefined ? undefined : JSON.stringify(body),
		});
	} catch (err) {
		throw new ApiError(`Berth cannot be reached: ${(err as Error).message}`, 0, "NETWORK");
	}
	if (!res.ok) {
		const err = await failure(res);
		if (res.status === 401 && !key) session.signOut();
		throw err;
	}
	return res;
}

/** A JSON call; the answer's body, parsed. */
export async function api<T>(method: string, path: string, body?: unknown): Promise<T> {
	const res = await send(method, path, body);
	const text = await res.text();
	return (text ? JSON.parse(text) : undefined) as T;
}

/** A text/plain answer (job logs). */
export async function apiText(path: string): Promise<string> {
	return (await send("GET", path)).text();
}

/** Checks a key before keeping it. */
export async function checkKey(key: string): Promise<void> {
	await send("GET", "/v1/keys", undefined, key);
}

export const get = <T>(path: string) => api<T>("GET", path);
export const post = <T>(path: string, body?: unknown) => api<T>("POST", path, body ?? {});
export const patch = <T>(path: string, body: unknown) => api<T>("PATCH", path, body);
export const put = <T>(path: string, body: unknown) => api<T>("PUT", path, body);
export const del = <T>(path: string) => api<T>("DELETE", path);

export function query(params: Record<string, string | number | boolean | undefined>): string {
	const q = new URLSearchParams();
	for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== "") q.set(k, String(v));
	const s = q.toString();
	return s ? `?${s}` : "";
}

/**
 * Reads a text stream (a log follow) chunk by chunk until it ends or `signal` aborts.
 * EventSource cannot send the Authorization header, so streams go through fetch.
 */
export async function readText(path: string, signal: AbortSignal, onText: (text: string) => void): Promise<void> {
	const res = await fetch(`/api${path}`, { headers: headers(), signal });
	if (!res.ok) throw await failure(res);
	const reader = res.body!.getReader();
	const decoder = new TextDecoder();
	for (;;) {
		const { done, value } = await reader.read();
		if (done) return;
		onText(decoder.decode(value, { stream: true }));
	}
}

export type StreamState = "connecting" | "live" | "reconnecting" | "closed";

/** One Server-Sent-Events block: its event name, its data lines, and a new `retry:` delay if it sets one. */
function parseEventBlock(block: string): { event: string; data: string[]; retry?: number } {
	let event = "message";
	let retry: number | undefined;
	const data: string[] = [];
	for (const line of block.split("\n")) {
		if (line.startsWith(":")) continue;
		const colon = line.indexOf(":");
		const field = colon < 0 ? line : line.slice(0, colon);
		const value = colon < 0 ? "" : line.slice(colon + 1).replace(/^ /, "");
		if (field === "event") event = value;
		else if (field === "data") data.push(value);
		else if (field === "retry" && Number(value) > 0) retry = Number(value);
	}
	return { event, data, retry };
}

/**
 * Subscribes to a Server-Sent-Events endpoint of the API. Reconnects after a dropped connection
 * (the server's `retry:` delay); an error answer (404, 401) stops it and is handed to onError.
 */
export function subscribe(
	path: string,
	handlers: Record<string, (data: any) => void>,
	opts: { onError?: (err: ApiError) => void; onState?: (state: StreamState) => void } = {},
): () => void {
	const controller = new AbortController();
	let retryMs = 3000;
	let stopped = false;
	const run = async () => {
		while (!stopped) {
			opts.onState?.("connecting");
			try {
				const res = await fetch(`/api${path}`, { headers: headers(undefined, { Accept: "text/event-stream" }), signal: controller.signal });
				if (!res.ok) {
					const err = await failure(res);
					if (res.status === 401) session.signOut();
					opts.onError?.(err);
					// A refusal is an answer, not a dropped line: no point asking again.
					if (res.status < 500) break;
				} else {
					opts.onState?.("live");
					const reader = res.body!.getReader();
					const decoder = new TextDecoder();
					let buffer = "";
					for (;;) {
						const { done, value } = await reader.read();
						if (done) break;
						buffer += decoder.decode(value, { stream: true }).replace(/\r\n/g, "\n");
						let cut: number;
						while ((cut = buffer.indexOf("\n\n")) >= 0) {
							const block = buffer.slice(0, cut);
							buffer = buffer.slice(cut + 2);
							const { event, data, retry } = parseEventBlock(block);
							if (retry !== undefined) retryMs = retry;
							if (data.length) handlers[event]?.(JSON.parse(data.join("\n")));
						}
					}
				}
			} catch (err) {
				if (stopped) break;
			}
			if (stopped) break;
			opts.onState?.("reconnecting");
			await new Promise(r => setTimeout(r, retryMs));
		}
		opts.onState?.("closed");
	};
	void run();
	return () => {
		stopped = true;
		controller.abort();
	};
}
