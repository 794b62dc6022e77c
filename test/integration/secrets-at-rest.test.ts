import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { ServiceBroker } from "moleculer";
import mongoose from "mongoose";
import brokerConfig from "../../moleculer.config";
import { selectServices } from "../../services";
import { KEY_FILE } from "../../lib/secrets/keyring";
import { newKeyText, parseKey } from "../../lib/secrets/seal";
import type { V1Secret } from "../../lib/k8s";
import { dropStore, isolatedMongoUri } from "../helpers/backends";
import { kube, repoRoot, uniqueName } from "../helpers/cluster";
import { eventually } from "../helpers/eventually";
import { request, startMesh, type Mesh } from "../helpers/mesh";

const SERVICES = ["api", "keys", "audit", "k8s.namespaces", "k8s.images", "k8s.deployments", "k8s.envs"];
const MASK = "********";
const CATALOG_DEFAULT = "catalog-default-root-token-value";
/** What a scan of the store must never find, by what the test set it to. */
const S1 = "first-secret-given-at-create-7f3a";
const S2 = "second-secret-before-update-91c2";
const S3 = "second-secret-after-update-4b8e";
const S4 = "legacy-plain-secret-of-an-older-berth-e5d0";

/** A catalog of the shipped images plus one that declares a secret with a default value. */
function catalogWithDefault(): string {
	const dir = fs.mkdtempSync(path.join(os.tmpdir(), "berth-sec-images-"));
	const shipped = path.join(repoRoot, "images");
	for (const f of fs.readdirSync(shipped)) fs.copyFileSync(path.join(shipped, f), path.join(dir, f));
	const nginx = JSON.parse(fs.readFileSync(path.join(shipped, "nginx.json"), "utf8"));
	fs.writeFileSync(path.join(dir, "vault.json"), JSON.stringify({ ...nginx, name: "sec-vault", env: [{ key: "ROOT_TOKEN", type: "secret", value: CATALOG_DEFAULT }] }));
	return dir;
}

/** Every line the mesh logs (at debug), to check no secret value is among them. */
function capturedLogger(lines: string[]) {
	return { type: "Console", options: { level: "debug", colors: false, formatter: (_level: string, args: unknown[]) => (lines.push(args.map(a => (a instanceof Error ? `${a.message} ${a.stack}` : typeof a === "string" ? a : JSON.stringify(a))).join(" ")), []) } };
}

interface Store {
	/** Everything stored, as text: the DATA_DIR files, or every document of the FerretDB database. */
	dump(): Promise<string>;
	/** Writes a plain secret value into an env's document, as a Berth before sealing stored it. */
	plantPlain(key: string, value: string): Promise<void>;
}

function nedbFiles(dataDir: string): Store {
	const envsFile = path.join(dataDir, "envs.db");
	return {
		dump: async () => fs.readdirSync(dataDir).map(f => fs.readFileSync(path.join(dataDir, f), "utf8")).join("\n"),
		plantPlain: async (key, value) => {
			const docs = fs.readFileSync(envsFile, "utf8").split("\n").filter(Boolean).map(l => JSON.parse(l) as Record<string, unknown>);
			const last = docs.filter(d => d.key === key).pop() as Record<string, unknown>;
			// NeDB appends a document's new state; the last line of an _id wins when the file is loaded.
			fs.appendFileSync(envsFile, `${JSON.stringify({ ...last, secretValue: value })}\n`);
		},
	};
}

function ferretDocuments(uri: string): Store {
	const withDb = async <T>(work: (db: mongoose.Connection) => Promise<T>): Promise<T> => {
		const conn = await mongoose.createConnection(uri, { serverSelectionTimeoutMS: 5000 }).asPromise();
		try {
			return await work(conn);
		} finally {
			await conn.close();
		}
	};
	return {
		dump: () =>
			withDb(async conn => {
				const db = conn.db as NonNullable<mongoose.Connection["db"]>;
				const out: string[] = [];
				for (const c of await db.listCollections().toArray()) out.push(JSON.stringify(await db.collection(c.name).find({}).toArray()));
				return out.join("\n");
			}),
		plantPlain: (key, value) => withDb(async conn => void (await conn.db!.collection("envs").updateOne({ key }, { $set: { secretValue: value } }))),
	};
}

/** The key ids the sealed values of a dump name. */
const sealedUnder = (dump: string) => new Set([...dump.matchAll(/enc:v1:([0-9a-f]{12}):/g)].map(m => m[1]));

const backends: [string, () => { uri?: string; keyA?: string }][] = [
	// NeDB files: the first start makes the key in DATA_DIR.
	["NeDB files, with the key made on first start", () => ({})],
	["FerretDB, with SECRETS_KEY", () => ({ uri: isolatedMongoUri("berth_sec"), keyA: newKeyText() })],
];

describe.each(backends)("secret values at rest, %s", (_name, setup) => {
	const saved = { ...process.env };
	const { uri, keyA: givenKeyA } = setup();
	const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "berth-sec-data-"));
	const imagesDir = catalogWithDefault();
	const store = uri ? ferretDocuments(uri) : nedbFiles(dataDir);
	const keyB = newKeyText();
	const logs: string[] = [];
	let keyA: string;
	let mesh: Mesh | undefined;
	let nsName: string;
	let user: string;

	const api = (p: string) => `${mesh!.url}/api/v1${p}`;
	const secretData = async () => {
		const secret = await kube().get<V1Secret>({ apiVersion: "v1", kind: "Secret", name: "app-env", namespace: nsName });
		return Object.fromEntries(Object.entries(secret?.data ?? {}).map(([k, v]) => [k, Buffer.from(v, "base64").toString()]));
	};
	const start = async (env: Record<string, string | undefined>) => {
		for (const [k, v] of Object.entries(env)) v === undefined ? delete process.env[k] : (process.env[k] = v);
		mesh = await startMesh(SERVICES, { logger: capturedLogger(logs) as never });
	};
	const stop = async () => {
		await mesh?.stop();
		mesh = undefined;
	};

	beforeAll(() => {
		process.env.DATA_DIR = dataDir;
		process.env.IMAGES_DIR = imagesDir;
		if (uri) process.env.MONGO_URI = uri;
		else delete process.env.MONGO_URI;
	});

	afterAll(async () => {
		await stop();
		if (nsName) await kube().delete({ apiVersion: "v1", kind: "Namespace", name: nsName }).catch(() => undefined);
		await dropStore(uri);
		process.env = saved;
		fs.rmSync(dataDir, { recursive: true, force: true });
		fs.rmSync(imagesDir, { recursive: true, force: true });
	});

	it("seals what envs store under the current key: no value in the store, the right ones in the Secret, masked in the catalog", async () => {
		await start({ SECRETS_KEY: givenKeyA, SECRETS_KEY_PREVIOUS: undefined });
		keyA = givenKeyA ?? fs.readFileSync(path.join(dataDir, KEY_FILE), "utf8").trim();
		if (!givenKeyA) expect(fs.statSync(path.join(dataDir, KEY_FILE)).mode & 0o777).toBe(0o600);
		user = uniqueName("sec-user");
		const key = (await request(api("/keys"), { method: "POST", key: mesh!.adminKey, body: { name: user, userID: user } })).body.key as string;
		nsName = uniqueName("sec-at-rest");
		expect((await request(api("/k8s/namespaces"), { method: "POST", key, body: { name: nsName } })).status).toBe(201);
		const dep = await request(api("/k8s/deployments"), { method: "POST", key, body: { name: "app", namespace: nsName, image: "sec-vault", env: [{ key: "API_TOKEN", value: S1, type: "secret" }] } });
		expect(dep.status).toBe(201);
		const created = await request(api("/k8s/envs"), { method: "POST", key, body: { namespace: nsName, deployment: "app", key: "DB_PASSWORD", value: S2, type: "secret" } });
		expect(created.status).toBe(201);
		const updated = await request(api(`/k8s/envs/${created.body.id}`), { method: "PATCH", key, body: { value: S3 } });
		expect(updated.status).toBe(200);
		expect(updated.body.value).toBe(MASK);

		expect(await secretData()).toEqual({ ROOT_TOKEN: CATALOG_DEFAULT, API_TOKEN: S1, DB_PASSWORD: S3 });
		const dump = await store.dump();
		for (const value of [S1, S2, S3]) expect(dump).not.toContain(value);
		expect(sealedUnder(dump)).toEqual(new Set([parseKey(keyA, "A").id]));
		// The catalog's secret default is masked for callers, and was deployed as it is (above).
		const image = await request(api("/k8s/images/name/sec-vault"), { key });
		expect(image.body.env).toEqual([{ key: "ROOT_TOKEN", type: "secret", value: MASK }]);
		expect((await request(api("/k8s/images"), { key })).text).not.toContain(CATALOG_DEFAULT);
		await stop();
	});

	it("re-seals at start under SECRETS_KEY what is under SECRETS_KEY_PREVIOUS or plain, and the Secret is rebuilt from it", async () => {
		await store.plantPlain("DB_PASSWORD", S4);
		expect(await store.dump()).toContain(S4);
		await start({ SECRETS_KEY: keyB, SECRETS_KEY_PREVIOUS: keyA });
		const dump = await store.dump();
		for (const value of [S1, S2, S3, S4]) expect(dump).not.toContain(value);
		expect(sealedUnder(dump)).toEqual(new Set([parseKey(keyB, "B").id]));
		// The env objects written afresh from the store alone: every value opens under B.
		const admin = mesh!.adminKey;
		expect((await request(api("/k8s/envs/repatch"), { method: "POST", key: admin, body: { namespace: nsName, deployment: "app" } })).status).toBe(200);
		await eventually(async () => expect(await secretData()).toEqual({ ROOT_TOKEN: CATALOG_DEFAULT, API_TOKEN: S1, DB_PASSWORD: S4 }));
		await stop();
	});

	it("a node without the key the values are sealed under refuses to start, naming that key", async () => {
		process.env.SECRETS_KEY = keyA;
		delete process.env.SECRETS_KEY_PREVIOUS;
		const broker = new ServiceBroker({ ...brokerConfig, transporter: undefined, logger: false });
		for (const schema of selectServices(["k8s.envs"])) broker.createService(schema);
		try {
			await expect(broker.start()).rejects.toThrow(parseKey(keyB, "B").id);
		} finally {
			await broker.stop().catch(() => undefined);
		}
	});

	it("never logged a secret value", () => {
		expect(logs.length).toBeGreaterThan(0);
		for (const value of [S1, S2, S3, S4, CATALOG_DEFAULT]) expect(logs.filter(l => l.includes(value))).toEqual([]);
	});
});
