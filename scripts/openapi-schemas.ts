/**
 * `npm run openapi:schemas`: the JSON Schemas of every REST operation's answer, from the contract
 * types the typed client reads (lib/openapi/responses.ts names one per action), written to
 * lib/openapi/schemas.generated.json for /api/openapi.json. `--check` writes nothing and fails when
 * the file is not what the types give now (test/unit/openapi-docs.test.ts runs it, so it never drifts).
 *
 * Run by node itself (type stripping) from the repository's root, with ts-json-schema-generator
 * (a devDependency): the server only reads the generated file.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { createGenerator } from "ts-json-schema-generator";

type Schema = Record<string, unknown>;

const root = process.cwd();
const source = path.join(root, "lib/openapi/responses.ts");
const target = path.join(root, "lib/openapi/schemas.generated.json");
if (!fs.existsSync(source)) throw new Error(`Run it from Berth's root (npm run openapi:schemas), not ${root}`);

/**
 * The Kubernetes client's object types (V1Deployment, ...) are the Kubernetes API reference's to
 * describe; spelled out they would be most of the file. They stand as Kubernetes objects here.
 */
const KUBERNETES_TYPE = /^V\d+(alpha\d+|beta\d+)?[A-Z]/;
const KUBERNETES_OBJECT: Schema = {
	type: "object",
	description: "A Kubernetes object (apiVersion, kind, metadata, spec, status) as the Kubernetes API reference describes it",
	properties: { apiVersion: { type: "string" }, kind: { type: "string" }, metadata: { type: "object" } },
};

/** A components.schemas key (`^[a-zA-Z0-9._-]+$`) for a generated name such as `Readiness<ServingCheckName>`. */
export function componentName(name: string): string {
	return decodeURIComponent(name)
		.replace(/[<>,| ]+/g, "_")
		.replace(/[^A-Za-z0-9._-]/g, "")
		.replace(/_+$/, "");
}

function rewriteRefs(value: unknown, rename: Map<string, string>): unknown {
	if (Array.isArray(value)) return value.map(v => rewriteRefs(v, rename));
	if (!value || typeof value !== "object") return value;
	const out: Schema = {};
	for (const [k, v] of Object.entries(value)) {
		if (k === "$ref" && typeof v === "string") {
			const name = decodeURIComponent(v.replace(/^#\/definitions\//, ""));
			out[k] = `#/components/schemas/${rename.get(name) ?? componentName(name)}`;
		} else out[k] = rewriteRefs(v, rename);
	}
	return out;
}

/** The definitions reachable from `start` (after Kubernetes types stopped being followed). */
function reachable(definitions: Record<string, Schema>, start: string): Set<string> {
	const seen = new Set<string>();
	const visit = (name: string) => {
		if (seen.has(name) || !definitions[name]) return;
		seen.add(name);
		JSON.stringify(definitions[name], (k, v) => {
			if (k === "$ref" && typeof v === "string") visit(v.replace("#/components/schemas/", ""));
			return v;
		});
	};
	visit(start);
	return seen;
}

/** `{ responses: {action: schema}, schemas: {name: schema} }`, keys sorted, as the file holds it. */
export function generate(): { responses: Record<string, Schema>; schemas: Record<string, Schema> } {
	// additionalProperties allowed: an answer may grow a field before its type does, and a client must not fail on it.
	const generator = createGenerator({ path: source, tsconfig: path.join(root, "tsconfig.json"), type: "Responses", expose: "export", topRef: true, jsDoc: "basic", skipTypeCheck: true, sortProps: true, additionalProperties: true });
	const raw = generator.createSchema("Responses") as { definitions: Record<string, Schema> };
	const rename = new Map(Object.keys(raw.definitions).map(name => [decodeURIComponent(name), componentName(name)]));
	const definitions: Record<string, Schema> = {};
	for (const [name, schema] of Object.entries(raw.definitions)) {
		const key = rename.get(decodeURIComponent(name))!;
		definitions[key] = KUBERNETES_TYPE.test(key) ? KUBERNETES_OBJECT : (rewriteRefs(schema, rename) as Schema);
	}
	const top = definitions.Responses as { properties: Record<string, Schema> };
	delete definitions.Responses;
	const responses: Record<string, Schema> = {};
	for (const action of Object.keys(top.properties).sort()) responses[action] = top.properties[action];
	const used = new Set<string>();
	for (const schema of Object.values(responses)) {
		JSON.stringify(schema, (k, v) => {
			if (k === "$ref" && typeof v === "string") for (const name of reachable(definitions, v.replace("#/components/schemas/", ""))) used.add(name);
			return v;
		});
	}
	const schemas: Record<string, Schema> = {};
	for (const name of [...used].sort()) schemas[name] = definitions[name];
	return { responses, schemas };
}

const text = `${JSON.stringify(generate(), null, "\t")}\n`;
if (process.argv.includes("--check")) {
	const current = fs.existsSync(target) ? fs.readFileSync(target, "utf8") : "";
	if (current !== text) {
		process.stderr.write(`${path.relative(root, target)} is not what lib/openapi/responses.ts gives now: run \`npm run openapi:schemas\` and commit it\n`);
		process.exit(1);
	}
} else {
	fs.writeFileSync(target, text);
	process.stdout.write(`${path.relative(root, target)}: ${Object.keys(JSON.parse(text).responses).length} operations' answers\n`);
}
