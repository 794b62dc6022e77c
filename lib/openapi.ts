/**
 * The OpenAPI 3.1 document, built from what the gateway actually serves: its REST aliases and
 * each action's fastest-validator `params`. Pure: the gateway hands in the aliases and the action
 * definitions it found in the registry, so routes added by any service later appear by themselves.
 *
 * (moleculer-auto-openapi, the maintained generator on npm, writes OpenAPI 3.0 for moleculer 0.14;
 * the mapping below is small enough to own.)
 */

import { componentSchemas, describeAction, errorExamples, successContent } from "./openapi/describe";

export type JsonSchema = Record<string, unknown>;

/** One REST alias as the gateway registered it. */
export interface RestAlias {
	/** HTTP method, or "*" for any. */
	method: string;
	/** The path clients call, in moleculer-web's syntax: `/api/v1/keys/:id`. */
	fullPath: string;
	/** The action the alias calls (`v1.keys.revoke`); absent for function aliases. */
	action?: string;
	/** Whether the alias's route asks for an API key. */
	authenticated: boolean;
	/** A key is optional here though the action is not public (the seeds' routes under COMPAT_ANONYMOUS_USER). */
	keyOptional?: boolean;
}

/** The parts of an action definition the document reads. */
export interface ActionInfo {
	name: string;
	params?: unknown;
	/** Callable without an API key (Berth's `public: true`). */
	public?: boolean;
	description?: string;
	summary?: string;
	/** Merged into the operation last: a service's escape hatch for responses, examples, tags. */
	openapi?: Record<string, unknown>;
}

export interface OpenApiOptions {
	title: string;
	version: string;
	description?: string;
}

const bodyMethods = new Set(["post", "put", "patch"]);
const anyMethod = ["get", "post", "put", "patch", "delete"];

/** Turns a fastest-validator shorthand (`"string|min:3|optional"`) into an object rule. */
export function parseShorthand(rule: string): Record<string, unknown> {
	const [head, ...modifiers] = rule.split("|").map(s => s.trim());
	const schema: Record<string, unknown> = head.endsWith("[]") ? { type: "array", items: head.slice(0, -2) } : { type: head };
	for (const m of modifiers) {
		const idx = m.indexOf(":");
		if (idx === -1) {
			if (m.startsWith("no-")) schema[m.slice(3)] = false;
			else schema[m] = true;
			continue;
		}
		const key = m.slice(0, idx).trim();
		const raw = m.slice(idx + 1).trim();
		schema[key] = raw === "true" ? true : raw === "false" ? false : raw !== "" && !Number.isNaN(Number(raw)) ? Number(raw) : raw;
	}
	return schema;
}

/** A rule in any of fastest-validator's spellings, as an object rule (or an array of alternatives). */
function normalizeRule(rule: unknown): Record<string, unknown> | Record<string, unknown>[] {
	if (typeof rule === "string") return parseShorthand(rule);
	if (Array.isArray(rule)) return rule.map(r => normalizeRule(r)).flat();
	if (rule && typeof rule === "object") {
		const r = rule as Record<string, unknown>;
		// `{ name: { $$type: "object", first: "string" } }` is the short form of a nested object.
		if ("$$type" in r) {
			const { $$type, ...props } = r;
			const base = normalizeRule($$type);
			return { ...(Array.isArray(base) ? { type: "any" } : base), type: "object", props };
		}
		return r;
	}
	return { type: "any" };
}

/** Whether a rule may be left out of the params. */
export function isOptional(rule: unknown): boolean {
	const r = normalizeRule(rule);
	if (Array.isArray(r)) return r.some(x => x.optional === true || x.default !== undefined);
	return r.optional === true || r.default !== undefined || r.type === "forbidden";
}

/**
 * A RegExp, a string, or (for actions of remote nodes, whose definitions crossed the wire as JSON)
 * nothing usable. JavaScript-only spellings become ones every JSON Schema regex dialect reads:
 * `\/` is just `/`, and `\0` is `\x00`.
 */
export function patternSource(pattern: unknown): string | undefined {
	const source = pattern instanceof RegExp ? pattern.source : typeof pattern === "string" && pattern.length ? pattern : undefined;
	return source?.replace(/\\(\\|\/|0(?![0-9]))/g, (m, c: string) => (c === "/" ? "/" : c === "0" ? "\\x00" : m));
}

function jsonValue(v: unknown): unknown {
	if (v === undefined || typeof v === "function") return undefined;
	try {
		return JSON.parse(JSON.stringify(v));
	} catch {
		return undefined;
	}
}

function numberKeywords(r: Record<string, unknown>, s: JsonSchema): void {
	if (typeof r.min === "number") s.minimum = r.min;
	if (typeof r.max === "number") s.maximum = r.max;
	if (typeof r.equal === "number") s.const = r.equal;
	if (r.positive === true) s.exclusiveMinimum = 0;
	if (r.negative === true) s.exclusiveMaximum = 0;
	if (r.integer === true) s.type = "integer";
}

/** The JSON Schema of one fastest-validator rule. */
export function ruleToSchema(rule: unknown): JsonSchema {
	const normalized = normalizeRule(rule);
	if (Array.isArray(normalized)) {
		const alternatives = normalized.map(r => ruleToSchema(r));
		return alternatives.length === 1 ? alternatives[0] : { anyOf: alternatives };
	}
	const r = normalized;
	let s: JsonSchema;
	switch (r.type) {
		case "string": {
			s = { type: "string" };
			if (typeof r.min === "number") s.minLength = r.min;
			if (typeof r.max === "number") s.maxLength = r.max;
			if (typeof r.length === "number") s.minLength = s.maxLength = r.length;
			if (r.empty === false && s.minLength === undefined) s.minLength = 1;
			const pattern = patternSource(r.pattern);
			if (pattern) s.pattern = pattern;
			if (Array.isArray(r.enum)) s.enum = r.enum;
			if (r.numeric === true) s.pattern ??= "^-?[0-9]+(\\.[0-9]+)?$";
			if (r.alpha === true) s.pattern ??= "^[a-zA-Z]+$";
			if (r.alphanum === true) s.pattern ??= "^[a-zA-Z0-9]+$";
			if (r.alphadash === true) s.pattern ??= "^[a-zA-Z0-9_-]+$";
			if (r.hex === true) s.pattern ??= "^[0-9a-fA-F]+$";
			if (r.base64 === true) s.contentEncoding = "base64";
			break;
		}
		case "number":
			s = { type: "number" };
			numberKeywords(r, s);
			break;
		case "boolean":
			s = { type: "boolean" };
			break;
		case "date":
			// Through JSON a date can only arrive as text (or a timestamp, with `convert`).
			s = r.convert === true ? { anyOf: [{ type: "string", format: "date-time" }, { type: "integer" }] } : { type: "string", format: "date-time" };
			break;
		case "enum":
			s = Array.isArray(r.values) ? { enum: jsonValue(r.values) } : {};
			break;
		case "equal":
			s = { const: jsonValue(r.value) };
			break;
		case "email":
			s = { type: "string", format: "email" };
			if (typeof r.min === "number") s.minLength = r.min;
			if (typeof r.max === "number") s.maxLength = r.max;
			break;
		case "url":
			s = { type: "string", format: "uri" };
			break;
		case "uuid":
			s = { type: "string", format: "uuid" };
			break;
		case "objectID":
			s = { type: "string", pattern: "^[0-9a-fA-F]{24}$" };
			break;
		case "mac":
		case "luhn":
		case "currency":
			s = { type: "string" };
			break;
		case "array": {
			s = { type: "array" };
			if (r.items !== undefined) s.items = ruleToSchema(r.items);
			if (typeof r.min === "number") s.minItems = r.min;
			if (typeof r.max === "number") s.maxItems = r.max;
			if (typeof r.length === "number") s.minItems = s.maxItems = r.length;
			if (r.empty === false && s.minItems === undefined) s.minItems = 1;
			if (r.unique === true) s.uniqueItems = true;
			if (Array.isArray(r.enum)) s.items = { enum: jsonValue(r.enum) };
			break;
		}
		case "tuple":
			s = Array.isArray(r.items) ? { type: "array", prefixItems: r.items.map(i => ruleToSchema(i)), minItems: r.items.length, maxItems: r.items.length } : { type: "array" };
			break;
		case "object":
			s = objectSchema((r.props ?? r.properties) as Record<string, unknown> | undefined, r.strict);
			if (typeof r.minProps === "number") s.minProperties = r.minProps;
			if (typeof r.maxProps === "number") s.maxProperties = r.maxProps;
			break;
		case "record":
			s = { type: "object" };
			if (r.value !== undefined) s.additionalProperties = ruleToSchema(r.value);
			if (r.key !== undefined) s.propertyNames = ruleToSchema(r.key);
			break;
		case "multi":
			s = Array.isArray(r.rules) ? { anyOf: r.rules.map(x => ruleToSchema(x)) } : {};
			break;
		case "forbidden":
			s = { not: {} };
			break;
		default:
			// any, custom, class, function, and types a service registered itself: no constraint we can state.
			s = {};
	}
	if (r.nullable === true) s = s.type ? { ...s, type: [s.type, "null"] } : { anyOf: [s, { type: "null" }] };
	const def = jsonValue(r.default);
	if (def !== undefined) s.default = def;
	if (typeof r.description === "string") s.description = r.description;
	return s;
}

/** An object schema from a props map; `strict: true` refuses unknown properties as the validator does. */
function objectSchema(props: Record<string, unknown> | undefined, strict?: unknown): JsonSchema {
	const s: JsonSchema = { type: "object" };
	if (!props || typeof props !== "object") return s;
	const properties: Record<string, JsonSchema> = {};
	const required: string[] = [];
	for (const [name, rule] of Object.entries(props)) {
		if (name.startsWith("$$") || (rule as { meshOnly?: unknown } | null)?.meshOnly === true) continue;
		properties[name] = ruleToSchema(rule);
		if (!isOptional(rule)) required.push(name);
	}
	s.properties = properties;
	if (required.length) s.required = required;
	if (strict === true) s.additionalProperties = false;
	return s;
}

/** The params schema of an action as entries (name, rule), or undefined when there is none to describe. */
function paramEntries(params: unknown): [string, unknown][] {
	if (!params || typeof params !== "object" || Array.isArray(params)) return [];
	const p = params as Record<string, unknown>;
	if (p.$$root === true) return [];
	return Object.entries(p).filter(([k, rule]) => !k.startsWith("$$") && (rule as { meshOnly?: unknown } | null)?.meshOnly !== true);
}

/** Whether an action's params refuse fields they do not name (`$$strict: true`). */
export function isStrict(params: unknown): boolean {
	return Boolean(params && typeof params === "object" && (params as Record<string, unknown>).$$strict === true);
}

/** `/api/v1/keys/:id` → `/api/v1/keys/{id}` and the names of its path parameters. */
export function toOpenApiPath(fullPath: string): { path: string; params: string[] } {
	const params: string[] = [];
	const path = fullPath
		.replace(/[{}]/g, "")
		.replace(/[:*]([A-Za-z_$][\w$]*)/g, (_, name: string) => {
			params.push(name);
			return `{${name}}`;
		});
	return { path: path.length > 1 ? path.replace(/\/+$/, "") : path, params };
}

const errorResponse = (description: string, status: string) => ({ description, content: { "application/json": { schema: { $ref: "#/components/schemas/Error" }, ...(errorExamples[status] ? { example: errorExamples[status] } : {}) } } });

/** The document for a set of aliases and the actions they call. */
export function buildOpenApi(aliases: RestAlias[], actions: Map<string, ActionInfo>, opts: OpenApiOptions): JsonSchema {
	const paths: Record<string, Record<string, unknown>> = {};
	const operationIds = new Set<string>();
	const tags = new Set<string>();

	const sorted = [...aliases].sort((a, b) => a.fullPath.localeCompare(b.fullPath) || a.method.localeCompare(b.method));
	for (const alias of sorted) {
		const action = alias.action ? actions.get(alias.action) : undefined;
		const { path, params: pathParams } = toOpenApiPath(alias.fullPath);
		const methods = alias.method === "*" ? anyMethod : [alias.method.toLowerCase()];
		for (const method of methods) {
			if (paths[path]?.[method]) continue; // the first alias wins, as in the gateway
			const entries = paramEntries(action?.params);
			const rules = new Map(entries);
			const parameters: JsonSchema[] = pathParams.map(name => ({
				name,
				in: "path",
				required: true,
				schema: rules.has(name) ? ruleToSchema(rules.get(name)) : { type: "string" },
			}));
			const rest = entries.filter(([name]) => !pathParams.includes(name));
			const operation: Record<string, unknown> = {};
			const tag = alias.action ? alias.action.split(".").slice(0, -1).join(".") || alias.action : "gateway";
			tags.add(tag);
			operation.tags = [tag];
			operation.operationId = uniqueId(`${alias.action ?? "alias"}${methods.length > 1 ? `.${method}` : ""}`, operationIds);
			const described = describeAction(alias.action);
			const summary = action?.summary ?? described?.summary;
			if (summary) operation.summary = summary;
			if (action?.description) operation.description = action.description;
			if (bodyMethods.has(method)) {
				// Strict params (lib/api/rules.ts strictParams): an unknown field is a 422, so the body says additionalProperties: false.
				const strict = isStrict(action?.params);
				if (rest.length || strict) {
					const body = objectSchema(Object.fromEntries(rest), strict);
					const example = described?.request ?? (Object.keys(body.properties ?? {}).length ? undefined : {});
					operation.requestBody = { required: Array.isArray(body.required) && body.required.length > 0, content: { "application/json": { schema: body, ...(example ? { example } : {}) } } };
				}
			} else {
				for (const [name, rule] of rest) {
					const schema = ruleToSchema(rule);
					const param: JsonSchema = { name, in: "query", required: !isOptional(rule), schema };
					if (schema.type === "object") param.style = "deepObject";
					parameters.push(param);
				}
			}
			if (parameters.length) operation.parameters = parameters;
			const responses: Record<string, unknown> = {
				"200": { description: "Success", content: successContent(described) },
				"404": errorResponse("Not found (another tenant's entities are not found either)", "404"),
				"429": { ...errorResponse("Too many requests for this key", "429"), headers: { "Retry-After": { description: "Seconds until the limit resets", schema: { type: "integer" } } } },
			};
			if (entries.length) responses["422"] = errorResponse("Invalid parameters: `data` names the fields at fault", "422");
			if (bodyMethods.has(method)) responses["413"] = errorResponse("Request body too large", "413");
			const isPublic = !alias.authenticated || action?.public === true || alias.keyOptional === true;
			if (alias.authenticated) responses["401"] = errorResponse("Missing, invalid, expired or revoked API key", "401");
			operation.responses = responses;
			if (isPublic) operation.security = alias.authenticated ? [{}, ...securityRequirements] : [];
			if (action?.openapi && typeof action.openapi === "object") Object.assign(operation, jsonValue(action.openapi));
			paths[path] ??= {};
			paths[path][method] = operation;
		}
	}

	linkCreatesToEntityRoutes(paths);

	return {
		openapi: "3.1.0",
		info: { title: opts.title, version: opts.version, ...(opts.description ? { description: opts.description } : {}) },
		servers: [{ url: "/" }],
		tags: [...tags].sort().map(name => ({ name })),
		security: securityRequirements,
		paths,
		components: {
			securitySchemes: {
				bearer: { type: "http", scheme: "bearer", description: "`Authorization: Bearer <key>`" },
				apiKeyHeader: { type: "apiKey", in: "header", name: "X-API-Key" },
				rawAuthorization: { type: "apiKey", in: "header", name: "Authorization", description: "`Authorization: <key>`, without a scheme" },
			},
			schemas: componentSchemas(),
		},
	};
}

/**
 * A POST on a collection makes an entity whose `id` the collection's `{param}` routes take; saying so
 * (OpenAPI links) lets clients and fuzzers go from a create to everything done with the entity.
 */
function linkCreatesToEntityRoutes(paths: Record<string, Record<string, unknown>>): void {
	for (const [collection, item] of Object.entries(paths)) {
		const create = item.post as Record<string, unknown> | undefined;
		if (!create || collection.includes("{")) continue;
		const links: Record<string, unknown> = {};
		for (const [path, ops] of Object.entries(paths)) {
			const m = /^\/\{([^}]+)\}/.exec(path.slice(collection.length));
			if (!path.startsWith(`${collection}/{`) || !m) continue;
			for (const op of Object.values(ops) as Array<{ operationId: string }>) {
				links[op.operationId.replace(/[^A-Za-z0-9._-]/g, "_")] = { operationId: op.operationId, parameters: { [m[1]]: "$response.body#/id" } };
			}
		}
		if (!Object.keys(links).length) continue;
		const responses = create.responses as Record<string, Record<string, unknown>>;
		responses["201"] = { description: "Created", content: responses["200"].content, links };
		responses["200"] = { ...responses["200"], links };
	}
}

const securityRequirements = [{ bearer: [] }, { apiKeyHeader: [] }, { rawAuthorization: [] }];

function uniqueId(base: string, taken: Set<string>): string {
	let id = base;
	for (let i = 2; taken.has(id); i++) id = `${base}.${i}`;
	taken.add(id);
	return id;
}
