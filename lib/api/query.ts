/**
 * List filters (`query` on list, find and count): only the fields a service documents, only plain
 * comparison operators, bounded in depth and size. Anything else is the caller's mistake on
 * `query` (422), never a store error (a 500) or a deep recursion. Pure.
 */
import { invalid } from "../errors";

/** Operators on one field, and what each takes. */
const FIELD_OPERATORS: Record<string, "scalar" | "scalars" | "boolean"> = {
	$eq: "scalar",
	$ne: "scalar",
	$gt: "scalar",
	$gte: "scalar",
	$lt: "scalar",
	$lte: "scalar",
	$in: "scalars",
	$nin: "scalars",
	$exists: "boolean",
};

/** How deep `$and`/`$or` may nest, and how many terms or values one list may hold. */
export const QUERY_LIMITS = { depth: 4, terms: 50, values: 100 } as const;

type Scalar = string | number | boolean | null;

function isScalar(v: unknown): v is Scalar {
	return v === null || ["string", "number", "boolean"].includes(typeof v);
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
	return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** Why a field's condition is not allowed, or undefined when it is. */
function conditionProblem(field: string, cond: unknown): string | undefined {
	if (isScalar(cond)) return undefined;
	if (!isPlainObject(cond)) return `"${field}" must be compared with a value or with ${Object.keys(FIELD_OPERATORS).join(", ")}`;
	for (const [op, arg] of Object.entries(cond)) {
		const takes = FIELD_OPERATORS[op];
		if (!takes) return `Operator "${op}" on "${field}" is not allowed; use ${Object.keys(FIELD_OPERATORS).join(", ")}`;
		if (takes === "scalar" && !isScalar(arg)) return `"${field}.${op}" takes a string, number, boolean or null`;
		if (takes === "boolean" && typeof arg !== "boolean") return `"${field}.${op}" takes true or false`;
		if (takes === "scalars" && !(Array.isArray(arg) && arg.length <= QUERY_LIMITS.values && arg.every(isScalar))) return `"${field}.${op}" takes a list of at most ${QUERY_LIMITS.values} values`;
	}
	return undefined;
}

/** Why a filter is not allowed, or undefined when it is. */
export function queryProblem(query: unknown, fields: readonly string[], depth = 0): string | undefined {
	if (!isPlainObject(query)) return "A filter is a JSON object";
	if (depth > QUERY_LIMITS.depth) return `Filters nest at most ${QUERY_LIMITS.depth} levels of $and/$or`;
	for (const [key, value] of Object.entries(query)) {
		if (key === "$and" || key === "$or") {
			if (!Array.isArray(value) || value.length === 0 || value.length > QUERY_LIMITS.terms) return `"${key}" takes a list of 1 to ${QUERY_LIMITS.terms} filters`;
			for (const term of value) {
				const problem = queryProblem(term, fields, depth + 1);
				if (problem) return problem;
			}
		} else if (!fields.includes(key)) {
			return fields.length ? `Filtering on "${key}" is not supported; the fields are ${fields.join(", ")}` : "This list takes no filter";
		} else {
			const problem = conditionProblem(key, value);
			if (problem) return problem;
		}
	}
	return undefined;
}

/**
 * The caller's `query` (an object or its JSON text) checked against the documented `fields`;
 * an empty filter when absent. Anything else is a 422 on `query`.
 */
export function parseListQuery(raw: unknown, fields: readonly string[]): Record<string, unknown> {
	if (raw === undefined || raw === null || raw === "") return {};
	let query: unknown = raw;
	if (typeof raw === "string") {
		if (raw.length > 10_000) throw invalid("Invalid query", [{ field: "query", message: "A filter is at most 10000 characters", type: "query", actual: `${raw.slice(0, 64)}…` }]);
		try {
			query = JSON.parse(raw);
		} catch {
			throw invalid("Invalid query", [{ field: "query", message: "The filter is not valid JSON", type: "query", actual: raw.slice(0, 64) }]);
		}
	}
	const problem = queryProblem(query, fields);
	if (problem) throw invalid("Invalid query", [{ field: "query", message: problem, type: "query" }]);
	return query as Record<string, unknown>;
}
