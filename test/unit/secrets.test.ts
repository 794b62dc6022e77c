import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { KEY_FILE, loadKeyring, resealStored, writeOwnerOnlyFile, type ResealStore } from "../../lib/secrets/keyring";
import { isSealed, newKeyText, open, openFields, parseKey, reveal, resealed, seal, SealedValueError, sealedKeyId, sealFields, type Keyring } from "../../lib/secrets/seal";

const keyA = parseKey(newKeyText(), "A");
const keyB = parseKey(newKeyText(), "B");
const ringA: Keyring = { current: keyA, previous: [] };
const ringB: Keyring = { current: keyB, previous: [] };
const rotated: Keyring = { current: keyB, previous: [keyA] };

describe("seal and open", () => {
	it("round-trips any text in a versioned envelope that names the key and holds no plain text", () => {
		for (const plain of ["s3cr3t-value", "", "ünïcødé ✓", "x".repeat(64 * 1024)]) {
			const sealed = seal(plain, keyA);
			expect(sealed.startsWith(`enc:v1:${keyA.id}:`)).toBe(true);
			expect(isSealed(sealed)).toBe(true);
			expect(sealedKeyId(sealed)).toBe(keyA.id);
			if (plain.length > 3) expect(sealed).not.toContain(plain);
			expect(open(sealed, ringA)).toBe(plain);
		}
	});

	it("uses a fresh nonce for every value: one text sealed twice differs", () => {
		expect(seal("same", keyA)).not.toBe(seal("same", keyA));
	});

	it("refuses a value under a key the ring lacks, naming the key and not the value", () => {
		const sealed = seal("do-not-print-me", keyA);
		expect(() => open(sealed, ringB)).toThrow(SealedValueError);
		expect(() => open(sealed, ringB)).toThrow(keyA.id);
		try {
			open(sealed, ringB);
		} catch (err) {
			expect(String((err as Error).message)).not.toContain("do-not-print-me");
		}
	});

	it("refuses a tampered value (GCM authenticates it)", () => {
		const sealed = seal("value", keyA);
		const body = Buffer.from(sealed.split(":")[3], "base64url");
		body[body.length - 20] ^= 1;
		expect(() => open(`enc:v1:${keyA.id}:${body.toString("base64url")}`, ringA)).toThrow(/does not authenticate/);
		expect(() => open(`enc:v1:${keyA.id}:AAAA`, ringA)).toThrow(/cut short/);
	});

	it("opens values under a previous key, and re-seals plain and previous values under the current one", () => {
		const underA = seal("v", keyA);
		expect(open(underA, rotated)).toBe("v");
		const again = resealed(underA, rotated) as string;
		expect(sealedKeyId(again)).toBe(keyB.id);
		expect(open(again, ringB)).toBe("v");
		expect(resealed(again, rotated)).toBeUndefined();
		const fromPlain = resealed("legacy-plain", ringA) as string;
		expect(sealedKeyId(fromPlain)).toBe(keyA.id);
		expect(reveal(fromPlain, ringA)).toBe("legacy-plain");
		expect(reveal("legacy-plain", ringA)).toBe("legacy-plain");
	});

	it("seals a caller's value even when it looks like an envelope", () => {
		const lookalike = "enc:v1:000000000000:AAAA";
		const doc = sealFields({ secretValue: lookalike, value: "" }, ["secretValue"], ringA);
		expect(doc.secretValue).not.toBe(lookalike);
		expect(openFields(doc, ["secretValue"], ringA).secretValue).toBe(lookalike);
		expect(sealFields({ secretValue: null }, ["secretValue"], ringA).secretValue).toBeNull();
	});

	it("reads keys as base64 or hex, and names the setting (never the text) when one is malformed", () => {
		const bytes = Buffer.alloc(32, 7);
		expect(parseKey(bytes.toString("base64"), "K").id).toBe(parseKey(bytes.toString("hex"), "K").id);
		expect(parseKey(bytes.toString("base64url"), "K").id).toBe(parseKey(bytes.toString("hex"), "K").id);
		expect(() => parseKey("too-short-secret", "SECRETS_KEY")).toThrow(/^SECRETS_KEY must be a 32-byte key/);
		expect(() => parseKey("too-short-secret", "SECRETS_KEY")).not.toThrow(/too-short-secret/);
		expect(() => parseKey(Buffer.alloc(31).toString("base64"), "SECRETS_KEY")).toThrow(SealedValueError);
	});
});

describe("the keyring", () => {
	let dir: string;
	beforeEach(() => {
		dir = fs.mkdtempSync(path.join(os.tmpdir(), "berth-secrets-"));
	});
	afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

	it("makes a key on first start, 0600 in DATA_DIR, and reads the same one after", () => {
		const heard: string[] = [];
		const first = loadKeyring({ dataDir: dir }, m => heard.push(m));
		const file = path.join(dir, KEY_FILE);
		expect(fs.statSync(file).mode & 0o777).toBe(0o600);
		expect(heard.join()).toContain(file);
		const second = loadKeyring({ dataDir: dir }, m => heard.push(m));
		expect(second.current.id).toBe(first.current.id);
		expect(heard).toHaveLength(1);
	});

	it("takes SECRETS_KEY and SECRETS_KEY_PREVIOUS over the file, and writes no file then", () => {
		const a = newKeyText();
		const b = newKeyText();
		const ring = loadKeyring({ secretsKey: b, secretsKeyPrevious: ` ${a} ,`, dataDir: dir });
		expect(ring.current.id).toBe(parseKey(b, "b").id);
		expect(ring.previous.map(k => k.id)).toEqual([parseKey(a, "a").id]);
		expect(fs.existsSync(path.join(dir, KEY_FILE))).toBe(false);
		expect(() => loadKeyring({ secretsKey: b, secretsKeyPrevious: "nope", dataDir: dir })).toThrow(/SECRETS_KEY_PREVIOUS \(entry 1\)/);
	});

	it("writes owner-only files, tightening an existing file's mode, and an exclusive write leaves one alone", () => {
		const file = path.join(dir, "sub", "admin.key");
		writeOwnerOnlyFile(file, "one\n");
		fs.chmodSync(file, 0o644);
		writeOwnerOnlyFile(file, "two\n");
		expect(fs.statSync(file).mode & 0o777).toBe(0o600);
		expect(writeOwnerOnlyFile(file, "three\n", { exclusive: true })).toBe(false);
		expect(fs.readFileSync(file, "utf8")).toBe("two\n");
	});
});

describe("the start's re-seal pass", () => {
	function memoryStore(docs: Record<string, unknown>[]): ResealStore & { docs: Record<string, unknown>[] } {
		return {
			docs,
			all: async () => docs.map(d => ({ ...d })),
			replaceIf: async (id, field, expected, next) => {
				const doc = docs.find(d => d.id === id);
				if (!doc || doc[field] !== expected) return false;
				doc[field] = next;
				return true;
			},
		};
	}

	it("seals plain values and re-seals previous ones under the current key; a second pass changes nothing", async () => {
		const store = memoryStore([
			{ id: "1", secretValue: "plain-one" },
			{ id: "2", secretValue: seal("under-a", keyA) },
			{ id: "3", secretValue: seal("under-b", keyB) },
			{ id: "4", value: "not secret", secretValue: null },
		]);
		expect(await resealStored(store, ["secretValue"], rotated)).toEqual({ resealed: 2 });
		expect(store.docs.slice(0, 3).map(d => sealedKeyId(d.secretValue as string))).toEqual([keyB.id, keyB.id, keyB.id]);
		expect(store.docs.slice(0, 3).map(d => open(d.secretValue as string, ringB))).toEqual(["plain-one", "under-a", "under-b"]);
		expect(store.docs[3].secretValue).toBeNull();
		expect(await resealStored(store, ["secretValue"], rotated)).toEqual({ resealed: 0 });
	});

	it("leaves a value a caller changed meanwhile alone", async () => {
		const store = memoryStore([{ id: "1", secretValue: "old" }]);
		const racing: ResealStore = { all: store.all, replaceIf: async (id, field, expected, next) => ((store.docs[0].secretValue = seal("new", keyA)), store.replaceIf(id, field, expected, next)) };
		expect(await resealStored(racing, ["secretValue"], ringA)).toEqual({ resealed: 0 });
		expect(open(store.docs[0].secretValue as string, ringA)).toBe("new");
	});

	it("stops on values under a key it does not hold, naming the key and how many", async () => {
		const store = memoryStore([{ id: "1", secretValue: seal("x", keyA) }, { id: "2", secretValue: seal("y", keyA) }]);
		await expect(resealStored(store, ["secretValue"], ringB)).rejects.toThrow(`2 under key ${keyA.id}`);
	});
});
