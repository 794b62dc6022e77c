/**
 * What the OpenAPI document says about an operation beyond its route and params: the answer's
 * schema (schemas.generated.json, from the contract types named in responses.ts), a summary, and
 * examples (docs.ts), and the error body every 4xx shares.
 */
import { OPERATION_DOCS, type OperationDoc } from "./docs";
import generated from "./schemas.generated.json";

type Schema = Record<string, unknown>;

/** What the document knows about an action's answer, when responses.ts names it. */
export interface Described {
	/** The 2xx body. */
	schema: Schema;
	/** text/plain (logs) rather than JSON. */
	text: boolean;
	summary?: string;
	example?: unknown;
	request?: Record<string, unknown>;
}

const responses = generated.responses as Record<string, Schema>;
const docs = OPERATION_DOCS as Record<string, OperationDoc<unknown> | undefined>;

export function describeAction(action: string | undefined): Described | undefined {
	if (!action || !Object.prototype.hasOwnProperty.call(responses, action)) return undefined;
	const schema = responses[action];
	const doc = docs[action];
	return { schema, text: schema.type === "string", summary: doc?.summary, example: doc?.response, request: doc?.request };
}

/** The 2xx answer of an operation: its schema and example, or `{}` (anything) for an action responses.ts does not name. */
export function successContent(described: Described | undefined): Record<string, unknown> {
	if (!described) return { "application/json": { schema: {} } };
	const media: Schema = { schema: described.schema };
	if (described.example !== undefined) media.example = described.example;
	return { [described.text ? "text/plain" : "application/json"]: media };
}

/** One offending field, as lib/errors.ts FieldError and fastest-validator give it. */
const FieldError: Schema = {
	type: "object",
	required: ["field", "message"],
	properties: {
		field: { type: "string", description: "The field at fault, dotted for nested ones (`ports.0.port`)" },
		message: { type: "string" },
		type: { type: "string", description: "The rule it broke (`required`, `stringPattern`, `objectStrict`…)" },
		actual: {},
		expected: {},
	},
};

/** The body of every error answer (moleculer-web's shape: lib/api/gateway.ts errorBody). */
const ErrorBody: Schema = {
	type: "object",
	required: ["name", "message", "code", "type"],
	properties: {
		name: { type: "string" },
		message: { type: "string" },
		code: { type: "integer", minimum: 400, maximum: 599 },
		type: { type: "string", description: "A stable constant clients may branch on (NOT_FOUND, VALIDATION_ERROR, CONFLICT, QUOTA_EXCEEDED…)" },
		data: {
			description: "Details: for VALIDATION_ERROR the fields at fault",
			anyOf: [{ type: "array", items: { $ref: "#/components/schemas/FieldError" } }, { type: "object" }, { type: "null" }],
		},
	},
};

/** Examples of the error bodies by status, for the document's error responses. */
export const errorExamples: Record<string, Schema> = {
	"401": { name: "UnAuthorizedError", message: "Missing API key", code: 401, type: "UNAUTHORIZED" },
	"404": { name: "MoleculerClientError", message: "Deployment not found", code: 404, type: "NOT_FOUND", data: { id: "665f1c2a9b1e4d0012a3b4c3" } },
	"413": { name: "PayloadTooLarge", message: "Request body larger than 1mb", code: 413, type: "PAYLOAD_TOO_LARGE" },
	"422": { name: "ValidationError", message: "Parameters validation error!", code: 422, type: "VALIDATION_ERROR", data: [{ type: "required", field: "name", message: "The 'name' field is required." }] },
	"429": { name: "MoleculerClientError", message: "Too many requests for this API key; retry later", code: 429, type: "RATE_LIMITED", data: { retryAfter: 12 } },
};

/** components.schemas: the error body and every contract type an answer refers to. */
export function componentSchemas(): Record<string, Schema> {
	return { ...(generated.schemas as Record<string, Schema>), Error: ErrorBody, FieldError };
}
