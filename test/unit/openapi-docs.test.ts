import { execFileSync } from "node:child_process";
import * as path from "node:path";
import { buildOpenApi, type ActionInfo } from "../../lib/openapi";
import { componentSchemas } from "../../lib/openapi/describe";
import { OPERATION_DOCS } from "../../lib/openapi/docs";
import generated from "../../lib/openapi/schemas.generated.json";
import { schemaChecker, successMedia } from "../helpers/openapi-docs";

const root = path.resolve(__dirname, "../..");
const check = schemaChecker(componentSchemas());
const responses = generated.responses as Record<string, Record<string, unknown>>;

describe("the API reference's schemas and examples", () => {
	it("schemas.generated.json is what lib/openapi/responses.ts gives now (npm run openapi:schemas)", () => {
		const script = path.join(root, "scripts/openapi-schemas.ts");
		let out = "";
		try {
			execFileSync(process.execPath, ["--disable-warning=MODULE_TYPELESS_PACKAGE_JSON", script, "--check"], { cwd: root, encoding: "utf8", stdio: "pipe" });
		} catch (err) {
			out = String((err as { stderr?: string }).stderr ?? err);
		}
		expect(out).toBe("");
	}, 60_000);

	it("has a non-empty answer schema for every action it documents, and docs for exactly those actions", () => {
		expect(Object.keys(OPERATION_DOCS).sort()).toEqual(Object.keys(responses).sort());
		const empty = Object.entries(responses).filter(([, schema]) => !Object.keys(schema).length).map(([action]) => action);
		expect(empty).toEqual([]);
	});

	it("every example answer fits its schema", () => {
		const misfits: Record<string, string[]> = {};
		for (const [action, doc] of Object.entries(OPERATION_DOCS)) {
			const errors = check(responses[action], doc.response);
			if (errors.length) misfits[action] = errors;
		}
		expect(misfits).toEqual({});
		// The check itself tells a misfit.
		expect(check(responses["v1.keys.get"], { id: 7 }).length).toBeGreaterThan(0);
	});

	it("puts them on the operation, with the error body on 4xx", () => {
		const actions = new Map<string, ActionInfo>([
			["v1.keys.create", { name: "v1.keys.create", params: { $$strict: true, name: "string" } }],
			["v1.keys.get", { name: "v1.keys.get", params: { id: "string" }, summary: "The service's own words" }],
			["v1.k8s.jobs.logs", { name: "v1.k8s.jobs.logs", params: { id: "string" } }],
			["v1.things.poke", { name: "v1.things.poke", params: { id: "string" } }],
		]);
		const doc = buildOpenApi(
			[
				{ method: "POST", fullPath: "/api/v1/keys", action: "v1.keys.create", authenticated: true },
				{ method: "GET", fullPath: "/api/v1/keys/:id", action: "v1.keys.get", authenticated: true },
				{ method: "GET", fullPath: "/api/v1/k8s/jobs/:id/logs", action: "v1.k8s.jobs.logs", authenticated: true },
				{ method: "POST", fullPath: "/api/v1/things/:id/poke", action: "v1.things.poke", authenticated: true },
			],
			actions,
			{ title: "t", version: "1" },
		) as Record<string, any>;
		const create = doc.paths["/api/v1/keys"].post;
		expect(create.summary).toBe(OPERATION_DOCS["v1.keys.create"].summary);
		expect(create.requestBody.content["application/json"].example).toEqual(OPERATION_DOCS["v1.keys.create"].request);
		expect(successMedia(create)).toEqual({ type: "application/json", schema: { $ref: "#/components/schemas/CreatedKey" }, example: OPERATION_DOCS["v1.keys.create"].response });
		expect(create.responses["201"].content).toEqual(create.responses["200"].content);
		expect(create.responses["422"].content["application/json"]).toMatchObject({ schema: { $ref: "#/components/schemas/Error" }, example: { type: "VALIDATION_ERROR", data: [{ field: "name" }] } });
		expect(check({ $ref: "#/components/schemas/Error" }, create.responses["422"].content["application/json"].example)).toEqual([]);
		expect(doc.paths["/api/v1/keys/{id}"].get.summary).toBe("The service's own words");
		expect(successMedia(doc.paths["/api/v1/k8s/jobs/{id}/logs"].get)).toMatchObject({ type: "text/plain", schema: { type: "string" } });
		// An action responses.ts does not name: documented as answering anything, which the OpenAPI suite reports.
		expect(successMedia(doc.paths["/api/v1/things/{id}/poke"].post)).toEqual({ type: "application/json", schema: {}, example: undefined });
		expect(doc.components.schemas.DeploymentEntity).toBeDefined();
	});
});
