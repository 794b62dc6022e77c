import { execFileSync } from "node:child_process";
import type { ServiceSchema } from "moleculer";
import { toOpenApiPath } from "../../lib/openapi";
import { eventually } from "../helpers/eventually";
import { request, startMesh, type Mesh } from "../helpers/mesh";
import { schemaChecker, successMedia } from "../helpers/openapi-docs";
import { operationsOf, opName } from "../helpers/openapi-ops";

interface Alias {
	actionName?: string;
	fullPath: string;
	methods: string;
}

/** Validates a document against the OpenAPI 3.1 JSON Schema with @seriousme/openapi-schema-validator (ESM, so in a child). */
function validateOpenApi(doc: unknown): { valid: boolean; version?: string; errors?: unknown } {
	const script = `
		import { Validator } from "@seriousme/openapi-schema-validator";
		let text = ""; for await (const chunk of process.stdin) text += chunk;
		const v = new Validator();
		const res = await v.validate(JSON.parse(text));
		process.stdout.write(JSON.stringify({ valid: res.valid, version: v.version, errors: res.errors }));`;
	return JSON.parse(execFileSync(process.execPath, ["--input-type=module", "-e", script], { input: JSON.stringify(doc), cwd: process.cwd(), encoding: "utf8" }));
}

describe("the OpenAPI document", () => {
	let mesh: Mesh;

	beforeAll(async () => {
		// Every service this build registers, so every REST route of the mesh is in the document.
		mesh = await startMesh([]);
	});
	afterAll(() => mesh?.stop());

	it("is served publicly at /api/openapi.json and is a valid OpenAPI 3.1 document", async () => {
		const res = await request(`${mesh.url}/api/openapi.json`);
		expect(res.status).toBe(200);
		expect(res.body.openapi).toBe("3.1.0");
		const result = validateOpenApi(res.body);
		expect(result.errors ?? []).toEqual([]);
		expect(result).toMatchObject({ valid: true, version: "3.1" });
	});

	it("lists every REST route the gateway serves", async () => {
		const doc = (await request(`${mesh.url}/api/openapi.json`)).body;
		const aliases = await mesh.broker.call<Alias[], object>("api.listAliases", {});
		expect(aliases.length).toBeGreaterThan(5);
		for (const alias of aliases) {
			// Function aliases are the live-status streams: they never end, so the document leaves them out (docs/dashboard.md, "Live status").
			if (!alias.actionName) continue;
			const { path } = toOpenApiPath(alias.fullPath);
			const methods = alias.methods === "*" ? ["get", "post", "put", "patch", "delete"] : [alias.methods.toLowerCase()];
			for (const m of methods) expect([alias.methods, path, Boolean(doc.paths[path]?.[m])]).toEqual([alias.methods, path, true]);
		}
		expect(doc.paths["/api/v1/keys"].post.requestBody.content["application/json"].schema.required).toEqual(["name"]);
		expect(doc.paths["/api/v1/keys/{id}"].delete.parameters[0]).toMatchObject({ name: "id", in: "path", required: true });
		expect(doc.paths["/api/openapi.json"].get.security).toContainEqual({});
		expect(doc.paths["/"].get.security).toEqual([]);
	});

	it("has the seed's createDeployment, with create's request body", async () => {
		const doc = (await request(`${mesh.url}/api/openapi.json`)).body;
		const seeds = doc.paths["/api/v1/k8s/deployments/createDeployment"]?.post;
		expect(seeds).toBeDefined();
		expect(seeds.requestBody.content["application/json"].schema).toEqual(doc.paths["/api/v1/k8s/deployments"].post.requestBody.content["application/json"].schema);
	});

	it("gives every operation an answer schema, a summary and examples that fit (naming those that lack one)", async () => {
		const doc = (await request(`${mesh.url}/api/openapi.json`)).body;
		const check = schemaChecker(doc.components.schemas);
		const lacking: string[] = [];
		const misfits: Record<string, string[]> = {};
		for (const op of operationsOf(doc)) {
			const name = `${opName(op)} (${op.op.operationId})`;
			const media = successMedia(op.op);
			// A new action: one line in lib/openapi/responses.ts, its docs in lib/openapi/docs.ts, then `npm run openapi:schemas`.
			if (!media?.schema || !Object.keys(media.schema).length) lacking.push(`${name}: no answer schema (lib/openapi/responses.ts)`);
			if (!op.op.summary) lacking.push(`${name}: no summary (lib/openapi/docs.ts or the action's summary)`);
			if (media?.example === undefined) lacking.push(`${name}: no example answer (lib/openapi/docs.ts)`);
			const body = op.op.requestBody?.content?.["application/json"];
			if (body && body.example === undefined) lacking.push(`${name}: no example request body (lib/openapi/docs.ts \`request\`)`);
			const errors = [
				...(media?.schema && media.example !== undefined ? check(media.schema, media.example).map(e => `answer ${e}`) : []),
				...(body?.example !== undefined ? check(body.schema, body.example).map(e => `request ${e}`) : []),
			];
			if (errors.length) misfits[name] = errors;
		}
		expect(lacking).toEqual([]);
		expect(misfits).toEqual({});
	});

	it("documents answers as the API gives them", async () => {
		const doc = (await request(`${mesh.url}/api/openapi.json`)).body;
		const check = schemaChecker(doc.components.schemas);
		const schemaOf = (path: string, method: string) => successMedia(doc.paths[path][method])!.schema!;
		const created = await request(`${mesh.url}/api/v1/keys`, { method: "POST", key: mesh.adminKey, body: { name: "openapi-docs", userID: "openapi-docs" } });
		expect(created.status).toBe(201);
		expect(check(schemaOf("/api/v1/keys", "post"), created.body)).toEqual([]);
		const listed = await request(`${mesh.url}/api/v1/keys`, { key: mesh.adminKey });
		expect(check(schemaOf("/api/v1/keys", "get"), listed.body)).toEqual([]);
		const revoked = await request(`${mesh.url}/api/v1/keys/${created.body.id}`, { method: "DELETE", key: mesh.adminKey });
		expect(check(schemaOf("/api/v1/keys/{id}", "delete"), revoked.body)).toEqual([]);
		expect(check(schemaOf("/health/live", "get"), (await request(`${mesh.url}/health/live`)).body)).toEqual([]);
		expect(check(schemaOf("/api/openapi.json", "get"), doc)).toEqual([]);
		const invalid = await request(`${mesh.url}/api/v1/keys`, { method: "POST", key: mesh.adminKey, body: {} });
		expect(invalid.status).toBe(422);
		expect(check({ $ref: "#/components/schemas/Error" }, invalid.body)).toEqual([]);
	});

	it("serves the API reference at /api/docs without a key, every file it loads from this origin", async () => {
		const page = await request(`${mesh.url}/api/docs`);
		expect(page.status).toBe(200);
		expect(page.headers.get("content-type")).toMatch(/^text\/html/);
		expect(page.headers.get("content-security-policy")).toContain("default-src 'self'");
		const refs = [...page.text.matchAll(/<(?:script|link)\b[^>]*?\b(?:src|href)="([^"]+)"/g)].map(m => m[1]);
		expect(refs.length).toBeGreaterThanOrEqual(3);
		for (const ref of refs) {
			const url = new URL(ref, `${mesh.url}/api/docs`);
			expect([ref, url.origin]).toEqual([ref, mesh.url]);
			const res = await request(url.href);
			expect([ref, res.status]).toEqual([ref, 200]);
		}
		// The start script points Swagger UI at this document and at no validator service.
		const init = await request(`${mesh.url}/api/docs/init.js`);
		expect(init.text).toContain('"/api/openapi.json"');
		expect(init.text).toContain("validatorUrl: null");
		expect((await request(`${mesh.url}/api/docs/package.json`)).status).toBe(404);
		expect((await request(`${mesh.url}/api/docs/../openapi.json`)).status).toBe(200);
	});

	it("grows with services that join later", async () => {
		const later: ServiceSchema = {
			name: "later",
			version: 1,
			settings: { rest: "/v1/later" },
			actions: { poke: { rest: "POST /:id/poke", params: { id: "string", times: { type: "number", integer: true, min: 1, max: 3 } }, handler: () => "ok" } },
		};
		await mesh.broker.createService(later);
		try {
			const op = await eventually(async () => {
				const doc = (await request(`${mesh.url}/api/openapi.json`)).body;
				expect(doc.paths["/api/v1/later/{id}/poke"]?.post).toBeDefined();
				return doc.paths["/api/v1/later/{id}/poke"].post;
			}, { timeoutMs: 10_000 });
			expect(op.requestBody.content["application/json"].schema).toEqual({ type: "object", properties: { times: { type: "integer", minimum: 1, maximum: 3 } }, required: ["times"] });
		} finally {
			await mesh.broker.destroyService("v1.later");
		}
	});
});
