import { randomBytes } from "node:crypto";
import { kube, uniqueName } from "../helpers/cluster";
import { backends, dropStore, useStore } from "../helpers/backends";
import { eventually } from "../helpers/eventually";
import { createNamespace, request, startMesh, type HttpResult, type Mesh } from "../helpers/mesh";
import { addMember, issueKey, removeMember } from "../helpers/access";
import { legacyDeployment, legacyServer } from "../helpers/legacy";
import { BodyMaker, callOp, creatorsOf, dnsName, makeEntities, makeOne, opName, operationsOf, queryFor, specFixtures, type Created, type Operation } from "../helpers/openapi-ops";
import { setEnv } from "./applications.fixtures";

/**
 * The access matrix (issue #18): every operation of /api/openapi.json, called through the gateway
 * by each of nine callers, on both DB backends. The callers stand in one relation each to a
 * namespace N and what it holds (made by N's owner), and to what the owner made for themself
 * (an application instance, an API key, a /jobs job). Each cell is the outcome the rules below
 * give; no denied answer carries anything of the entities beyond what the caller sent, and no
 * list shows them to a caller without a role.
 */

const ACTORS = ["owner", "admin", "edit", "view", "removed", "non-member", "confined in", "confined out", "platform admin"] as const;
type Actor = (typeof ACTORS)[number];
type Role = "owner" | "admin" | "edit" | "view";
type Outcome = "2xx" | "403" | "404" | "422" | "501";
/** N and what it holds, or what N's owner made for themself outside any tenant namespace. */
type Target = "namespace" | "owners";

/** An image entry as a catalog file gives it, under a fresh name. */
const catalogEntry = (): Record<string, unknown> => {
	const name = dnsName();
	return { name, namespace: "library", tag: "1.0", image: `ghcr.io/matrix/${name}:1.0`, registry: "ghcr.io", repository: `matrix/${name}`, description: "An image of the access matrix", imagePullPolicy: "IfNotPresent", imagePullSecrets: [], ports: [], env: [], volumes: [], resources: { limits: { cpu: 100, memory: 64 }, requests: { cpu: 10, memory: 16 } } };
};

const RANK: Record<Role, number> = { view: 1, edit: 2, admin: 3, owner: 4 };

/** Each caller's role on each target. */
const ROLES: Record<Actor, Record<Target, Role | undefined>> = {
	owner: { namespace: "owner", owners: "owner" },
	admin: { namespace: "admin", owners: undefined },
	edit: { namespace: "edit", owners: undefined },
	view: { namespace: "view", owners: undefined },
	// Was an edit member until removed.
	removed: { namespace: undefined, owners: undefined },
	"non-member": { namespace: undefined, owners: undefined },
	// The owner's key confined to N: the owner there; Berth's own namespaces (applications, /jobs) are outside it.
	"confined in": { namespace: "owner", owners: undefined },
	// The owner's key confined to another namespace of theirs.
	"confined out": { namespace: undefined, owners: undefined },
	// The mesh's admin key (roles admin, not confined).
	"platform admin": { namespace: "owner", owners: "owner" },
};

interface Rule {
	/** What the call is about and the role it needs; no `on`: the caller's own things, or nobody's. */
	on?: Target;
	need?: Role;
	/** The outcome for a caller without a role (404: like a missing entity; 422 where the body or query names the target). */
	none?: Outcome;
	/** The outcome for a role below `need` (403). */
	small?: Outcome;
	/** The outcome for a role that is enough (2xx). */
	ok?: Outcome;
	/** The answer contains the target's id exactly when the caller's role meets `need` (lists; what a clean removed). */
	shows?: true;
	/** A platform administrator's only: 403 for everyone else (with `on`: 404 for those without a role on it). */
	platform?: true;
	/** Acts in a namespace the caller's confined key does not include: 403 for confined keys. */
	confinedRefused?: true;
	/**
	 * Takes the target away: 1 an entity in N, 2 N itself, 3 every namespace of the caller's, 4 the
	 * catalog. Runs after the rest, in that order, with a fresh target for each caller whose role meets `need`.
	 */
	destroys?: 1 | 2 | 3 | 4;
	/** Where a fresh target comes from when the route has no {id} (a create route's path). */
	freshFrom?: string;
	/** Who makes the fresh target, with a catalog entry's body (the owner, from the schema, unless said: a shared catalog entry is a platform admin's). */
	freshAs?: Actor;
}

const open: Rule = {};
const read: Rule = { on: "namespace", need: "view" };
const edit: Rule = { on: "namespace", need: "edit" };
const manage: Rule = { on: "namespace", need: "admin" };
/** The body or query names N (a list's filter, a create's `namespace`). */
const naming = (need: Role, none: Outcome, extra: Rule = {}): Rule => ({ on: "namespace", need, none, ...extra });
const ownersOnly: Rule = { on: "owners", need: "view" };
/** A platform admin's action on N (its domain grants): N's members hear 403, anyone else 404. */
const platformOn: Rule = { on: "namespace", need: "owner", platform: true };
/** A child's members are its namespace's: who may manage members hears where to add them (422 type membership). */
const childMembers: Rule = { on: "namespace", need: "admin", ok: "422" };
/** Everyone lists; the target is in the answer for callers with a role on it. */
const listing = (on: Target): Rule => ({ on, need: "view", none: "2xx", shows: true });

const RULES: Record<string, Rule> = {
	"GET /": open,
	"GET /api/openapi.json": open,
	"GET /health/live": open,
	"GET /health/ready": open,
	"GET /health/serving": open,
	// Counts only, no names (leadership terms, apiserver requests): what the fault suite reads.
	"GET /health/metrics": open,
	// Its `namespace` filter names N: the owner and admins read its trail (without a filter, anyone
	// gets the records of the namespaces they own or administer).
	"GET /api/v1/audit": naming("admin", "404"),

	"GET /api/v1/k8s/applications": listing("owners"),
	"POST /api/v1/k8s/applications": { confinedRefused: true },
	"DELETE /api/v1/k8s/applications/{id}": { ...ownersOnly, destroys: 1 },
	"GET /api/v1/k8s/applications/{id}": ownersOnly,
	"POST /api/v1/k8s/applications/{id}/keepalive": ownersOnly,
	"GET /api/v1/k8s/applications/templates": open,
	"GET /api/v1/k8s/applications/templates/{name}": open,
	"POST /applications": { confinedRefused: true },
	"GET /applications/{template}": listing("owners"),
	"POST /applications/{template}": { confinedRefused: true },
	"GET /applications/{template}/{id}": ownersOnly,
	"POST /applications/{template}/{id}/keepalive": ownersOnly,

	"GET /api/v1/k8s/deployments": naming("view", "422", { shows: true }),
	"POST /api/v1/k8s/deployments": naming("edit", "422"),
	"POST /api/v1/k8s/deployments/createDeployment": naming("edit", "422"),
	"POST /api/v1/k8s/deployments/generate": naming("edit", "422"),
	"DELETE /api/v1/k8s/deployments/{id}": { ...edit, destroys: 1 },
	"GET /api/v1/k8s/deployments/{id}": read,
	"PATCH /api/v1/k8s/deployments/{id}": edit,
	"PUT /api/v1/k8s/deployments/{id}": edit,
	"POST /api/v1/k8s/deployments/{id}/apply": edit,
	"GET /api/v1/k8s/deployments/{id}/events": read,
	"GET /api/v1/k8s/deployments/{id}/logs": read,
	"GET /api/v1/k8s/deployments/{id}/manifests": read,
	"POST /api/v1/k8s/deployments/{id}/members": childMembers,
	"DELETE /api/v1/k8s/deployments/{id}/members/{member}": childMembers,
	"GET /api/v1/k8s/deployments/{id}/pods": read,
	"POST /api/v1/k8s/deployments/{id}/restart": edit,
	"GET /api/v1/k8s/deployments/{id}/revisions": read,
	// Revision 1 (the body's smallest) is the create's: its env set again, so envs made since are removed.
	"POST /api/v1/k8s/deployments/{id}/rollback": { ...edit, destroys: 1 },
	"POST /api/v1/k8s/deployments/{id}/scale": edit,
	"GET /api/v1/k8s/deployments/{id}/state": read,
	"GET /api/v1/k8s/deployments/{id}/status": read,
	// The local control plane has no metrics API: who may read gets the 501 that says so.
	"GET /api/v1/k8s/deployments/{id}/top": { ...read, ok: "501" },
	// Transfer records a new `owner` (who made it); access stays the namespace's.
	"POST /api/v1/k8s/deployments/{id}/transfer": manage,

	"GET /api/v1/k8s/envs": naming("view", "422", { shows: true }),
	"POST /api/v1/k8s/envs": naming("edit", "422"),
	"DELETE /api/v1/k8s/envs/{id}": { ...edit, destroys: 1 },
	"GET /api/v1/k8s/envs/{id}": read,
	"PATCH /api/v1/k8s/envs/{id}": edit,
	"PUT /api/v1/k8s/envs/{id}": edit,
	"POST /api/v1/k8s/envs/clean": naming("edit", "422", { destroys: 1, freshFrom: "/api/v1/k8s/envs" }),
	"POST /api/v1/k8s/envs/from-image": naming("edit", "422"),
	"GET /api/v1/k8s/envs/pack": naming("view", "422"),
	"POST /api/v1/k8s/envs/patch": naming("edit", "422"),
	"POST /api/v1/k8s/envs/repatch": naming("edit", "422"),
	"GET /api/v1/k8s/envs/resolve": naming("view", "422"),

	"GET /api/v1/k8s/images": open,
	"GET /api/v1/k8s/images/{id}": open,
	"GET /api/v1/k8s/images/name/{name}": open,
	// The image is the route's resource; the namespace is named in the body, and an unknown one is the lookup's 404.
	"POST /api/v1/k8s/images/{id}/deploy": naming("edit", "404"),
	// A namespace's own image (the body names N in namespaceId); the shared catalog's entries are the platform's.
	"POST /api/v1/k8s/images": naming("edit", "422"),
	"PATCH /api/v1/k8s/images/{id}": { platform: true },
	"PUT /api/v1/k8s/images/{id}": { platform: true },
	"DELETE /api/v1/k8s/images/{id}": { platform: true, destroys: 1, freshAs: "platform admin" },
	"POST /api/v1/k8s/images/load": { platform: true },
	"POST /api/v1/k8s/images/clean": { platform: true, destroys: 4 },

	"GET /api/v1/k8s/inventory": open,
	"GET /api/v1/k8s/inventory/{kind}": naming("view", "404", { shows: true }),
	"GET /api/v1/k8s/inventory/{kind}/{namespace}/{name}": read,
	"GET /api/v1/k8s/inventory/namespaces/{name}": read,
	// Its `namespace` query names N.
	"GET /api/v1/k8s/inventory/tree": naming("view", "404"),
	// Adoption replaces a Deployment nobody in Berth made: it needs N's admin role (a dry run here).
	"POST /api/v1/k8s/inventory/adopt": naming("admin", "404"),

	"GET /api/v1/k8s/builds": naming("view", "404", { shows: true }),
	"POST /api/v1/k8s/builds": naming("edit", "404"),
	"POST /api/v1/k8s/images/build": naming("edit", "404"),
	"GET /api/v1/k8s/builds/{id}": read,
	"GET /api/v1/k8s/builds/{id}/logs": read,
	"GET /api/v1/k8s/jobs": naming("view", "404", { shows: true }),
	"POST /api/v1/k8s/jobs": naming("edit", "404"),
	"DELETE /api/v1/k8s/jobs/{id}": { ...edit, destroys: 1 },
	"GET /api/v1/k8s/jobs/{id}": read,
	"GET /api/v1/k8s/jobs/{id}/logs": read,
	"GET /api/v1/k8s/jobs/{id}/status": read,
	"GET /api/v1/k8s/cronjobs": naming("view", "404", { shows: true }),
	"POST /api/v1/k8s/cronjobs": naming("edit", "404"),
	"DELETE /api/v1/k8s/cronjobs/{id}": { ...edit, destroys: 1 },
	"GET /api/v1/k8s/cronjobs/{id}": read,
	"GET /api/v1/k8s/cronjobs/{id}/runs": read,
	// The run "x" does not exist: who may see the cronjob hears that the run is missing, anyone else that the cronjob is.
	"GET /api/v1/k8s/cronjobs/{id}/runs/{run}/logs": { ...read, ok: "404" },
	"POST /api/v1/k8s/cronjobs/{id}/suspend": edit,
	"POST /api/v1/k8s/cronjobs/{id}/resume": edit,
	"POST /api/v1/k8s/cronjobs/{id}/trigger": edit,
	"GET /jobs": listing("owners"),
	"POST /jobs": { confinedRefused: true },
	"GET /jobs/{job}": ownersOnly,
	"GET /jobs/{job}/logs": ownersOnly,
	"GET /jobs/{job}/status": ownersOnly,

	"GET /api/v1/k8s/namespaces": listing("namespace"),
	"POST /api/v1/k8s/namespaces": { confinedRefused: true },
	"DELETE /api/v1/k8s/namespaces/{id}": { on: "namespace", need: "owner", destroys: 2 },
	"GET /api/v1/k8s/namespaces/{id}": read,
	"PUT /api/v1/k8s/namespaces/{id}": manage,
	"POST /api/v1/k8s/namespaces/{id}/members": manage,
	"DELETE /api/v1/k8s/namespaces/{id}/members/{member}": manage,
	"GET /api/v1/k8s/namespaces/{id}/resourcequota": read,
	"GET /api/v1/k8s/namespaces/{id}/status": read,
	"POST /api/v1/k8s/namespaces/{id}/domains": platformOn,
	"DELETE /api/v1/k8s/namespaces/{id}/domains/{domain}": platformOn,
	"POST /api/v1/k8s/namespaces/{id}/transfer": { on: "namespace", need: "owner", destroys: 2 },
	"GET /api/v1/k8s/namespaces/available/{name}": open,
	// The body names a namespace made outside Berth (named.external): only a platform admin adopts it.
	"POST /api/v1/k8s/namespaces/adopt": { platform: true },
	// Everyone may clean their own; N goes only for its owner.
	"POST /api/v1/k8s/namespaces/clean": { on: "namespace", need: "owner", none: "2xx", small: "2xx", shows: true, destroys: 3 },

	"GET /api/v1/k8s/services": naming("view", "422", { shows: true }),
	"POST /api/v1/k8s/services": naming("edit", "422"),
	"DELETE /api/v1/k8s/services/{id}": { ...edit, destroys: 1 },
	"GET /api/v1/k8s/services/{id}": read,
	"PATCH /api/v1/k8s/services/{id}": edit,
	"PUT /api/v1/k8s/services/{id}": edit,
	"POST /api/v1/k8s/services/{id}/deploy": edit,
	"GET /api/v1/k8s/services/{id}/manifests": read,
	"GET /api/v1/k8s/services/{id}/status": read,
	"POST /api/v1/k8s/services/{id}/undeploy": edit,
	"POST /api/v1/k8s/services/validate": open,
	"PUT /kubernetes/services/{id}/deploy": edit,
	"GET /kubernetes/services/{id}": read,
	"DELETE /kubernetes/services/{id}": edit,

	"GET /api/v1/k8s/volumes": naming("view", "404", { shows: true }),
	"POST /api/v1/k8s/volumes": naming("edit", "404"),
	"DELETE /api/v1/k8s/volumes/{id}": { ...edit, destroys: 1 },
	"GET /api/v1/k8s/volumes/{id}": read,
	"POST /api/v1/k8s/volumes/{id}/members": childMembers,
	"DELETE /api/v1/k8s/volumes/{id}/members/{member}": childMembers,
	"POST /api/v1/k8s/volumes/{id}/transfer": manage,

	"GET /api/v1/k8s/configmaps": naming("view", "404", { shows: true }),
	"POST /api/v1/k8s/configmaps": naming("edit", "404"),
	"DELETE /api/v1/k8s/configmaps/{id}": { ...edit, destroys: 1 },
	"GET /api/v1/k8s/configmaps/{id}": read,
	"PATCH /api/v1/k8s/configmaps/{id}": edit,
	"PUT /api/v1/k8s/configmaps/{id}": edit,
	"POST /api/v1/k8s/configmaps/{id}/members": childMembers,
	"DELETE /api/v1/k8s/configmaps/{id}/members/{member}": childMembers,
	"POST /api/v1/k8s/configmaps/{id}/transfer": manage,

	"GET /api/v1/k8s/secrets": naming("view", "404", { shows: true }),
	"POST /api/v1/k8s/secrets": naming("edit", "404"),
	"DELETE /api/v1/k8s/secrets/{id}": { ...edit, destroys: 1 },
	"GET /api/v1/k8s/secrets/{id}": read,
	"PATCH /api/v1/k8s/secrets/{id}": edit,
	"PUT /api/v1/k8s/secrets/{id}": edit,
	"POST /api/v1/k8s/secrets/{id}/members": childMembers,
	"DELETE /api/v1/k8s/secrets/{id}/members/{member}": childMembers,
	"POST /api/v1/k8s/secrets/{id}/transfer": manage,

	"GET /api/v1/keys": listing("owners"),
	"POST /api/v1/keys": open,
	"DELETE /api/v1/keys/{id}": { ...ownersOnly, destroys: 1 },
	"GET /api/v1/keys/{id}": ownersOnly,
};

function expected(rule: Rule, actor: Actor): Outcome {
	if (rule.platform) return actor === "platform admin" ? "2xx" : rule.on && !ROLES[actor][rule.on] ? "404" : "403";
	if (rule.confinedRefused && actor.startsWith("confined")) return "403";
	if (!rule.on || !rule.need) return "2xx";
	const role = ROLES[actor][rule.on];
	if (!role) return rule.none ?? "404";
	if (RANK[role] < RANK[rule.need]) return rule.small ?? "403";
	return rule.ok ?? "2xx";
}

/** Whether the caller's role meets the rule's need: it sees the target in a `shows` answer, and a destroying call takes it away. */
function meetsNeed(rule: Rule, actor: Actor): boolean {
	if (rule.platform) return actor === "platform admin";
	const role = rule.on && ROLES[actor][rule.on];
	return Boolean(role && rule.need && RANK[role] >= RANK[rule.need]);
}

const outcomeOf = (status: number): string => (status >= 200 && status < 300 ? "2xx" : String(status));

/** The create route's path that makes a collection's entities: the seed's root routes are Berth's own collections. */
const ALIASES: Record<string, string> = { "/kubernetes/services": "/api/v1/k8s/services", "/applications": "/api/v1/k8s/applications" };
const collectionOf = (op: Operation): string => ALIASES[op.collection] ?? op.collection;

/** Enough room in N for every create the matrix makes. */
const QUOTA = { cpu: "64", memory: "64Gi", storage: "200Gi", pods: 500 };
const SPEC = String(specFixtures["/api/v1/k8s/services"].deployment);

describe.each(backends("berth_it_matrix"))("access matrix over every operation, on %s", (backend, pickMongo) => {
	const secret = `s3cr3t-${randomBytes(8).toString("hex")}`;
	const users = { owner: uniqueName("owner"), admin: uniqueName("nsadmin"), edit: uniqueName("editor"), view: uniqueName("viewer"), removed: uniqueName("removed"), stranger: uniqueName("stranger") };
	const compatNs = uniqueName("it-matrix-orch");
	const grantedDomain = `${uniqueName("granted")}.matrix.test`;
	const appsNs = uniqueName("it-matrix-apps");
	let restoreEnv: () => void;
	let uri: string | undefined;
	let mesh: Mesh;
	let ops: Operation[];
	const keys = {} as Record<Exclude<Actor, "confined in" | "platform admin">, string>;
	/** N, and the owner's key confined to it. */
	interface World {
		ns: { id: string; name: string };
		confinedIn: string;
	}
	let world: World;
	/** Entity ids by collection (the create route's path), and the names routes take. */
	const ids = new Map<string, string>();
	let refs: Map<string, string>;
	const named = { deployment: "", envKey: "", compatJob: "", template: "", image: "", legacy: "legacy", external: uniqueName("it-matrix-ext") };
	/** Distinctive values of the entities, by target: what no denied answer may carry. */
	const values: Record<Target, Set<string>> = { namespace: new Set(), owners: new Set() };
	/** What no answer carries, whoever asks: the secret env value and key material. */
	const never: string[] = [];
	const wrong: string[] = [];
	const counts = new Map<Actor, Map<string, number>>();

	const keyOf = (actor: Actor, w: World): string => (actor === "confined in" ? w.confinedIn : actor === "platform admin" ? mesh.adminKey : keys[actor]);
	const envKey = () => `K_${randomBytes(4).toString("hex").toUpperCase()}`;
	const bodies = (extra: Map<string, string> = new Map()) => new BodyMaker(new Map([...refs, ...extra]), secret, { optionalRefs: true, names: { key: envKey, owner: () => uniqueName("heir"), member: () => uniqueName("someone"), domain: () => `${uniqueName("d")}.matrix.test` } });

	/** A namespace of the owner's with the members of the matrix, and a key of the owner's confined to it. */
	async function makeWorld(): Promise<World> {
		const ns = await createNamespace(mesh, keys.owner, uniqueName("it-matrix"), QUOTA);
		for (const role of ["admin", "edit", "view"] as const) await addMember(mesh, keys.owner, ns.id, users[role], role);
		await addMember(mesh, keys.owner, ns.id, users.removed, "edit");
		await removeMember(mesh, keys.owner, ns.id, users.removed);
		// A domain granted to N: what the revoke route takes away.
		expect((await request(`${mesh.url}/api/v1/k8s/namespaces/${ns.id}/domains`, { method: "POST", key: mesh.adminKey, body: { domain: grantedDomain } })).status).toBe(200);
		return { ns, confinedIn: (await issueKey(mesh, users.owner, [ns.name])).key };
	}

	/**
	 * The strings of an entity that tell it apart (ids, names, keys, users: they carry random parts),
	 * except what the catalog, the document or Berth's own namespaces also say. Times are left out: another entity may share one.
	 */
	function remember(target: Target, entity: unknown, common: string): void {
		const distinctive = (v: string) => v.length >= 6 && /\d/.test(v) && !/^\d+$/.test(v) && !/^\d{4}-\d\d-\d\dT/.test(v) && !common.includes(v);
		const walk = (v: unknown): void => {
			if (typeof v === "string" && distinctive(v)) values[target].add(v);
			else if (Array.isArray(v)) v.forEach(walk);
			else if (v && typeof v === "object") Object.values(v).forEach(walk);
		};
		walk(entity);
	}

	beforeAll(async () => {
		uri = pickMongo();
		useStore(uri);
		restoreEnv = setEnv({ BUILD_REGISTRY: "registry.example:5000", JOBS_COMPAT_NAMESPACE: compatNs, APPS_NAMESPACE: appsNs, APPS_MAX_PER_OWNER: "50", APPS_QUOTA_CPU: "64", APPS_QUOTA_MEMORY: "64Gi", APPS_QUOTA_PODS: "500", RATE_LIMIT: "1000000" });
		mesh = await startMesh([]);
		const doc = (await request(`${mesh.url}/api/openapi.json`)).body;
		ops = operationsOf(doc);
		for (const [actor, user] of [["owner", users.owner], ["admin", users.admin], ["edit", users.edit], ["view", users.view], ["removed", users.removed], ["non-member", users.stranger]] as const) keys[actor] = (await issueKey(mesh, user)).key;
		const elsewhere = await createNamespace(mesh, keys.owner, uniqueName("it-matrix-m"));
		keys["confined out"] = (await issueKey(mesh, users.owner, [elsewhere.name])).key;
		world = await makeWorld();

		// What N's owner makes: one entity of every collection in N, and an instance, a key and a /jobs job of their own.
		const images = (await request(`${mesh.url}/api/v1/k8s/images`, { key: keys.owner })).body as { id: string; name: string }[];
		const nginx = images.find(i => i.name === "nginx") ?? images[0];
		named.image = nginx.name;
		const made = await makeEntities(mesh.url, ops, keys.owner, secret, { refs: new Map([["namespace", world.ns.id], ["image", nginx.id]]), skip: ["/api/v1/k8s/namespaces", "/jobs", "/api/v1/k8s/images"], body: { names: { key: envKey } } });
		expect(made.failures).toEqual([]);
		refs = made.refs;
		for (const c of made.created) ids.set(c.collection, c.id);
		ids.set("/api/v1/k8s/namespaces", world.ns.id);
		ids.set("/api/v1/k8s/images", nginx.id);
		const entity = (collection: string) => made.created.find(c => c.collection === collection) as Created;
		named.deployment = String(entity("/api/v1/k8s/deployments").entity.name);
		named.envKey = String(entity("/api/v1/k8s/envs").entity.key);
		const templates = (await request(`${mesh.url}/api/v1/k8s/applications/templates`, { key: keys.owner })).body as { id: string; name: string }[];
		named.template = String(templates.find(t => t.id === refs.get("template"))?.name);
		const compat = await request(`${mesh.url}/jobs`, { method: "POST", key: keys.owner, body: { cmd: "true" } });
		expect(compat.status).toBeLessThan(300);
		named.compatJob = compat.body.metadata.name;
		await kube().apply(legacyDeployment({ metadata: { namespace: world.ns.name }, replicas: 1, pod: { containers: [legacyServer()] } }));
		await kube().apply({ apiVersion: "v1", kind: "Namespace", metadata: { name: named.external } });
		// The inventory lists what its watches have seen.
		await eventually(async () => expect((await request(`${mesh.url}/api/v1/k8s/inventory/deployments/${world.ns.name}/${named.deployment}`, { key: mesh.adminKey })).status).toBe(200));

		const common = (await request(`${mesh.url}/api/v1/k8s/images`, { key: mesh.adminKey })).text + (await request(`${mesh.url}/api/v1/k8s/applications/templates`, { key: mesh.adminKey })).text + JSON.stringify(doc) + compatNs + appsNs;
		remember("namespace", (await request(`${mesh.url}/api/v1/k8s/namespaces/${world.ns.id}`, { key: keys.owner })).body, common);
		for (const c of made.created) remember(["/api/v1/keys", "/api/v1/k8s/applications"].includes(c.collection) ? "owners" : "namespace", c.entity, common);
		remember("owners", { name: compat.body.metadata.name, uid: compat.body.metadata.uid }, common);
		values.namespace.add(secret);
		never.push(secret, mesh.adminKey, world.confinedIn, ...Object.values(keys), String(entity("/api/v1/keys").entity.key));
		for (const v of values.namespace) values.owners.delete(v);
	});

	afterAll(async () => {
		// What is left of the run's namespaces (all of them when the matrix ran to the end).
		if (mesh) await request(`${mesh.url}/api/v1/k8s/namespaces/clean`, { method: "POST", key: mesh.adminKey, body: {} });
		await mesh?.stop();
		for (const name of [compatNs, appsNs, named.external]) await kube().delete({ apiVersion: "v1", kind: "Namespace", name }).catch(() => undefined);
		restoreEnv?.();
		await dropStore(uri);
	});

	/** The path of an operation with its parameters filled for world `w` (`id`: a fresh target's). */
	function pathOf(op: Operation, w: World, id?: string): string {
		const collection = collectionOf(op);
		const byName: Record<string, string> = {
			"/api/v1/k8s/applications/templates": named.template,
			"/api/v1/k8s/images/name": named.image,
			"/api/v1/k8s/inventory/namespaces": w.ns.name,
			"/api/v1/k8s/namespaces/available": dnsName(),
			"/api/v1/k8s/inventory": named.deployment,
		};
		const value = (param: string): string => {
			switch (param) {
				case "id":
					return id ?? (collection === "/api/v1/k8s/namespaces" ? w.ns.id : (ids.get(collection) ?? "no-entity"));
				case "job":
					return named.compatJob;
				case "template":
					return named.template;
				case "kind":
					return "deployments";
				case "namespace":
					return w.ns.name;
				case "member":
					return uniqueName("someone");
				case "domain":
					return grantedDomain;
				case "name":
					return byName[collection] ?? "no-name";
				default:
					return `no-${param}`;
			}
		};
		const path = op.params.reduce((p, param) => p.replace(`{${param}}`, encodeURIComponent(value(param))), op.path);
		if (op.method !== "GET") return path;
		if (op.path === "/api/v1/k8s/inventory/{kind}" || op.path === "/api/v1/k8s/inventory/tree") return `${path}?namespace=${w.ns.name}`;
		const query = new Map([["namespace", w.ns.id]]);
		return path + queryFor(op.op, new Map([...refs, ...query].filter(([k]) => k !== "template")), new BodyMaker(refs, secret, { names: { key: named.envKey } }));
	}

	/** The body of an operation for world `w`, where its schema alone would not do. */
	function bodyOf(op: Operation, w: World): Record<string, unknown> | undefined {
		switch (opName(op)) {
			case "POST /api/v1/k8s/inventory/adopt":
				return { namespace: w.ns.name, name: named.legacy };
			case "POST /api/v1/k8s/namespaces/adopt":
				return { name: named.external, owner: users.owner };
			case "POST /applications":
				return { "template-name": named.template };
			case "POST /api/v1/k8s/images":
				return { ...catalogEntry(), namespaceId: w.ns.id };
			case "PATCH /api/v1/k8s/images/{id}":
			case "PUT /api/v1/k8s/images/{id}":
				return { description: "Changed by the access matrix" };
			case "POST /api/v1/k8s/images/{id}/deploy":
				return { namespace: w.ns.id, name: dnsName() };
			// Without the seed's record: deploys the stored spec.
			case "PUT /kubernetes/services/{id}/deploy":
				return {};
		}
		const body = bodies(new Map([["namespace", w.ns.id]])).body(op.op);
		if (body && "deployment" in body && collectionOf(op).startsWith("/api/v1/k8s/services")) body.deployment = SPEC;
		return body;
	}

	/** A fresh target for a caller whose call takes it away. */
	async function freshTarget(op: Operation, rule: Rule): Promise<{ w: World; id?: string }> {
		if (rule.destroys === 2 || rule.destroys === 3) return { w: await makeWorld() };
		if (rule.destroys !== 1) return { w: world };
		const from = rule.freshFrom ?? collectionOf(op);
		const creator = creatorsOf(ops).find(c => c.path === from) as Operation;
		if (rule.freshAs) {
			const res = await request(`${mesh.url}${from}`, { method: "POST", key: keyOf(rule.freshAs, world), body: catalogEntry() });
			if (res.status !== 201) throw new Error(`fresh target for ${opName(op)}: ${res.status} ${res.text}`);
			return { w: world, id: res.body.id };
		}
		const made = await makeOne(mesh.url, creator, keys.owner, bodies());
		if (!("id" in made)) throw new Error(`fresh target for ${opName(op)}: ${made.failure}`);
		return { w: world, id: made.id };
	}

	/**
	 * What in an answer the caller may not learn: denied, anything of the entities; else what is of
	 * targets they have no role on, other than what the caller sent or who they are (their user, their
	 * key's namespaces); and never a secret value or key material.
	 */
	function leaks(res: HttpResult, actor: Actor, w: World, denied: boolean, sent: string): string[] {
		const forbidden = new Set<string>();
		for (const target of ["namespace", "owners"] as Target[]) if (denied || !ROLES[actor][target]) for (const v of values[target]) forbidden.add(v);
		const own = actor.startsWith("confined") ? [users.owner, actor === "confined in" ? w.ns.name : ""] : [];
		return [...[...forbidden].filter(v => !sent.includes(v) && !own.includes(v)), ...never].filter(v => res.text.includes(v));
	}

	async function cell(op: Operation, rule: Rule, actor: Actor): Promise<void> {
		const want = expected(rule, actor);
		const { w, id } = rule.destroys && meetsNeed(rule, actor) ? await freshTarget(op, rule) : { w: world, id: undefined };
		const path = pathOf(op, w, id);
		const body = bodyOf(op, w);
		const res = await callOp(mesh.url, op, path, keyOf(actor, w), body);
		const got = outcomeOf(res.status);
		const tally = counts.get(actor) ?? new Map<string, number>();
		tally.set(got, (tally.get(got) ?? 0) + 1);
		counts.set(actor, tally);
		const where = `${actor}: ${op.method} ${path}`;
		if (got !== want) wrong.push(`${where} → ${res.status}, expected ${want}: ${res.text.slice(0, 200)}`);
		const denied = want !== "2xx" && want !== rule.ok;
		const leaked = leaks(res, actor, w, denied, path + JSON.stringify(body ?? {}));
		if (leaked.length) wrong.push(`${where} → ${res.status} carries ${leaked.join(", ")}`);
		if (!rule.shows) return;
		const target = id ?? (rule.destroys === 2 || rule.destroys === 3 ? w.ns.id : op.path.startsWith("/api/v1/k8s/inventory") ? named.deployment : op.path === "/jobs" ? named.compatJob : (ids.get(collectionOf(op)) as string));
		const shows = (answer: HttpResult, label: string) => {
			if (answer.text.includes(target) !== meetsNeed(rule, actor)) wrong.push(`${label} → ${answer.status}, ${meetsNeed(rule, actor) ? "lacks" : "shows"} ${target}`);
		};
		if (res.status < 300) shows(res, where);
		// A list filtered on N: unfiltered, it answers everyone, with N's entities for N's members only.
		if (op.method === "GET" && path.includes("?")) {
			const unfiltered = path.slice(0, path.indexOf("?"));
			const all = await callOp(mesh.url, op, unfiltered, keyOf(actor, w));
			if (all.status !== 200) wrong.push(`${actor}: GET ${unfiltered} → ${all.status}, expected 200`);
			else shows(all, `${actor}: GET ${unfiltered}`);
		}
	}

	it("has a rule for every operation of the document", () => {
		expect(ops.map(opName).filter(name => !RULES[name])).toEqual([]);
	});

	it("answers every caller on every operation as its role allows, and no denied answer carries the entities' data", async () => {
		const phase = (op: Operation) => RULES[opName(op)]?.destroys ?? 0;
		const ordered = [...ops].filter(op => RULES[opName(op)]).sort((a, b) => phase(a) - phase(b));
		const started = Date.now();
		for (const op of ordered) {
			const rule = RULES[opName(op)];
			// Those whose call takes the target away come last, each with a fresh one.
			const actors = rule.destroys ? [...ACTORS].sort((a, b) => Number(meetsNeed(rule, a)) - Number(meetsNeed(rule, b))) : ACTORS;
			for (const actor of actors) await cell(op, rule, actor);
		}
		const outcomes = ["2xx", "403", "404", "422"];
		const rows = ACTORS.map(actor => {
			const tally = counts.get(actor) ?? new Map();
			const other = [...tally].filter(([k]) => !outcomes.includes(k)).reduce((n, [, v]) => n + v, 0);
			return `${actor.padEnd(15)}${outcomes.map(o => String(tally.get(o) ?? 0).padStart(6)).join("")}${String(other).padStart(7)}`;
		});
		console.log(`[access-matrix] ${backend}: ${ordered.length} operations × ${ACTORS.length} callers in ${Math.round((Date.now() - started) / 1000)} s\n${"caller".padEnd(15)}${outcomes.map(o => o.padStart(6)).join("")}  other\n${rows.join("\n")}`);
		expect(wrong).toEqual([]);
		// Some 120 operations × 9 callers, fresh targets for the destroying ones: minutes on a shared FerretDB.
	}, 600_000);
});
