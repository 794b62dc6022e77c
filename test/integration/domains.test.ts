import type { V1Ingress, V1Namespace } from "../../lib/k8s";
import { kube, uniqueName } from "../helpers/cluster";
import { envBackends } from "../helpers/backends";
import { createNamespace, keyFor, request, startMesh, type Mesh } from "../helpers/mesh";

const SERVICES = ["api", "keys", "k8s.namespaces", "k8s.images", "k8s.deployments", "k8s.envs"];
const BASE = "apps.berth.test";

/**
 * Issue #19, "Domains": a namespace serves `<name>.<BASE_DOMAIN>` and what an admin grants it; a
 * wildcard, an ungranted domain, another namespace's subdomain and a host an Ingress outside Berth
 * serves are refused; a granted domain works until it is revoked.
 */
describe.each(envBackends)("domains of namespaces, stored in %s", (_backend, useBackend) => {
	let mesh: Mesh;
	let alice: string;
	let bob: string;
	let nsA: { id: string; name: string };
	let nsB: { id: string; name: string };
	// Unique per run: other suites and runs on the shared apiserver never hold these hosts.
	const granted = `${uniqueName("shop")}.domains.test`;
	const outside = uniqueName("ext");
	const nobody = `www.${uniqueName("nobody")}.test`;
	const domainsOf = (id: string) => `${mesh.url}/api/v1/k8s/namespaces/${id}/domains`;
	const deploy = (name: string, vHosts: string[]) => request(`${mesh.url}/api/v1/k8s/deployments`, { method: "POST", key: alice, body: { name, namespace: nsA.name, image: "nginx", vHosts } });

	beforeAll(async () => {
		useBackend();
		process.env.BASE_DOMAIN = BASE;
		mesh = await startMesh(SERVICES);
		alice = await keyFor(mesh, uniqueName("alice"));
		bob = await keyFor(mesh, uniqueName("bob"));
		nsA = await createNamespace(mesh, alice, uniqueName("it-dom-a"));
		nsB = await createNamespace(mesh, bob, uniqueName("it-dom-b"));
		// Something Berth did not make already serves one host of the domain alice will be granted.
		await kube().apply<V1Namespace>({ apiVersion: "v1", kind: "Namespace", metadata: { name: outside } });
		const rule = { host: `taken.${granted}`, http: { paths: [{ path: "/", pathType: "Prefix", backend: { service: { name: "theirs", port: { number: 80 } } } }] } };
		await kube().apply<V1Ingress>({ apiVersion: "networking.k8s.io/v1", kind: "Ingress", metadata: { name: "theirs", namespace: outside }, spec: { rules: [rule] } });
	});

	afterAll(async () => {
		for (const ns of [nsA, nsB]) if (ns) await request(`${mesh.url}/api/v1/k8s/namespaces/${ns.id}`, { method: "DELETE", key: mesh.adminKey });
		await kube().delete({ apiVersion: "v1", kind: "Namespace", name: outside }).catch(() => undefined);
		await mesh?.stop();
		delete process.env.BASE_DOMAIN;
	});

	it("lets only an admin grant: a member gets 403, another tenant 404", async () => {
		expect((await request(domainsOf(nsA.id), { method: "POST", key: alice, body: { domain: granted } })).status).toBe(403);
		expect((await request(domainsOf(nsA.id), { method: "POST", key: bob, body: { domain: granted } })).status).toBe(404);
		const bad = await request(domainsOf(nsA.id), { method: "POST", key: mesh.adminKey, body: { domain: `x.${BASE}` } });
		expect(bad.status).toBe(422);
		expect(bad.body.data).toEqual([expect.objectContaining({ field: "domain", type: "domain" })]);
		const res = await request(domainsOf(nsA.id), { method: "POST", key: mesh.adminKey, body: { domain: granted.toUpperCase() } });
		expect(res.status).toBe(200);
		expect(res.body.domains).toEqual([granted]);
		expect((await request(`${mesh.url}/api/v1/k8s/namespaces/${nsA.id}`, { key: alice })).body.domains).toEqual([granted]);
	});

	it.each([
		["a wildcard host", () => `*.${granted}`],
		["an ungranted domain", () => nobody],
		["another namespace's BASE_DOMAIN subdomain", () => `www.${nsB.name}.${BASE}`],
	])("refuses %s with 422 on vHosts", async (_what, host) => {
		const res = await deploy(uniqueName("web"), [host()]);
		expect(res.status).toBe(422);
		expect(res.body).toMatchObject({ type: "VALIDATION_ERROR", data: [expect.objectContaining({ field: "vHosts[0]", type: "domain", actual: host() })] });
	});

	it("refuses a host an Ingress outside Berth serves with 409 HOST_TAKEN", async () => {
		const res = await deploy("taker", [`taken.${granted}`]);
		expect(res.status).toBe(409);
		expect(res.body).toMatchObject({ type: "HOST_TAKEN", data: { field: "vHosts", host: `taken.${granted}` } });
		expect(JSON.stringify(res.body)).not.toContain(outside);
	});

	it("serves a granted domain and its own; the Ingress carries the hosts", async () => {
		const hosts = [`www.${granted}`, `web.${nsA.name}.${BASE}`];
		const res = await deploy("web", hosts);
		expect(res.status).toBe(201);
		expect(res.body.vHosts).toEqual(hosts);
		const ing = await kube().get<V1Ingress>({ apiVersion: "networking.k8s.io/v1", kind: "Ingress", name: "web", namespace: nsA.name });
		expect(ing?.spec?.rules?.map(r => r.host)).toEqual(hosts);
		// Bob's namespace is refused the host alice now serves, even once granted the domain.
		await request(domainsOf(nsB.id), { method: "POST", key: mesh.adminKey, body: { domain: granted } });
		const bobs = await request(`${mesh.url}/api/v1/k8s/deployments`, { method: "POST", key: bob, body: { name: "web", namespace: nsB.name, image: "nginx", vHosts: [`www.${granted}`] } });
		expect(bobs.status).toBe(409);
		expect(bobs.body.type).toBe("HOST_TAKEN");
	});

	it("serves a wildcard host once the wildcard itself is granted", async () => {
		expect((await request(domainsOf(nsA.id), { method: "POST", key: mesh.adminKey, body: { domain: `*.${granted}` } })).status).toBe(200);
		const res = await deploy("catchall", [`*.${granted}`]);
		expect(res.status).toBe(201);
	});

	it("revokes: a tenant may not, the admin may, and new hosts of the domain are refused again", async () => {
		const url = `${domainsOf(nsA.id)}/${encodeURIComponent(granted)}`;
		expect((await request(url, { method: "DELETE", key: alice })).status).toBe(403);
		expect((await request(url, { method: "DELETE", key: bob })).status).toBe(404);
		const res = await request(url, { method: "DELETE", key: mesh.adminKey });
		expect(res.status).toBe(200);
		expect(res.body.domains).toEqual([`*.${granted}`]);
		expect((await request(url, { method: "DELETE", key: mesh.adminKey })).status).toBe(404);
		// The wildcard grant still covers the hosts under the domain; without it they are refused.
		expect((await deploy("early", [`early.sub.${granted}`])).status).toBe(201);
		const wildcard = await request(`${domainsOf(nsA.id)}/${encodeURIComponent(`*.${granted}`)}`, { method: "DELETE", key: mesh.adminKey });
		expect(wildcard.status).toBe(200);
		expect(wildcard.body.domains).toEqual([]);
		const again = await deploy("late", [`late.sub.${granted}`]);
		expect(again.status).toBe(422);
		expect(again.body.data).toEqual([expect.objectContaining({ field: "vHosts[0]", type: "domain" })]);
	});
});
