/**
 * The names a service's objects take in its namespace: one given out at creation that nothing else
 * uses, and, at each deploy, a refusal to take over an object of that name that is not ours.
 */
import { randomBytes } from "node:crypto";
import type { SpecObject } from "../api/services";
import { conflict } from "../errors";
import { Kinds, type KubeClient } from "../k8s";
import { checkHolders, clusterLookup } from "../ownership";

/**
 * A DNS-1035 label from free text ("My NGINX Service" → "my-nginx-service"), short enough that
 * the claims' and pods' names derived from it stay valid.
 */
export function slugOf(name: string): string {
	const slug = name
		.normalize("NFKD")
		.replace(/[\u0300-\u036f]/g, "")
		.toLowerCase()
		.replace(/[^a-z0-9]+/g, "-")
		.replace(/^-+|-+$/g, "")
		.slice(0, 40)
		.replace(/-+$/, "");
	return /^[a-z]/.test(slug) ? slug : `svc${slug ? `-${slug}` : ""}`;
}

function randomSuffix(): string {
	const alphabet = "abcdefghijklmnopqrstuvwxyz0123456789";
	return Array.from(randomBytes(5), b => alphabet[b % alphabet.length]).join("");
}

export interface NameAllocation {
	kube: KubeClient;
	/** Names (`<namespace id>/<name>`) being handed out in this node: NeDB has no compound unique index. */
	creating: Set<string>;
	/** Whether another stored service of the namespace has the name. */
	stored(name: string): Promise<boolean>;
}

/**
 * A name for the generated objects: the entity's name as a DNS label, unless another service of
 * this namespace has it or an object of that name exists (a v1.k8s.deployments one, say); then
 * with a random suffix. The name stays reserved in `creating` until the caller releases it.
 */
export async function allocateResourceName(deps: NameAllocation, ns: { id: string; name: string }, name: string): Promise<string> {
	const base = slugOf(name);
	for (let attempt = 0; attempt < 8; attempt++) {
		const candidate = attempt === 0 ? base : `${base}-${randomSuffix()}`;
		const lock = `${ns.id}/${candidate}`;
		if (deps.creating.has(lock)) continue;
		// Reserved before the lookups, so two creates in this node cannot both pick it.
		deps.creating.add(lock);
		const stored = await deps.stored(candidate);
		const existing = await Promise.all([Kinds.Deployment, Kinds.Service, Kinds.Ingress].map(k => deps.kube.get({ apiVersion: k.apiVersion, kind: k.kind, name: candidate, namespace: ns.name })));
		if (!stored && !existing.some(Boolean)) return candidate;
		deps.creating.delete(lock);
	}
	throw conflict(`No free object name for "${name}" in namespace "${ns.name}"; choose another name`, { name });
}

/** Server-side apply would take over an object of the same name that is not ours: refuse instead (409, heldError). */
export async function checkOwnership(kube: KubeClient, manifests: SpecObject[]): Promise<void> {
	await checkHolders(clusterLookup(kube), manifests);
}
