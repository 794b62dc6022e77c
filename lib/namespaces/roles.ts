/**
 * Roles on a namespace, the one source of access to it and to everything in it:
 *
 * - `owner`: everything, including transfer and delete of the namespace;
 * - `admin`: members and quota, and all that `edit` may;
 * - `edit`: create, change and delete what the namespace holds;
 * - `view`: read (secret values are never returned to anyone).
 *
 * A namespace stores `members` (who) and `memberRoles` (each member's role). A member without an
 * entry in `memberRoles` (stored before roles existed, or added through the seed's
 * `addMember({id, member})`) has the default role, `edit`. Pure.
 */
export const MEMBER_ROLES = ["admin", "edit", "view"] as const;
export type MemberRole = (typeof MEMBER_ROLES)[number];
export type NamespaceRole = "owner" | MemberRole;

/** The role of a member added without one (the seed's addMember). */
export const DEFAULT_MEMBER_ROLE: MemberRole = "edit";

export interface MemberGrant {
	member: string;
	role: MemberRole;
}

/** What a namespace entity says about who may do what in it. */
export interface Membership {
	owner: string;
	members?: string[];
	memberRoles?: MemberGrant[];
}

const RANK: Record<NamespaceRole, number> = { view: 1, edit: 2, admin: 3, owner: 4 };

/** Whether `role` includes what `need` asks for. */
export function allows(role: NamespaceRole | undefined, need: NamespaceRole): boolean {
	return role !== undefined && RANK[role] >= RANK[need];
}

/** The user's role in the namespace, or undefined if they have none. */
export function roleIn(ns: Membership, user: string | undefined): NamespaceRole | undefined {
	if (!user) return undefined;
	if (ns.owner === user) return "owner";
	if (!ns.members?.includes(user)) return undefined;
	return ns.memberRoles?.find(g => g.member === user)?.role ?? DEFAULT_MEMBER_ROLE;
}

/** The membership after adding (or re-adding with another role) `member`; the owner is never a member. */
export function withMember(ns: Membership, member: string, role: MemberRole = DEFAULT_MEMBER_ROLE): Required<Pick<Membership, "members" | "memberRoles">> {
	if (member === ns.owner) return { members: ns.members ?? [], memberRoles: ns.memberRoles ?? [] };
	return {
		members: Array.from(new Set([...(ns.members ?? []), member])),
		memberRoles: [...(ns.memberRoles ?? []).filter(g => g.member !== member), { member, role }],
	};
}

/** The membership without `member`. */
export function withoutMember(ns: Membership, member: string): Required<Pick<Membership, "members" | "memberRoles">> {
	return { members: (ns.members ?? []).filter(m => m !== member), memberRoles: (ns.memberRoles ?? []).filter(g => g.member !== member) };
}

/** The membership after handing the namespace to `owner`: the old owner stays, as an admin. */
export function withOwner(ns: Membership, owner: string): Required<Membership> {
	const rest = withoutMember(ns, owner);
	const kept = ns.owner ? withMember({ ...rest, owner }, ns.owner, "admin") : rest;
	return { owner, ...kept };
}

/** Each namespace the caller has a role in, with that role (`roleOf` decides it, confinement included). */
export function grantsOf<D extends Record<string, unknown>>(docs: D[], roleOf: (doc: D) => NamespaceRole | undefined): { id: string; name: string; uid: string | null; role: NamespaceRole }[] {
	return docs.flatMap(doc => {
		const role = roleOf(doc);
		return role ? [{ id: String(doc.id), name: String(doc.name), uid: (doc.uid as string | null | undefined) ?? null, role }] : [];
	});
}
