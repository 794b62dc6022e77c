import { request, type Mesh } from "./mesh";

/** What the access suites do through the gateway: keys (confined or not), members, event streams. */

export interface IssuedKey {
	id: string;
	key: string;
}

/** A key for `userID` made with the admin key, confined to `namespaces` (names) when given (asserts the 201). */
export async function issueKey(mesh: Mesh, userID: string, namespaces?: string[]): Promise<IssuedKey> {
	const res = await request(`${mesh.url}/api/v1/keys`, { method: "POST", key: mesh.adminKey, body: { name: userID, userID, ...(namespaces ? { namespaces } : {}) } });
	if (res.status !== 201) throw new Error(`key for ${userID}: ${res.status} ${res.text}`);
	return { id: res.body.id, key: res.body.key };
}

/** Adds `member` to the namespace (with `role`, else the default) as the caller of `key` (asserts the 200). */
export async function addMember(mesh: Mesh, key: string, namespaceId: string, member: string, role?: string): Promise<void> {
	const res = await request(`${mesh.url}/api/v1/k8s/namespaces/${namespaceId}/members`, { method: "POST", key, body: { member, ...(role ? { role } : {}) } });
	if (res.status !== 200) throw new Error(`add ${member} to ${namespaceId}: ${res.status} ${res.text}`);
}

/** Removes `member` from the namespace as the caller of `key` (asserts the 200). */
export async function removeMember(mesh: Mesh, key: string, namespaceId: string, member: string): Promise<void> {
	const res = await request(`${mesh.url}/api/v1/k8s/namespaces/${namespaceId}/members/${encodeURIComponent(member)}`, { method: "DELETE", key });
	if (res.status !== 200) throw new Error(`remove ${member} from ${namespaceId}: ${res.status} ${res.text}`);
}

export interface ServerEvent {
	event: string;
	data: unknown;
}

/**
 * A Server-Sent-Events answer read as it arrives: `events` so far, `closed` once the server ends
 * it. `close()` ends it from this side.
 */
export interface EventStream {
	status: number;
	events: ServerEvent[];
	closed: Promise<void>;
	close(): void;
}

export async function openEventStream(url: string, key: string): Promise<EventStream> {
	const abort = new AbortController();
	const res = await fetch(url, { headers: { authorization: `Bearer ${key}`, accept: "text/event-stream" }, signal: abort.signal });
	const events: ServerEvent[] = [];
	const read = async () => {
		if (!res.body) return;
		const decoder = new TextDecoder();
		let buffer = "";
		try {
			for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
				buffer += decoder.decode(chunk, { stream: true });
				let end: number;
				while ((end = buffer.indexOf("\n\n")) !== -1) {
					const block = buffer.slice(0, end);
					buffer = buffer.slice(end + 2);
					const event = /^event: (.*)$/m.exec(block)?.[1];
					const data = /^data: (.*)$/m.exec(block)?.[1];
					if (event) events.push({ event, data: data === undefined ? undefined : JSON.parse(data) });
				}
			}
		} catch (err) {
			if ((err as Error).name !== "AbortError") throw err;
		}
	};
	return { status: res.status, events, closed: read(), close: () => abort.abort() };
}
