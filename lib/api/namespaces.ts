/**
 * The contract of v1.k8s.namespaces (docs/api/namespaces.md): the entity, the params of its
 * actions with their validator rules, and the views it answers.
 */
import { DNS1123_LABEL, idRule } from "./rules";
import { MEMBER_ROLES, type MemberGrant, type NamespaceRole } from "../namespaces/roles";

export type { MemberGrant, MemberRole, NamespaceRole } from "../namespaces/roles";

/** A namespace's limits. cpu, memory and storage are Kubernetes quantities; pods and gpu counts. */
export interface NamespaceQuota {
	cpu: string;
	memory: string;
	storage: string;
	pods: number;
	gpu: number;
}

/** What `v1.k8s.namespaces.lookup` and `.resolveName` answer to other services (docs/api/namespaces.md). */
export interface NamespaceRef {
	id: string;
	name: string;
	owner: string;
	members: string[];
	/** Each member's role (lib/namespaces/roles.ts); a member without an entry has the default role, `edit`. */
	memberRoles?: MemberGrant[];
	/** The Namespace's uid in the cluster (null until it is made); what entities made in it are bound to. */
	uid?: string | null;
	/**
	 * Domains an admin granted (lib/namespaces/domains.ts): its hosts may be these and the names under
	 * them, besides `<name>.<BASE_DOMAIN>` and its subdomains. Absent: none.
	 */
	domains?: string[];
}

/** What `v1.k8s.namespaces.access` answers: the caller's role in one namespace. */
export interface NamespaceAccess {
	id: string;
	name: string;
	uid: string | null;
	role: NamespaceRole;
}

/** What `v1.k8s.namespaces.resourcequota` answers: the ResourceQuota's hard limits and usage. */
export interface QuotaReport {
	hard?: Record<string, string>;
	used?: Record<string, string>;
}

/** holdAdmission and releaseAdmission (mesh-only): the namespace entity's id and the caller's token for its hold. */
export interface AdmissionParams {
	id: string;
	holder: string;
}

/** What `v1.k8s.namespaces.holdAdmission` answers: the hold (until: ms since the epoch) and the quota read under it (null: none). */
export interface AdmissionHold {
	holder: string;
	until: number;
	quota: QuotaReport | null;
}

/** A tenant's namespace. `name` is also the Kubernetes Namespace's name. */
export interface NamespaceEntity extends NamespaceRef {
	/** null only for the cluster's `default` namespace, which Berth holds without a quota (lib/namespaces/held.ts). */
	quota: NamespaceQuota | null;
	/** Kubernetes' phase (Active, Terminating), "Pending" before the first apply, "Missing" when gone from the cluster. */
	phase: string;
	uid: string | null;
	/** Set when an admin adopted a Namespace Berth had not made (POST /api/v1/k8s/namespaces/adopt): when. */
	adoptedAt?: string;
	createdAt: string;
	updatedAt: string;
}

export type QuotaInput = Partial<Record<"cpu" | "memory" | "storage", string | number>> & Partial<Record<"pods" | "gpu", number>>;

export interface CreateNamespaceParams {
	name: string;
	quota?: QuotaInput;
}
/** adopt: an external Namespace into Berth, with the user who owns it from now on (admins only). */
export interface AdoptNamespaceParams {
	name: string;
	owner: string;
	quota?: QuotaInput;
}
export interface UpdateNamespaceParams {
	id: string;
	quota?: QuotaInput;
}
export interface NameParams {
	name: string;
}
export interface LookupParams {
	ref: string;
	/** The role the caller needs in it (default `view`). */
	need?: NamespaceRole;
}
/** grantDomain and revokeDomain: the namespace and one domain (`shop.example`, `*.shop.example`). */
export interface DomainParams {
	id: string;
	domain: string;
}
export interface AccessParams {
	/** Namespace ids; none: every namespace the caller has a role in. */
	ids?: string[];
}

export interface NamespaceStatus {
	id: string;
	name: string;
	exists: boolean;
	phase: string;
	uid: string | null;
	conditions: { type: string; status: string; reason?: string; message?: string }[];
}
export interface ResourceQuotaReport {
	hard: Record<string, string>;
	used: Record<string, string>;
}
export interface Availability {
	name: string;
	available: boolean;
	reason?: string;
}

const quantityRule = { type: "multi", optional: true, rules: [{ type: "string", min: 1, max: 32, trim: true }, { type: "number", positive: true }] };

/** A quota asked for: quantities are checked further by lib/namespaces/checks.ts's `resolveQuota`. */
export const quotaRule = {
	type: "object",
	optional: true,
	strict: true,
	props: {
		cpu: quantityRule,
		memory: quantityRule,
		storage: quantityRule,
		pods: { type: "number", integer: true, min: 1, max: 10_000, convert: true, optional: true },
		gpu: { type: "number", integer: true, min: 0, max: 64, convert: true, optional: true },
	},
};

/** The message of a name that is not an RFC 1123 label (volumes' names use it too). */
export const LABEL_MESSAGE = "The '{field}' field must be an RFC 1123 label: lower-case letters, digits and '-', starting and ending with a letter or digit.";
export const nameRule = { type: "string", pattern: DNS1123_LABEL, min: 1, max: 63, messages: { stringPattern: LABEL_MESSAGE } };

export const createNamespaceParams = { name: nameRule, quota: quotaRule };
export const updateNamespaceParams = { id: idRule, quota: quotaRule };
export const adoptNamespaceParams = { name: nameRule, owner: { type: "string", min: 1, max: 128 }, quota: quotaRule };
export const idParams = { id: idRule };
/** The domain's form is checked by lib/namespaces/domains.ts's grantErrors (422 on `domain`). */
export const domainParams = { id: idRule, domain: { type: "string", min: 1, max: 253, trim: true, lowercase: true } };
const needRule = { type: "enum", values: ["owner", ...MEMBER_ROLES], optional: true };
export const lookupParams = { ref: { type: "string", min: 1, max: 64 }, need: needRule };
export const accessParams = { ids: { type: "array", items: "string", max: 1000, optional: true } };
export const admissionParams = { id: idRule, holder: { type: "string", min: 1, max: 64 } };
/** resolveName: any stored name (no pattern: a miss is a 404, not a 422). */
export const resolveNameParams = { name: { type: "string", min: 1, max: 63 } };
/** available: any string, so an invalid name is answered with its reason rather than refused. */
export const availableParams = { name: { type: "string", min: 1, max: 253 } };
