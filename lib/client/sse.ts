/** One Server-Sent Event: its `event` name (default "message"), `id`, and `data` parsed as JSON when it is JSON. */
export interface ServerSentEvent<T = unknown> {
	event: string;
	id?: string;
	data: T;
}

/**
 * Server-Sent Events from a text stream split anywhere: events end at a blank line, `:` lines are
 * comments (heartbeats), multi-line `data:` fields join with newlines (the WHATWG rules, less `retry`).
 */
export async function* parseEventStream(chunks: AsyncIterable<string>): AsyncGenerator<ServerSentEvent> {
	let buffer = "";
	let event = "";
	let id: string | undefined;
	let data: string[] = [];
	const flush = (): ServerSentEvent | undefined => {
		if (!data.length) {
			event = "";
			return undefined;
		}
		const text = data.join("\n");
		let parsed: unknown = text;
		try {
			parsed = JSON.parse(text);
		} catch {
			/* not JSON: the text itself */
		}
		const out = { event: event || "message", ...(id !== undefined ? { id } : {}), data: parsed };
		event = "";
		data = [];
		return out;
	};
	for await (const chunk of chunks) {
		buffer += chunk;
		let nl: number;
		while ((nl = buffer.search(/\r\n|\r|\n/)) !== -1) {
			const line = buffer.slice(0, nl);
			buffer = buffer.slice(nl + (buffer.startsWith("\r\n", nl) ? 2 : 1));
			if (line === "") {
				const ev = flush();
				if (ev) yield ev;
				continue;
			}
			if (line.startsWith(":")) continue;
			const colon = line.indexOf(":");
			const field = colon === -1 ? line : line.slice(0, colon);
			const value = colon === -1 ? "" : line.slice(colon + 1).replace(/^ /, "");
			if (field === "event") event = value;
			else if (field === "data") data.push(value);
			else if (field === "id") id = value;
		}
	}
}
