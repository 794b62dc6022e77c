import { randomBytes } from "node:crypto";
import { request, type HttpResult } from "./mesh";

/**
 * The operations of the gateway's OpenAPI document (/api/openapi.json), and request bodies built
 * from its schemas: what the suites that try every route (security, access matrix) share, so
 * routes that services add later are covered without touching them.
 */

export type Schema = Record<string, any>;

export interface Operation {
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

export interface Created {
	collection: string;
	id: string;
	entity: Record<string, unknown>;
}

export function operationsOf(doc: Schema): Operation[] {
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

/** `METHOD /path` of an operation, as the suites name it. */
export const opName = (op: Operation): string => `${op.method} ${op.path}`;

/**
 * Values a schema cannot say enough about to make up, by create route: a spec service's
 * `deployment` is a YAML document, not a reference to a deployment.
 */
export const specFixtures: Record<string, Record<string, unknown>> = {
	"/api/v1/k8s/services": { deployment: "containers:\n  - name: web\n    image: nginx:1.27\n    ports:\n      - name: http\n        port: 80\n" },
};

export const dnsName = (): string => `sec-${randomBytes(4).toString("hex")}`;

export interface BodyOptions {
	/** Optional string properties that name a referenced entity (`namespace`, `deployment`...) are filled too. */
	optionalRefs?: boolean;
	/** Values by property name, over the built-in ones (a fresh value per call when a function). */
	names?: Record<string, string | (() => string)>;
}

/** Builds request bodies from the document's schemas, resolving references to entities made earlier. */
export class BodyMaker {
	constructor(
		private readonly refs: Map<string, string>,
		private readonly secret: string,
		private readonly options: BodyOptions = {},
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
					const wanted = required.has(prop) || (secretType && (prop === "type" || prop === "value")) || prop === "cmd" || (this.options.optionalRefs && this.refs.has(prop) && sub.type === "string");
					if (wanted) out[prop] = this.value(sub, prop);
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
		if (schema.format === "uri") return "http://example.com/acme/app.git";
		const byName: Record<string, string | (() => string)> = { value: this.secret, size: "1Gi", storage: "1Gi", cpu: "100m", memory: "64Mi", mountPath: "/data", key: "SECRET_TOKEN", cmd: "true", command: "true", schedule: "@hourly", ...this.options.names };
		const named = byName[name];
		const candidates = [typeof named === "function" ? named() : named, dnsName(), "x", "a1"].filter((c): c is string => typeof c === "string");
		const pattern = typeof schema.pattern === "string" ? new RegExp(schema.pattern) : undefined;
		const fits = (c: string) => (!pattern || pattern.test(c)) && c.length >= (schema.minLength ?? 0) && c.length <= (schema.maxLength ?? Infinity);
		return candidates.find(fits) ?? candidates[1].padEnd(schema.minLength ?? 0, "a").slice(0, schema.maxLength ?? undefined);
	}
}

/** The query string of a GET: its required parameters, and any that name one of the entities in `refs`. */
export function queryFor(op: Schema, refs: Map<string, string>, maker: BodyMaker): string {
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
export function nounOf(collection: string): string | undefined {
	const noun = collection.split("/").pop()!.replace(/s$/, "");
	return noun === "key" ? undefined : noun;
}

/** Entities by the name a body or query would refer to them with (`namespace`, `deployment`...). */
export function referencesTo(created: Created[]): Map<string, string> {
	const refs = new Map<string, string>();
	for (const c of created) {
		const noun = nounOf(c.collection);
		if (noun && !refs.has(noun)) refs.set(noun, c.id);
	}
	return refs;
}

/** An entity's name, when it has one distinctive enough to look for in responses. */
export function nameOf(c: Created): string[] {
	const name = c.entity.name;
	return typeof name === "string" && name.length > 3 ? [name] : [];
}

/** The path with its first parameter set to `first` and any others to "x". */
export function fill(path: string, params: string[], first: string): string {
	return params.reduce((p, name, i) => p.replace(`{${name}}`, encodeURIComponent(i === 0 ? first : "x")), path);
}

/** A request for an operation: a body (an empty one if none is given) only where the method takes one. */
export function callOp(baseUrl: string, op: Operation, path: string, key?: string, body?: unknown, headers?: Record<string, string>): Promise<HttpResult<any>> {
	return request(`${baseUrl}${path}`, { method: op.method, key, headers, body: ["POST", "PUT", "PATCH"].includes(op.method) ? (body ?? {}) : undefined });
}

/** The collections with `{id}` routes whose create route (POST on the collection) makes their entities. */
export function creatorsOf(ops: Operation[]): Operation[] {
	const collections = new Set(ops.filter(o => o.params.length).map(o => o.collection));
	// binder's launch by body (POST /applications/) makes an instance its routes name by {template}/{id},
	// not by one {id} as these suites fill them; applications.test.ts and binder-client.test.ts check who sees it.
	return ops.filter(o => o.method === "POST" && !o.params.length && collections.has(o.path) && o.path !== "/applications");
}

export interface MadeEntities {
	created: Created[];
	/** By noun: the first entity of each collection, and references to read-only catalogs (images). */
	refs: Map<string, string>;
	/** Create routes that never succeeded, with their last answer. */
	failures: string[];
}

/**
 * One entity in every collection that has a create route, made with `key`, in as many passes as
 * references between them need (a volume needs a namespace, a deployment an image...). A 403 means
 * a collection only administrators make (a catalog): skipped. `refs` may name entities to use
 * (a namespace made beforehand); collections in `skip` are not made.
 */
export async function makeEntities(baseUrl: string, ops: Operation[], key: string, secret: string, opts: { refs?: Map<string, string>; skip?: string[]; body?: BodyOptions } = {}): Promise<MadeEntities> {
	const collections = new Set(ops.filter(o => o.params.length).map(o => o.collection));
	const refs = new Map(opts.refs ?? []);
	const created: Created[] = [];
	const pending = new Set(creatorsOf(ops).filter(o => !opts.skip?.includes(o.path)));
	const lastFailure = new Map<Operation, string>();
	for (let pass = 0; pending.size && pass < 4; pass++) {
		for (const op of [...pending]) {
			const made = await makeOne(baseUrl, op, key, new BodyMaker(refs, secret, opts.body));
			if ("id" in made) {
				pending.delete(op);
				created.push(made);
				const noun = nounOf(op.path);
				if (noun && !refs.has(noun)) refs.set(noun, made.id);
			} else if (made.status === 403) {
				pending.delete(op);
			} else {
				lastFailure.set(op, made.failure);
			}
		}
		// References to read-only catalogs (the image catalog) come from their lists.
		for (const list of ops.filter(o => o.method === "GET" && !o.params.length && collections.has(o.path))) {
			const noun = nounOf(list.path);
			if (!noun || refs.has(noun)) continue;
			const res = await callOp(baseUrl, list, list.path, key);
			const items = Array.isArray(res.body) ? res.body : Array.isArray(res.body?.rows) ? res.body.rows : [];
			if (typeof items[0]?.id === "string") refs.set(noun, items[0].id);
		}
	}
	return { created, refs, failures: [...pending].map(op => lastFailure.get(op) ?? opName(op)) };
}

/** One entity through a create route, with a body from `maker`; the answer's status and text when it failed. */
export async function makeOne(baseUrl: string, op: Operation, key: string, maker: BodyMaker): Promise<Created | { status: number; failure: string }> {
	const body = { ...maker.body(op.op), ...specFixtures[op.path] };
	const res = await callOp(baseUrl, op, op.path, key, body);
	const id = res.body?.id ?? res.body?.metadata?.name;
	if (res.status < 300 && typeof id === "string") return { collection: op.path, id, entity: res.body };
	return { status: res.status, failure: `${opName(op)} ${JSON.stringify(body)} → ${res.status} ${res.text.slice(0, 300)}` };
}
