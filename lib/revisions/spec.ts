/**
 * A deployment's revisions as pure functions: the state a revision holds (the spec fields and
 * the env set), the difference between two of them, how one is stored and shown, and the changes
 * that put a deployment back to one. Secret values travel only inside `secrets` (stored sealed by
 * the db mixin) and never reach a view or a change summary.
 */
import { MASK } from "../api/envs";
import type { RevisionCause, RevisionChange, RevisionEnv, RevisionView } from "../api/revisions";
import { SPEC_FIELDS } from "../deployments/store";

/** An env as v1.k8s.envs' snapshot gives it: a secret's value in `secretValue`, none in `value`. */
export interface EnvSnapshotEntry {
	key: string;
	type: "as-is" | "secret";
	value: string;
	secretValue?: string;
}

/** What a revision holds: the spec fields, the env set (secret values empty) and the secret values by key. */
export interface RevisionState {
	spec: Record<string, unknown>;
	env: RevisionEnv[];
	secrets: Record<string, string>;
}

/** A revision as stored: the state as JSON text (file names and quota keys have dots, which stores refuse in field names). */
export interface StoredRevision {
	id: string;
	deployment: string;
	revision: number;
	by: string;
	cause: RevisionCause;
	rollbackOf?: number;
	changes: RevisionChange[];
	specJson: string;
	envJson: string;
	/** JSON of the secret values by key: a sealed field, never returned. */
	secretValues?: string;
	createdAt: string;
}

/** Fields kept with a revision but whose change alone is not a new one (a restart; the image's name follows its id). */
const NOT_DIFFED = new Set(["restartedAt", "imageName"]);

/** The revision state of a deployment (its public view or stored document) and its envs. */
export function stateOf(dep: Record<string, unknown>, envs: EnvSnapshotEntry[]): RevisionState {
	const spec: Record<string, unknown> = {};
	for (const f of SPEC_FIELDS) if (dep[f] !== undefined && dep[f] !== null) spec[f] = dep[f];
	const sorted = [...envs].sort((a, b) => a.key.localeCompare(b.key));
	const secrets: Record<string, string> = {};
	for (const e of sorted) if (e.type === "secret") secrets[e.key] = e.secretValue ?? "";
	return { spec, env: sorted.map(e => ({ key: e.key, type: e.type, value: e.type === "secret" ? "" : e.value })), secrets };
}

/** JSON with object keys sorted: two equal values written by different stores compare equal. */
export function canonical(value: unknown): string {
	return JSON.stringify(value, (_k, v: unknown) => (v && typeof v === "object" && !Array.isArray(v) ? Object.fromEntries(Object.entries(v as Record<string, unknown>).sort(([a], [b]) => a.localeCompare(b))) : v));
}

type Scalar = string | number | boolean | null;
function scalar(v: unknown): v is Scalar | undefined {
	return v === undefined || v === null || ["string", "number", "boolean"].includes(typeof v);
}

function change(field: string, before: unknown, after: unknown, showValues: boolean): RevisionChange {
	if (!showValues || !scalar(before) || !scalar(after)) return { field };
	return { field, old: before ?? null, new: after ?? null };
}

/** What differs from `prev` to `next`: spec fields (the image by name), then env keys (secret ones without values). */
export function diffStates(prev: RevisionState | undefined, next: RevisionState): RevisionChange[] {
	if (!prev) return [];
	const out: RevisionChange[] = [];
	for (const f of SPEC_FIELDS) {
		if (NOT_DIFFED.has(f) || canonical(prev.spec[f]) === canonical(next.spec[f])) continue;
		out.push(f === "image" ? change(f, prev.spec.imageName ?? prev.spec.image, next.spec.imageName ?? next.spec.image, true) : change(f, prev.spec[f], next.spec[f], true));
	}
	const before = new Map(prev.env.map(e => [e.key, e]));
	const after = new Map(next.env.map(e => [e.key, e]));
	for (const key of [...new Set([...before.keys(), ...after.keys()])].sort()) {
		const b = before.get(key);
		const a = after.get(key);
		const secret = b?.type === "secret" || a?.type === "secret";
		const same = b?.type === a?.type && b?.value === a?.value && prev.secrets[key] === next.secrets[key];
		if (!same) out.push(change(`env.${key}`, b?.value, a?.value, !secret));
	}
	return out;
}

/** The stored fields of a revision's state. */
export function encodeState(state: RevisionState): Pick<StoredRevision, "specJson" | "envJson" | "secretValues"> {
	return { specJson: JSON.stringify(state.spec), envJson: JSON.stringify(state.env), secretValues: JSON.stringify(state.secrets) };
}

export function decodeState(doc: StoredRevision): RevisionState {
	return { spec: JSON.parse(doc.specJson) as Record<string, unknown>, env: JSON.parse(doc.envJson) as RevisionEnv[], secrets: doc.secretValues ? (JSON.parse(doc.secretValues) as Record<string, string>) : {} };
}

/** What a client sees of a revision: secret values masked. */
export function revisionView(doc: StoredRevision): RevisionView {
	const { spec, env } = decodeState(doc);
	return {
		revision: doc.revision,
		deployment: doc.deployment,
		by: doc.by,
		at: doc.createdAt,
		cause: doc.cause,
		...(doc.rollbackOf ? { rollbackOf: doc.rollbackOf } : {}),
		changes: doc.changes ?? [],
		spec,
		env: env.map(e => (e.type === "secret" ? { ...e, value: MASK } : e)),
	};
}

/** The env set a rollback writes back: secret values from the revision's sealed copy. */
export function envToRestore(state: RevisionState): { key: string; type: "as-is" | "secret"; value: string }[] {
	return state.env.map(e => ({ key: e.key, type: e.type, value: e.type === "secret" ? (state.secrets[e.key] ?? "") : e.value }));
}

/** The deployment changes that put its spec back to `spec`: every spec field, those it lacks cleared (`undefined`). */
export function restoreChanges(spec: Record<string, unknown>): Record<string, unknown> {
	return Object.fromEntries(SPEC_FIELDS.map(f => [f, spec[f] ?? undefined]));
}
