import { randomBytes } from "node:crypto";
import { hashKey } from "../../lib/keys";
import { uniqueName } from "../helpers/cluster";
import { request, startMesh, type HttpResult, type Mesh } from "../helpers/mesh";

/**
 * The security matrix. Every REST route comes from /api/openapi.json, so routes that services add
 * later are covered without touching this file. Entities are made through the create routes
 * (POST on a collection path) with bodies built from the document's schemas.
 */

type Schema = Record<string, any>;

interface Operation {
	method: string;
	/** OpenAPI path: /api/v1/keys/{id} */
	path: string;
	params: string[];
	/** The path before the first parameter: the collection an `{id}` route reads from. */
	collection: string;
	op: Schema;
	/** Callable without a key: a public action, or a route without authentication. */
	isPublic: boolean;
	/** On a route that checks keys at all (everything under /api). */
	authenticated: boolean;
}

interface Created {
	collection: string;
	id: string;
	entity: Record<string, unknown>;
}

function operationsOf(doc: Schema): Operation[] {
	const ops: Operation[] = [];
	for (const [path, item] of Object.entries<Schema>(doc.paths)) {
		for (const [method, op] of Object.entries<Schema>(item)) {
			const params = [...path.matchAll(/\{([^}]+)\}/g)].map(m => m[1]);
			const first = path.indexOf("/{");
			const security: Schema[] | undefined = op.security;
			ops.push({
				method: method.toUpperCase(),
				path,
				params,
				collection: first === -1 ? path : path.slice(0, first),
				op,
				isPublic: Array.isArray(security) && (security.length === 0 || security.some(s => Object.keys(s).length === 0)),
				authenticated: !(Array.isArray(security) && security.length === 0),
			});
		}
	}
	return ops;
}

/**
 * Values a schema cannot say enough about to make up, by create route: a spec service's
 * `deployment` is a YAML document, not a reference to a deployment.
 */
const fixtures: Record<string, Record<string, unknown>> = {
	"/api/v1/k8s/services": { deployment: "containers:\n  - name: web\n    image: nginx:1.27\n    ports:\n      - name: http\n        port: 80\n" },
};

const dnsName = () => `sec-${randomBytes(4).toString("hex")}`;

/** Builds request bodies from the document's schemas, resolving references to entities made earlier. */
class BodyMaker {
	constructor(
		private readonly refs: Map<string, string>,
		private readonly secret: string,
	) {}

	body(op: Schema): Record<string, unknown> | undefined {
		const schema = op.requestBody?.content?.["application/json"]?.schema;
		return schema ? (this.value(schema, "") as Record<string, unknown>) : undefined;
	}

	value(schema: Schema, name: string): unknown {
		const ref = this.refs.get(name);
		if (ref !== undefined) return ref;
		if (Array.isArray(schema.enum)) return name === "type" && schema.enum.includes("secret") ? "secret" : schema.enum[0];
		if ("const" in schema) return schema.const;
		if (Array.isArray(schema.anyOf)) return this.value(schema.anyOf.find((s: Schema) => s.type !== "null") ?? schema.anyOf[0], name);
		const type = Array.isArray(schema.type) ? schema.type.find((t: string) => t !== "null") : schema.type;
		switch (type) {
			case "string":
				return this.string(schema, name);
			case "integer":
			case "number": {
				const min = typeof schema.minimum === "number" ? schema.minimum : typeof schema.exclusiveMinimum === "number" ? schema.exclusiveMinimum + 1 : 1;
				return typeof schema.maximum === "number" ? Math.min(Math.max(min, 1), schema.maximum) : Math.max(min, 1);
			}
			case "boolean":
				return false;
			case "array":
				return Array.from({ length: schema.minItems ?? 0 }, () => this.value(schema.items ?? {}, name.replace(/s$/, "")));
			case "object": {
				const out: Record<string, unknown> = {};
				const props: Record<string, Schema> = schema.properties ?? {};
				const required = new Set<string>(schema.required ?? []);
				const secretType = Array.isArray(props.type?.enum) && props.type.enum.includes("secret");
				for (const [prop, sub] of Object.entries(props)) {
					// A secret-capable entity gets a secret: the matrix then checks it is never returned.
					// A command is optional in the schema but one of cmd/command must be there.
					if (required.has(prop) || (secretType && (prop === "type" || prop === "value")) || prop === "cmd") out[prop] = this.value(sub, prop);
				}
				return out;
			}
			default:
				return "x";
		}
	}

	private string(schema: Schema, name: string): string {
		if (schema.format === "date-time") return new Date(Date.now() + 86_400_000).toISOString();
		if (schema.format === "email") return "someone@example.com";
		if (schema.format === "uri") return "http://example.com/";
		const byName: Record<string, string> = { value: this.secret, size: "1Gi", storage: "1Gi", cpu: "100m", memory: "64Mi", mountPath: "/data", key: "SECRET_TOKEN", cmd: "true", command: "true" };
		const candidates = [byName[name], dnsName(), "x", "a1"].filter((c): c is string => typeof c === "string");
		const pattern = typeof schema.pattern === "string" ? new RegExp(schema.pattern) : undefined;
		const fits = (c: string) => (!pattern || pattern.test(c)) && c.length >= (schema.minLength ?? 0) && c.length <= (schema.maxLength ?? Infinity);
		return candidates.find(fits) ?? candidates[1].padEnd(schema.minLength ?? 0, "a").slice(0, schema.maxLength ?? undefined);
	}
}

/** The query string of a GET: its required parameters, and any that name one of tenant A's entities. */
function queryFor(op: Schema, refs: Map<string, string>, maker: BodyMaker): string {
	const query = new URLSearchParams();
	for (const p of (op.parameters ?? []) as Schema[]) {
		if (p.in !== "query" || (!p.required && !refs.has(p.name))) continue;
		const v = maker.value(p.schema ?? {}, p.name);
		query.set(p.name, typeof v === "string" ? v : JSON.stringify(v));
	}
	const text = query.toString();
	return text ? `?${text}` : "";
}

/**
 * The name a body or query refers to a collection's entities by: `/api/v1/k8s/namespaces` →
 * `namespace`. None for API keys: `key` in a body is an env var's name.
 */
function nounOf(collection: string): string | undefined {
	const noun = collection.split("/").pop()!.replace(/s$/, "");
	return noun === "key" ? undefined : noun;
}

/** Tenant A's entities by the name a body or query would refer to them with (`namespace`, `deployment`...). */
function referencesTo(created: Created[]): Map<string, string> {
	const refs = new Map<string, string>();
	for (const c of created) {
		const noun = nounOf(c.collection);
		if (noun && !refs.has(noun)) refs.set(noun, c.id);
	}
	return refs;
}

/** An entity's name, when it has one distinctive enough to look for in responses. */
function nameOf(c: Created): string[] {
	const name = c.entity.name;
	return typeof name === "string" && name.length > 3 ? [name] : [];
}

function fill(path: string, params: string[], first: string): string {
	return params.reduce((p, name, i) => p.replace(`{${name}}`, encodeURIComponent(i === 0 ? first : "x")), path);
}

describe("security matrix over every REST route", () => {
	let mesh: Mesh;
	let ops: Operation[];
	const secret = `s3cr3t-${randomBytes(8).toString("hex")}`;
	const tenantA = uniqueName("tenant-a");
	const tenantB = uniqueName("tenant-b");
	let keyA: string;
	let keyB: string;
	const keyIds: string[] = [];
	const created: Created[] = [];
	const failedCreates: string[] = [];

	const call = (op: Operation, path: string, key?: string, body?: unknown, headers?: Record<string, string>): Promise<HttpResult<any>> =>
		request(`${mesh.url}${path}`, { method: op.method, key, headers, body: ["POST", "PUT", "PATCH"].includes(op.method) ? (body ?? {}) : undefined });

	async function newKey(body: Record<string, unknown>): Promise<{ id: string; key: string }> {
		const res = await request(`${mesh.url}/api/v1/keys`, { method: "POST", key: mesh.adminKey, body });
		expect(res.status).toBe(201);
		keyIds.push(res.body.id);
		return res.body;
	}

	beforeAll(async () => {
		mesh = await startMesh([]);
		const doc = (await request(`${mesh.url}/api/openapi.json`)).body;
		ops = operationsOf(doc);
		keyA = (await newKey({ name: "tenant A", userID: tenantA })).key;
		keyB = (await newKey({ name: "tenant B", userID: tenantB })).key;

		// Tenant A makes one entity in every collection that has a create route, in as many passes
		// as references between them need (a volume needs a namespace, a deployment an image...).
		const collections = new Set(ops.filter(o => o.params.length).map(o => o.collection));
		// binder's launch by body (POST /applications/) makes an instance its routes name by {template}/{id},
		// not by one {id} as this matrix fills them; applications.test.ts and binder-client.test.ts check who sees it.
		const creators = ops.filter(o => o.method === "POST" && !o.params.length && collections.has(o.path) && o.path !== "/applications");
		const refs = new Map<string, string>();
		const pending = new Set(creators);
		const lastFailure = new Map<Operation, string>();
		for (let pass = 0; pending.size && pass < 4; pass++) {
			for (const op of [...pending]) {
				const body = { ...new BodyMaker(refs, secret).body(op.op), ...fixtures[op.path] };
				const res = await call(op, op.path, keyA, body);
				const id = res.body?.id ?? res.body?.metadata?.name;
				if (res.status < 300 && typeof id === "string") {
					pending.delete(op);
					created.push({ collection: op.path, id, entity: res.body });
					const noun = nounOf(op.path);
					if (noun && !refs.has(noun)) refs.set(noun, id);
				} else if (res.status === 403) {
					// Made by administrators only (a catalog): not a tenant's entity, so not in the tenant matrix.
					pending.delete(op);
				} else {
					lastFailure.set(op, `${op.method} ${op.path} ${JSON.stringify(body)} → ${res.status} ${res.text.slice(0, 300)}`);
				}
			}
			// References to read-only catalogs (the image catalog) come from their lists.
			for (const list of ops.filter(o => o.method === "GET" && !o.params.length && collections.has(o.path))) {
				const noun = nounOf(list.path);
				if (!noun || refs.has(noun)) continue;
				const res = await call(list, list.path, keyA);
				const items = Array.isArray(res.body) ? res.body : Array.isArray(res.body?.rows) ? res.body.rows : [];
				if (typeof items[0]?.id === "string") refs.set(noun, items[0].id);
			}
		}
		for (const op of pending) failedCreates.push(lastFailure.get(op) ?? `${op.method} ${op.path}`);
	});

	afterAll(async () => {
		if (!mesh) return;
		// Tenant A's entities go, newest first (a namespace last: it takes what is left with it).
		for (const c of [...created].reverse()) {
			const del = ops.find(o => o.method === "DELETE" && o.collection === c.collection && o.params.length === 1);
			if (del) await call(del, fill(del.path, del.params, c.id), mesh.adminKey).catch(() => undefined);
		}
		for (const id of keyIds) await request(`${mesh.url}/api/v1/keys/${id}`, { method: "DELETE", key: mesh.adminKey }).catch(() => undefined);
		await mesh.stop();
	});

	it("finds the routes in the OpenAPI document", () => {
		expect(ops.length).toBeGreaterThan(5);
		expect(ops.map(o => `${o.method} ${o.path}`)).toEqual(expect.arrayContaining(["POST /api/v1/keys", "GET /api/v1/keys/{id}", "GET /api/openapi.json"]));
	});

	it("makes an entity as tenant A on every create route of a collection with {id} routes", () => {
		expect(failedCreates).toEqual([]);
		expect(created.length).toBeGreaterThan(0);
		console.log(`[security] ${ops.length} operations; tenant A made ${created.map(c => c.collection).join(", ")}`);
	});

	it("answers 401 to requests without a key, except on public routes", async () => {
		const wrong: string[] = [];
		for (const op of ops) {
			const res = await call(op, fill(op.path, op.params, "some-id"));
			const ok = op.isPublic ? res.status !== 401 && res.status < 500 : res.status === 401 && res.body?.type === "UNAUTHORIZED";
			if (!ok) wrong.push(`${op.method} ${op.path} (${op.isPublic ? "public" : "private"}) → ${res.status} ${res.text.slice(0, 200)}`);
		}
		expect(wrong).toEqual([]);
		expect(ops.filter(o => o.isPublic).map(o => `${o.method} ${o.path}`)).toEqual(expect.arrayContaining(["GET /", "GET /health/live", "GET /health/ready", "GET /api/openapi.json"]));
	});

	it("answers 401 on every route to a revoked key and to an expired key", async () => {
		const revoked = await newKey({ name: "revoked", userID: tenantA });
		expect((await request(`${mesh.url}/api/v1/keys/${revoked.id}`, { method: "DELETE", key: mesh.adminKey })).status).toBe(200);
		const expired = await newKey({ name: "expired", userID: tenantA, expiresAt: new Date(Date.now() + 1000).toISOString() });
		await new Promise(r => setTimeout(r, 1500));
		const wrong: string[] = [];
		let n = 0;
		for (const op of ops.filter(o => o.authenticated)) {
			for (const [label, key] of [["revoked", revoked.key], ["expired", expired.key]]) {
				// All three ways of presenting a key are refused alike.
				const headers: Record<string, string> = [{ authorization: `Bearer ${key}` }, { authorization: key }, { "x-api-key": key }][n++ % 3];
				const res = await call(op, fill(op.path, op.params, created[0]?.id ?? "some-id"), undefined, undefined, headers);
				if (res.status !== 401) wrong.push(`${label}: ${op.method} ${op.path} → ${res.status}`);
			}
		}
		expect(wrong).toEqual([]);
	});

	it("shows tenant B none of tenant A's entities: 404 on every {id} route, and absent from lists", async () => {
		const wrong: string[] = [];
		const withEntity = ops.filter(o => o.params.length && o.authenticated && created.some(c => c.collection === o.collection));
		expect(withEntity.length).toBeGreaterThan(0);
		console.log(`[security] tenant B tries ${withEntity.length} {id} routes on tenant A's entities`);
		for (const op of withEntity) {
			for (const c of created.filter(x => x.collection === op.collection)) {
				const body = new BodyMaker(new Map(), secret).body(op.op);
				const res = await call(op, fill(op.path, op.params, c.id), keyB, body);
				const leaks = res.text.includes(tenantA) || nameOf(c).some(n => res.text.includes(n));
				if (res.status !== 404 || leaks) wrong.push(`${op.method} ${op.path} with A's ${c.id} → ${res.status} ${res.text.slice(0, 200)}`);
			}
		}
		// Lists and lookups (GETs without path parameters) never show A's entities to B, even when
		// their query names them.
		const refsOfA = referencesTo(created);
		for (const op of ops.filter(o => o.method === "GET" && !o.params.length && o.authenticated)) {
			const query = queryFor(op.op, refsOfA, new BodyMaker(refsOfA, secret));
			const res = await call(op, op.path + query, keyB);
			// An id B itself sent may come back in a 404's data; any other of A's ids, A's user or names may not.
			const leaked = created.filter(c => (!query.includes(c.id) && res.text.includes(c.id)) || res.text.includes(tenantA) || nameOf(c).some(n => res.text.includes(n)));
			if (leaked.length) wrong.push(`${op.method} ${op.path} lists A's ${leaked.map(c => c.id).join(", ")}`);
		}
		// Routes with parameters that are not entity ids (name checks and the like) still give away nothing of A's.
		for (const op of ops.filter(o => o.params.length && o.authenticated && !created.some(c => c.collection === o.collection))) {
			for (const c of created) {
				const res = await call(op, fill(op.path, op.params, c.id), keyB, new BodyMaker(new Map(), secret).body(op.op));
				if (res.text.includes(tenantA) || res.status >= 500) wrong.push(`${op.method} ${op.path} with A's ${c.id} → ${res.status} ${res.text.slice(0, 200)}`);
			}
		}
		expect(wrong).toEqual([]);
	});

	it("left tenant A's entities in place after tenant B's attempts", async () => {
		for (const c of created) {
			const get = ops.find(o => o.method === "GET" && o.collection === c.collection && o.params.length === 1 && o.path.endsWith("}"));
			if (!get) continue;
			const res = await call(get, fill(get.path, get.params, c.id), keyA);
			expect([get.path, c.id, res.status]).toEqual([get.path, c.id, 200]);
		}
	});

	it("returns no secret value on any route by default: key material, key hashes, secret env values", async () => {
		const sentinels = [secret, mesh.adminKey, keyA, keyB, hashKey(mesh.adminKey), hashKey(keyA), hashKey(keyB)];
		const refsOfA = referencesTo(created);
		const wrong: string[] = [];
		for (const op of ops.filter(o => o.method === "GET")) {
			const targets = op.params.length ? created.filter(c => c.collection === op.collection).map(c => c.id) : [""];
			const query = queryFor(op.op, refsOfA, new BodyMaker(refsOfA, secret));
			for (const id of targets.length ? targets : ["some-id"]) {
				for (const key of [keyA, mesh.adminKey]) {
					const res = await call(op, fill(op.path, op.params, id) + query, key);
					const found = sentinels.filter(s => res.text.includes(s));
					if (found.length) wrong.push(`${op.method} ${op.path} (${id}) shows ${found.length} secret value(s)`);
				}
			}
		}
		expect(wrong).toEqual([]);
	});
});
