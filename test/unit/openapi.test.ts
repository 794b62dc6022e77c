import { buildOpenApi, isOptional, parseShorthand, ruleToSchema, toOpenApiPath, type ActionInfo, type RestAlias } from "../../lib/openapi";

describe("fastest-validator rules as JSON Schema", () => {
	it.each<[unknown, Record<string, unknown>]>([
		[{ type: "string", min: 1, max: 63, pattern: /^[a-z]+$/ }, { type: "string", minLength: 1, maxLength: 63, pattern: "^[a-z]+$" }],
		["string|min:3|optional", { type: "string", minLength: 3 }],
		[{ type: "number", integer: true, min: 0, max: 100, convert: true }, { type: "integer", minimum: 0, maximum: 100 }],
		[{ type: "number", positive: true }, { type: "number", exclusiveMinimum: 0 }],
		[{ type: "boolean", default: false }, { type: "boolean", default: false }],
		[{ type: "enum", values: ["as-is", "secret"] }, { enum: ["as-is", "secret"] }],
		[{ type: "equal", value: "x" }, { const: "x" }],
		[{ type: "array", items: "string", min: 1, max: 5, unique: true }, { type: "array", items: { type: "string" }, minItems: 1, maxItems: 5, uniqueItems: true }],
		["string[]", { type: "array", items: { type: "string" } }],
		[{ type: "email" }, { type: "string", format: "email" }],
		[{ type: "url" }, { type: "string", format: "uri" }],
		[{ type: "uuid" }, { type: "string", format: "uuid" }],
		[{ type: "date" }, { type: "string", format: "date-time" }],
		[{ type: "string", nullable: true }, { type: ["string", "null"] }],
		[{ type: "record", key: "string", value: "number" }, { type: "object", propertyNames: { type: "string" }, additionalProperties: { type: "number" } }],
		[{ type: "tuple", items: ["string", "number"] }, { type: "array", prefixItems: [{ type: "string" }, { type: "number" }], minItems: 2, maxItems: 2 }],
		[{ type: "any" }, {}],
		[{ type: "custom", check: () => true }, {}],
	])("maps %p", (rule, schema) => {
		expect(ruleToSchema(rule)).toEqual(schema);
	});

	it("maps nested objects with their required properties and strictness", () => {
		expect(ruleToSchema({ type: "object", strict: true, props: { cpu: "string", pods: { type: "number", optional: true } } })).toEqual({
			type: "object",
			properties: { cpu: { type: "string" }, pods: { type: "number" } },
			required: ["cpu"],
			additionalProperties: false,
		});
		expect(ruleToSchema({ $$type: "object|optional", name: "string" })).toEqual({ type: "object", properties: { name: { type: "string" } }, required: ["name"] });
	});

	it("maps alternatives to anyOf", () => {
		expect(ruleToSchema([{ type: "string" }, { type: "number" }])).toEqual({ anyOf: [{ type: "string" }, { type: "number" }] });
		expect(ruleToSchema({ type: "multi", rules: ["string", "boolean"] })).toEqual({ anyOf: [{ type: "string" }, { type: "boolean" }] });
	});

	it("drops a pattern that lost its RegExp crossing the wire from another node", () => {
		expect(ruleToSchema({ type: "string", pattern: {} })).toEqual({ type: "string" });
	});

	it("knows which rules may be left out", () => {
		expect(isOptional("string|optional")).toBe(true);
		expect(isOptional({ type: "number", default: 1 })).toBe(true);
		expect(isOptional({ type: "number" })).toBe(false);
		expect(parseShorthand("number|integer|no-convert|max:5")).toEqual({ type: "number", integer: true, convert: false, max: 5 });
	});
});

describe("the OpenAPI document", () => {
	const actions = new Map<string, ActionInfo>([
		["v1.things.create", { name: "v1.things.create", params: { name: { type: "string", min: 1 }, size: { type: "number", optional: true }, $$strict: true } }],
		["v1.things.get", { name: "v1.things.get", params: { id: "string", verbose: { type: "boolean", optional: true, convert: true } } }],
		["v1.things.scale", { name: "v1.things.scale", params: { id: "string", replicas: { type: "number", integer: true, min: 0 } }, summary: "Scale a thing" }],
		["v1.things.launch", { name: "v1.things.launch", public: true, params: { id: "string" } }],
		["health.live", { name: "health.live", public: true }],
	]);
	const aliases: RestAlias[] = [
		{ method: "POST", fullPath: "/api/v1/things", action: "v1.things.create", authenticated: true },
		{ method: "GET", fullPath: "/api/v1/things/:id", action: "v1.things.get", authenticated: true },
		{ method: "POST", fullPath: "/api/v1/things/:id/scale", action: "v1.things.scale", authenticated: true },
		{ method: "POST", fullPath: "/api/v1/things/:id/launch", action: "v1.things.launch", authenticated: true },
		{ method: "GET", fullPath: "/", action: "health.live", authenticated: false },
	];
	const doc = buildOpenApi(aliases, actions, { title: "t", version: "1" }) as any;

	it("is OpenAPI 3.1 with the three ways to present a key", () => {
		expect(doc.openapi).toBe("3.1.0");
		expect(Object.keys(doc.components.securitySchemes).sort()).toEqual(["apiKeyHeader", "bearer", "rawAuthorization"]);
	});

	it("puts path parameters in the path and the rest in the body or the query", () => {
		const scale = doc.paths["/api/v1/things/{id}/scale"].post;
		expect(scale.parameters).toEqual([{ name: "id", in: "path", required: true, schema: { type: "string" } }]);
		expect(scale.requestBody.content["application/json"].schema).toEqual({ type: "object", properties: { replicas: { type: "integer", minimum: 0 } }, required: ["replicas"] });
		expect(scale.summary).toBe("Scale a thing");
		const get = doc.paths["/api/v1/things/{id}"].get;
		expect(get.parameters[1]).toEqual({ name: "verbose", in: "query", required: false, schema: { type: "boolean" } });
		expect(get.requestBody).toBeUndefined();
	});

	it("marks public operations: no key on unauthenticated routes, an optional key on public actions", () => {
		expect(doc.paths["/"].get.security).toEqual([]);
		expect(doc.paths["/api/v1/things/{id}/launch"].post.security[0]).toEqual({});
		expect(doc.paths["/api/v1/things"].post.security).toBeUndefined();
		expect(doc.paths["/api/v1/things"].post.responses["401"]).toBeDefined();
	});

	it("marks a key optional where the gateway lets keyless calls through (COMPAT_ANONYMOUS_USER)", () => {
		const optional = buildOpenApi([{ ...aliases[0], keyOptional: true }], actions, { title: "t", version: "1" }) as any;
		expect(optional.paths["/api/v1/things"].post.security[0]).toEqual({});
		expect(optional.paths["/api/v1/things"].post.responses["401"]).toBeDefined();
	});

	it("gives every operation a unique id and the error schema", () => {
		const ids = Object.values(doc.paths).flatMap((ops: any) => Object.values(ops).map((op: any) => op.operationId));
		expect(new Set(ids).size).toBe(ids.length);
		expect(doc.components.schemas.Error.required).toEqual(["name", "message", "code", "type"]);
	});

	it("converts moleculer-web paths", () => {
		expect(toOpenApiPath("/api/v1/things/:id/members/:member")).toEqual({ path: "/api/v1/things/{id}/members/{member}", params: ["id", "member"] });
		expect(toOpenApiPath("/")).toEqual({ path: "/", params: [] });
	});
});

describe("patterns and links", () => {
	it("rewrites JavaScript-only regex spellings", () => {
		expect(ruleToSchema({ type: "string", pattern: /^\/[^\0:]*$/ })).toEqual({ type: "string", pattern: "^/[^\\x00:]*$" });
		expect(ruleToSchema({ type: "string", pattern: /^a\\0\d$/ })).toEqual({ type: "string", pattern: "^a\\\\0\\d$" });
	});

	it("links a collection's create to its {id} routes", () => {
		const actions = new Map<string, ActionInfo>([
			["v1.things.create", { name: "v1.things.create", params: { name: "string" } }],
			["v1.things.get", { name: "v1.things.get", params: { id: "string" } }],
			["v1.things.scale", { name: "v1.things.scale", params: { id: "string" } }],
		]);
		const doc = buildOpenApi(
			[
				{ method: "POST", fullPath: "/api/v1/things", action: "v1.things.create", authenticated: true },
				{ method: "GET", fullPath: "/api/v1/things/:id", action: "v1.things.get", authenticated: true },
				{ method: "POST", fullPath: "/api/v1/things/:id/scale", action: "v1.things.scale", authenticated: true },
			],
			actions,
			{ title: "t", version: "1" },
		) as any;
		const created = doc.paths["/api/v1/things"].post.responses["201"];
		expect(created.links).toEqual({
			"v1.things.get": { operationId: "v1.things.get", parameters: { id: "$response.body#/id" } },
			"v1.things.scale": { operationId: "v1.things.scale", parameters: { id: "$response.body#/id" } },
		});
	});
});
