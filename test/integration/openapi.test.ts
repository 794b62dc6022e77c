import { execFileSync } from "node:child_process";
import type { ServiceSchema } from "moleculer";
import { toOpenApiPath } from "../../lib/openapi";
import { eventually } from "../helpers/eventually";
import { request, startMesh, type Mesh } from "../helpers/mesh";

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
