/**
 * Where the sealing keys come from (SECRETS_KEY and SECRETS_KEY_PREVIOUS, else a key made on first
 * start and kept in DATA_DIR/secrets.key, 0600), and the start's pass that re-seals stored values
 * under the current key: plain ones an older Berth stored, and those under a previous key.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { newKeyText, parseKey, resealed, SealedValueError, sealedKeyId, type Keyring } from "./seal";

export const KEY_FILE = "secrets.key";

/** Writes a file only its owner may read (0600, also when it existed with wider modes). `exclusive`: false if it exists, untouched. */
export function writeOwnerOnlyFile(file: string, content: string, { exclusive = false } = {}): boolean {
	fs.mkdirSync(path.dirname(file), { recursive: true });
	try {
		fs.writeFileSync(file, content, { mode: 0o600, flag: exclusive ? "wx" : "w" });
	} catch (err) {
		if (exclusive && (err as NodeJS.ErrnoException).code === "EEXIST") return false;
		throw err;
	}
	fs.chmodSync(file, 0o600);
	return true;
}

export interface KeySettings {
	secretsKey?: string;
	/** Comma-separated: the keys values may still be sealed under. */
	secretsKeyPrevious?: string;
	/** ":memory:" (tests): a key of this process, made once. */
	dataDir: string;
}

/** In-memory stores (tests) share one key per process, as the brokers of one process share nothing else. */
let processKey: string | undefined;

/** The key DATA_DIR/secrets.key holds, made on first start (two nodes racing on one DATA_DIR get the same). */
function fileKeyText(dataDir: string): { text: string; file: string; made: boolean } {
	const file = path.join(dataDir, KEY_FILE);
	const made = writeOwnerOnlyFile(file, `${newKeyText()}\n`, { exclusive: true });
	return { text: fs.readFileSync(file, "utf8"), file, made };
}

/** The keyring of the settings; `log` hears where a generated key lives. A malformed key stops the start. */
export function loadKeyring(settings: KeySettings, log: (message: string) => void = () => undefined): Keyring {
	const previous = (settings.secretsKeyPrevious ?? "").split(",").map(s => s.trim()).filter(Boolean).map((text, i) => parseKey(text, `SECRETS_KEY_PREVIOUS (entry ${i + 1})`));
	if (settings.secretsKey) return { current: parseKey(settings.secretsKey, "SECRETS_KEY"), previous };
	if (settings.dataDir === ":memory:") {
		processKey ??= newKeyText();
		return { current: parseKey(processKey, "the in-memory key"), previous };
	}
	const { text, file, made } = fileKeyText(settings.dataDir);
	if (made) log(`Secret values are sealed with a key made now and kept in ${file} (0600); set SECRETS_KEY to choose it, and on every node that shares the database`);
	return { current: parseKey(text, file), previous };
}

/** What the pass needs of a store: every document's id and sealed fields, and a write that lands only on an unchanged value. */
export interface ResealStore {
	all(): Promise<Record<string, unknown>[]>;
	/** Sets `field` to `next` if it still holds `expected`; false when it changed meanwhile (a caller's write wins). */
	replaceIf(id: string, field: string, expected: string, next: string): Promise<boolean>;
}

/**
 * Re-seals, under the current key, every stored value of `fields` that is plain or under a previous
 * key. Idempotent: what is already under the current key is left alone, so every node may run it at
 * every start. Values under a key the ring lacks stop it: this node could not write them into the
 * cluster (SECRETS_KEY differs between nodes, or a rotation dropped the previous key too soon).
 */
export async function resealStored(store: ResealStore, fields: readonly string[], ring: Keyring): Promise<{ resealed: number }> {
	const unknown = new Map<string, number>();
	let count = 0;
	for (const doc of await store.all()) {
		for (const field of fields) {
			const value = doc[field];
			if (typeof value !== "string") continue;
			let next: string | undefined;
			try {
				next = resealed(value, ring);
			} catch (err) {
				if (!(err instanceof SealedValueError)) throw err;
				const id = sealedKeyId(value) ?? "?";
				unknown.set(id, (unknown.get(id) ?? 0) + 1);
				continue;
			}
			if (next !== undefined && (await store.replaceIf(String(doc.id), field, value, next))) count++;
		}
	}
	if (unknown.size) {
		const keys = [...unknown].map(([id, n]) => `${n} under key ${id}`).join(", ");
		throw new SealedValueError(`Stored secret values cannot be opened with this node's keys (current ${ring.current.id}): ${keys}. Set SECRETS_KEY to the key they were sealed with, or name it in SECRETS_KEY_PREVIOUS`);
	}
	return { resealed: count };
}
