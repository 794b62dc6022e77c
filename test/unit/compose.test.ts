import * as fs from "node:fs";
import * as path from "node:path";
import { serviceRegistry } from "../../services";
import { repoRoot } from "../helpers/cluster";
import { composeNodes, interpolate, servicesOf } from "../helpers/compose";

// What an operator puts in .env beside docker-compose.yml (its header says which).
const dotEnv = { NATS_PASSWORD: "nats-pass", MESH_SECRET: "mesh-secret", SECRETS_KEY: "c2VjcmV0cy1rZXk=", BERTH_ADMIN_KEY: "admin-key-from-env-0001" };
const readme = fs.readFileSync(path.join(repoRoot, "README.md"), "utf8");
const dockerfile = fs.readFileSync(path.join(repoRoot, "Dockerfile"), "utf8");

describe("docker-compose.yml: nodes that between them run every service, each with a complete environment", () => {
	const nodes = composeNodes(dotEnv);

	it("has an api node and two workers", () => {
		expect(nodes.map(n => [n.name, n.replicas])).toEqual([
			["api", 1],
			["worker", 2],
		]);
	});

	it("runs every service of the mesh on some node", () => {
		const run = new Set(nodes.flatMap(servicesOf));
		expect(Object.keys(serviceRegistry).filter(name => !run.has(name))).toEqual([]);
		expect([...run].filter(name => !(name in serviceRegistry))).toEqual([]);
	});

	it("gives the node serving live status the gateway too, so /status streams answer", () => {
		const api = nodes.find(n => servicesOf(n).includes("api"));
		expect(servicesOf(api!)).toEqual(expect.arrayContaining(["api", "keys", "k8s.status", "audit"]));
		expect(api!.ports).toEqual(["127.0.0.1:3000:3000"]);
	});

	it.each(nodes.map(n => [n.name, n] as const))("%s: NATS with credentials, the mesh secret, MongoDB, the secrets key, the admin key and a kubeconfig", (_, node) => {
		expect(node.env.TRANSPORTER).toMatch(/^nats:\/\/berth:nats-pass@nats:4222$/);
		expect(node.env.MESH_SECRET).toBe("mesh-secret");
		expect(node.env.MONGO_URI).toMatch(/^mongodb:\/\/mongo:27017\//);
		expect(node.env.SECRETS_KEY).toBe(dotEnv.SECRETS_KEY);
		expect(node.env.BERTH_ADMIN_KEY).toBe(dotEnv.BERTH_ADMIN_KEY);
		expect(node.env.BERTH_AUTO_CLUSTER).toBe("false");
		expect(node.volumes).toContain(`~/.kube/config:${node.env.KUBECONFIG}:ro`);
		expect(node.env.DATA_DIR).toBe("/app/data");
	});

	it("documents every variable it sets in the README's configuration tables", () => {
		const names = [...new Set(nodes.flatMap(n => Object.keys(n.env)))];
		expect(names.filter(name => !readme.includes(`| \`${name}\``) && !readme.includes(`/ \`${name}\``))).toEqual([]);
	});

	it("refuses to start without what .env must give, naming it", () => {
		const { MESH_SECRET: _, ...withoutSecret } = dotEnv;
		expect(() => composeNodes(withoutSecret)).toThrow("docker-compose.yml needs MESH_SECRET: set MESH_SECRET in .env");
	});
});

describe("the image: DATA_DIR is writable by the user the node runs as", () => {
	it("makes DATA_DIR and gives it to that user before switching to it", () => {
		const user = /^USER (\S+)$/m.exec(dockerfile)?.[1];
		const dataDir = /^ENV DATA_DIR=(\S+)$/m.exec(dockerfile)?.[1];
		expect(user).toBe("node");
		expect(dataDir).toBe("/app/data");
		const chown = dockerfile.indexOf(`chown ${user}:${user} ${dataDir}`);
		expect(chown).toBeGreaterThan(0);
		expect(chown).toBeLessThan(dockerfile.indexOf(`USER ${user}`));
	});
});

describe("interpolate: compose's variable forms", () => {
	it("reads ${X}, ${X:-default} and ${X:?message}", () => {
		expect(interpolate("a ${X} b ${Y:-dflt} c ${Z:?need Z}", { X: "1", Z: "3" })).toBe("a 1 b dflt c 3");
		expect(() => interpolate("${Z:?need Z}", {})).toThrow("docker-compose.yml needs Z: need Z");
	});
});
