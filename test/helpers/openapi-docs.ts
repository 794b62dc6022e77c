import Ajv2020 from "ajv/dist/2020";

type Schema = Record<string, any>;

const DOC_ID = "https://berth.invalid/openapi.json";

/**
 * Checks values against schemas of an OpenAPI document (JSON Schema 2020-12, OpenAPI 3.1's dialect):
 * `#/components/schemas/...` references resolve in `schemas` (the document's components.schemas).
 * The errors, or [] when the value fits.
 */
export function schemaChecker(schemas: Schema): (schema: Schema, value: unknown) => string[] {
	const ajv = new Ajv2020({ strict: false, validateFormats: false, allErrors: true });
	// ajv follows references only into schema keywords: the components go under $defs.
	const resolved = (s: unknown) => JSON.parse(JSON.stringify(s).replaceAll('"#/components/schemas/', `"${DOC_ID}#/$defs/`));
	ajv.addSchema({ $id: DOC_ID, $defs: resolved(schemas) });
	return (schema, value) => {
		const validate = ajv.compile(resolved(schema));
		return validate(value) ? [] : (validate.errors ?? []).map(e => `${e.instancePath || "/"} ${e.message}${e.params ? ` ${JSON.stringify(e.params)}` : ""}`);
	};
}

/** The 2xx media of an operation: its schema and example, whatever the content type. */
export function successMedia(op: Schema): { type: string; schema?: Schema; example?: unknown } | undefined {
	const ok = op.responses?.["200"] ?? op.responses?.["201"];
	const [type, media] = Object.entries<Schema>(ok?.content ?? {})[0] ?? [];
	return type ? { type, schema: media.schema, example: media.example } : undefined;
}
