/**
 * The contract of v1.keys (docs/api/keys.md): a key as listed (never its material), the params of
 * its actions with their validator rules, and the identity the gateway learns from a key.
 */
import type { KeyIdentity } from "../keys";
import { DNS1123_LABEL, idRule, userRule } from "./rules";

export interface KeyEntity {
	id: string;
	name: string;
	userID: string;
	roles: string[];
	namespaces?: string[];
	expiresAt?: string;
	revokedAt?: string;
	prefix: string;
	createdAt: string;
	updatedAt?: string;
}

/** What the gateway learns from a valid key. */
export type Identity = KeyIdentity;

export interface CreateKeyParams {
	name: string;
	roles?: string[];
	namespaces?: string[];
	expiresAt?: string;
	userID?: string;
}

export const ROLES = ["admin", "user"];

export const createKeyParams = {
	name: { type: "string", min: 1, max: 100, trim: true },
	roles: { type: "array", items: { type: "enum", values: ROLES }, optional: true, max: 5 },
	// At least one name: an empty list would read as "not confined".
	namespaces: { type: "array", items: { type: "string", pattern: DNS1123_LABEL, max: 63 }, optional: true, min: 1, max: 100, unique: true },
	expiresAt: { type: "date", convert: true, optional: true },
	userID: { ...userRule, optional: true },
};
export const keyIdParams = { id: idRule };
/** authenticate: the key as presented. */
export const authenticateParams = { key: { type: "string", min: 1, max: 512 } };
