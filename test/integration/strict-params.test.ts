import { callOp, fill, opName, operationsOf, BodyMaker, type Operation } from "../helpers/openapi-ops";
import { request, startMesh, type Mesh } from "../helpers/mesh";

/**
 * The seeds' routes (docs/compat.md) take what their real clients send, as the seeds did: they are
 * the only create and update routes without strict params.
 */
const COMPAT = new Set([
	"POST /applications",
	"POST /applications/{template}",
	"POST /applications/{template}/{id}/keepalive",
	"POST /jobs",
	"PUT /kubernetes/services/{id}/deploy",
]);

const UNKNOWN = "berthNoSuchField";

describe("strict params, from the OpenAPI document", () => {
	let mesh: Mesh;
	let ops: Operation[];

	beforeAll(async () => {
		// Every service this build registers, so every create and update route is in the document.
		mesh = await startMesh([]);
		const doc = await request(`${mesh.url}/api/openapi.json`);
		expect(doc.status).toBe(200);
		ops = operationsOf(doc.body).filter(op => ["POST", "PUT", "PATCH"].includes(op.method));
	});
	afterAll(() => mesh?.stop());

	it("documents additionalProperties: false on the body of every create and update but the seeds' routes", () => {
		const strict = ops.filter(op => op.op.requestBody?.content?.["application/json"]?.schema?.additionalProperties === false).map(opName);
		const loose = ops.map(opName).filter(name => !strict.includes(name));
		expect(loose.sort()).toEqual([...COMPAT].sort());
		expect(strict.length).toBeGreaterThanOrEqual(30);
	});

	it("answers 422 VALIDATION_ERROR naming an unknown field on each of them, whatever the rest of the body", async () => {
		const maker = new BodyMaker(new Map(), "s3cret-value");
		const answers: string[] = [];
		for (const op of ops.filter(o => !COMPAT.has(opName(o)))) {
			// The validator runs before any lookup: an id that names nothing still gets the 422.
			const body = { ...maker.body(op.op), [UNKNOWN]: 1 };
			const res = await callOp(mesh.url, op, fill(op.path, op.params, "x"), mesh.adminKey, body);
			const fields = Array.isArray(res.body?.data) ? res.body.data.map((d: { field?: string }) => d.field) : [];
			answers.push(`${opName(op)} → ${res.status} ${res.body?.type} ${fields.includes(UNKNOWN) ? "names it" : `fields ${JSON.stringify(fields)}`}`);
		}
		expect(answers).toEqual(answers.map(a => a.replace(/→ .*/, "→ 422 VALIDATION_ERROR names it")));
		expect(answers.length).toBeGreaterThanOrEqual(30);
	});

	it("leaves the seeds' routes taking extra fields as their clients send them", async () => {
		// The orchestrate seed's client sends only {cmd}; an extra field is still not refused by the validator.
		const op = ops.find(o => opName(o) === "POST /jobs")!;
		const res = await callOp(mesh.url, op, "/jobs", mesh.adminKey, { cmd: "", [UNKNOWN]: 1 });
		expect(res.body?.data?.map?.((d: { field?: string }) => d.field) ?? []).not.toContain(UNKNOWN);
	});
});
