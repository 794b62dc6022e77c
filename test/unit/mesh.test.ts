import * as fs from "node:fs";
import * as path from "node:path";
import { ServiceBroker } from "moleculer";
import { parse, parseAllDocuments } from "yaml";
import { loadConfig } from "../../lib/config";
import { meshMiddleware, transporterFor } from "../../lib/index";
import { refusalReporter } from "../../lib/mesh/middleware";
import { deriveMeshKey, MIN_SEALED_BYTES, openPacket, sealPacket } from "../../lib/mesh/seal";
import { natsOptionsOf, openMeshWarning } from "../../lib/mesh/transporter";

describe("sealing mesh packets (MESH_SECRET)", () => {
	const key = deriveMeshKey("correct horse battery staple");
	const packet = Buffer.from(JSON.stringify({ ver: "5", action: "v1.k8s.envs.create", params: { value: "s3cr3t-value" } }));

	it("opens what it sealed, for the same type, and hides the plaintext", () => {
		const sealed = sealPacket(key, packet, "REQ");
		expect(openPacket(key, sealed, "REQ")).toEqual(packet);
		expect(sealed.includes(Buffer.from("s3cr3t-value"))).toBe(false);
		expect(sealed.includes(Buffer.from("v1.k8s.envs.create"))).toBe(false);
	});

	it("derives the same key from the same secret, another from another", () => {
		expect(deriveMeshKey("correct horse battery staple")).toEqual(key);
		expect(deriveMeshKey("correct horse battery stapler")).not.toEqual(key);
		expect(key).toHaveLength(32);
		expect(() => deriveMeshKey("")).toThrow(/MESH_SECRET/);
	});

	it("uses a fresh nonce for every packet: the same packet never seals the same way twice", () => {
		const seals = Array.from({ length: 50 }, () => sealPacket(key, packet, "REQ"));
		expect(new Set(seals.map(s => s.subarray(1, 13).toString("hex"))).size).toBe(50);
		expect(new Set(seals.map(s => s.toString("hex"))).size).toBe(50);
	});

	it("refuses a packet sealed with another secret", () => {
		expect(openPacket(deriveMeshKey("another secret"), sealPacket(key, packet, "REQ"), "REQ")).toBeUndefined();
	});

	it("refuses a packet with any byte changed: version, nonce, ciphertext or tag", () => {
		const sealed = sealPacket(key, packet, "REQ");
		for (const at of [0, 1, 12, 13, 20, sealed.length - 17, sealed.length - 1]) {
			const tampered = Buffer.from(sealed);
			tampered[at] ^= 0x01;
			expect(openPacket(key, tampered, "REQ")).toBeUndefined();
		}
	});

	it("refuses a packet passed off as another type (a response replayed as a request)", () => {
		expect(openPacket(key, sealPacket(key, packet, "RES"), "REQ")).toBeUndefined();
	});

	it("refuses truncated and extended packets, down to nothing", () => {
		const sealed = sealPacket(key, packet, "REQ");
		for (const length of [sealed.length - 1, sealed.length - 16, MIN_SEALED_BYTES, MIN_SEALED_BYTES - 1, 1, 0]) expect(openPacket(key, sealed.subarray(0, length), "REQ")).toBeUndefined();
		expect(openPacket(key, Buffer.concat([sealed, Buffer.from([0])]), "REQ")).toBeUndefined();
	});

	it("refuses a plaintext packet, as a node without the secret sends it", () => {
		expect(openPacket(key, packet, "REQ")).toBeUndefined();
		expect(openPacket(key, Buffer.alloc(0), "REQ")).toBeUndefined();
	});

	it("opens a replayed packet again: replay is not what sealing stops (docs/operations.md#mesh-trust)", () => {
		const sealed = sealPacket(key, packet, "REQ");
		expect(openPacket(key, sealed, "REQ")).toEqual(packet);
		expect(openPacket(key, Buffer.from(sealed), "REQ")).toEqual(packet);
	});

	it("seals an empty packet too", () => {
		expect(openPacket(key, sealPacket(key, Buffer.alloc(0), "PING"), "PING")).toEqual(Buffer.alloc(0));
	});
});

describe("the mesh middleware", () => {
	it("is refused without a secret, so a mesh meant to be sealed never starts open", () => {
		expect(() => meshMiddleware(undefined)).toThrow(/MESH_SECRET is not set/);
		expect(() => meshMiddleware("")).toThrow(/MESH_SECRET is not set/);
	});

	it("warns of the first refused packet at once, then at most once a minute with a count, never the payload", () => {
		const lines: string[] = [];
		const debug: string[] = [];
		let clock = 0;
		const refused = refusalReporter({ warn: (...args: unknown[]) => void lines.push(args.join(" ")), debug: (...args: unknown[]) => void debug.push(args.join(" ")) }, 60_000, () => clock);
		refused("REQ", 120);
		clock = 30_000;
		refused("INFO", 900);
		refused("REQ", 50);
		expect(lines).toHaveLength(1);
		clock = 61_000;
		refused("HEARTBEAT", 70);
		expect(lines).toHaveLength(2);
		expect(lines[0]).toMatch(/Refused 1 mesh packet\(s\).*REQ, 120 bytes/);
		expect(lines[1]).toMatch(/Refused 3 mesh packet\(s\).*HEARTBEAT, 70 bytes/);
		expect(debug).toEqual(["Refused a mesh packet (REQ, 120 bytes)", "Refused a mesh packet (INFO, 900 bytes)", "Refused a mesh packet (REQ, 50 bytes)", "Refused a mesh packet (HEARTBEAT, 70 bytes)"]);
	});

	it("sends sealed bytes and hands the receiver the plaintext; an unsealed packet never reaches Moleculer", async () => {
		const mw = meshMiddleware("s") as unknown as {
			created(b: ServiceBroker): void;
			transporterSend(next: (t: string, d: Buffer, m: object) => Promise<void>): (t: string, d: Buffer, m: object) => Promise<void>;
			transporterReceive(next: (c: string, d: Buffer) => unknown): (c: string, d: Buffer) => unknown;
		};
		const broker = new ServiceBroker({ logger: false });
		mw.created(broker);
		const wire: Buffer[] = [];
		const received: Buffer[] = [];
		await mw.transporterSend(async (_t, d) => void wire.push(d))("MOL.REQB.v1.keys.create", Buffer.from('{"a":1}'), { packet: { type: "REQ" } });
		const receive = mw.transporterReceive((_c, d) => received.push(d));
		receive("REQ", wire[0]);
		receive("REQ", Buffer.from('{"a":2}'));
		expect(wire[0].toString()).not.toContain('"a"');
		expect(received.map(String)).toEqual(['{"a":1}']);
	});
});

describe("TRANSPORTER and its credentials", () => {
	it("passes a user and password, percent-decoded", () => {
		expect(natsOptionsOf("nats://berth:p%40ss%3Aw0rd@nats.berth-system.svc:4222")).toEqual({ servers: ["nats.berth-system.svc:4222"], user: "berth", pass: "p@ss:w0rd" });
	});

	it("passes a user name without a password as a token (Moleculer sends it as a user, which NATS refuses)", () => {
		expect(natsOptionsOf("nats://s3cr3t-token@127.0.0.1:4222")).toEqual({ servers: ["127.0.0.1:4222"], token: "s3cr3t-token" });
	});

	it("takes several servers, comma-separated, and one set of credentials", () => {
		expect(natsOptionsOf("nats://u:p@a:4222, nats://b:4223")).toEqual({ servers: ["a:4222", "b:4223"], user: "u", pass: "p" });
		expect(natsOptionsOf("nats://127.0.0.1:4222")).toEqual({ servers: ["127.0.0.1:4222"] });
	});

	it("refuses an invalid URL without repeating it (it holds the password)", () => {
		expect(() => natsOptionsOf("nats://user:pa ss@[bad")).toThrow(/TRANSPORTER is not a valid URL/);
		expect(() => natsOptionsOf("nats://user:pa ss@[bad")).not.toThrow(/pa ss/);
	});

	it("gives the broker NATS options, another transporter's string as is, and nothing in-process", () => {
		expect(transporterFor("nats://t@h:1")).toEqual({ type: "NATS", options: { servers: ["h:1"], token: "t" } });
		expect(transporterFor("redis://localhost:6379")).toBe("redis://localhost:6379");
		expect(transporterFor(undefined)).toBeNull();
	});

	it("warns when a transporter carries the mesh without MESH_SECRET, and only then", () => {
		expect(openMeshWarning(loadConfig({ TRANSPORTER: "nats://h:4222" }))).toMatch(/without MESH_SECRET/);
		expect(openMeshWarning(loadConfig({ TRANSPORTER: "nats://h:4222", MESH_SECRET: "x" }))).toBeUndefined();
		expect(openMeshWarning(loadConfig({}))).toBeUndefined();
		expect(openMeshWarning(loadConfig({ MESH_SECRET: "x" }))).toBeUndefined();
	});
});

describe("the shipped deployments use NATS credentials and MESH_SECRET", () => {
	const read = (...p: string[]) => fs.readFileSync(path.join(__dirname, "..", "..", ...p), "utf8");

	it("deploy/kubernetes/berth.yaml: NATS asks for the Secret's user and password, and Berth sends them and seals with MESH_SECRET", () => {
		const objects = parseAllDocuments(read("deploy", "kubernetes", "berth.yaml")).map(d => d.toJSON());
		const natsConf = objects.find(o => o.kind === "ConfigMap" && o.metadata.name === "nats").data["nats.conf"] as string;
		expect(natsConf).toMatch(/authorization\s*\{\s*user: \$NATS_USER\s*password: \$NATS_PASSWORD\s*\}/);
		const envOf = (name: string) => objects.find(o => o.kind === "Deployment" && o.metadata.name === name).spec.template.spec.containers[0].env as { name: string; value?: string; valueFrom?: { secretKeyRef: { name: string; key: string } } }[];
		const fromSecret = (env: ReturnType<typeof envOf>, name: string) => env.find(e => e.name === name)?.valueFrom?.secretKeyRef;
		for (const name of ["nats", "berth"]) {
			expect(fromSecret(envOf(name), "NATS_USER")).toEqual({ name: "berth-mesh", key: "nats-user" });
			expect(fromSecret(envOf(name), "NATS_PASSWORD")).toEqual({ name: "berth-mesh", key: "nats-password" });
		}
		expect(envOf("berth").find(e => e.name === "TRANSPORTER")?.value).toBe("nats://$(NATS_USER):$(NATS_PASSWORD)@nats.berth-system.svc:4222");
		expect(fromSecret(envOf("berth"), "MESH_SECRET")).toEqual({ name: "berth-mesh", key: "mesh-secret" });
	});

	it("docker-compose.yml: NATS asks for a password, and every Berth node has it and MESH_SECRET", () => {
		const compose = parse(read("docker-compose.yml"), { merge: true });
		expect(compose.services.nats.command.join(" ")).toMatch(/--user berth --pass \$\{NATS_PASSWORD:\?/);
		for (const node of ["api", "worker"]) {
			expect(compose.services[node].environment.TRANSPORTER).toMatch(/^nats:\/\/berth:\$\{NATS_PASSWORD:\?[^}]*\}@nats:4222$/);
			expect(compose.services[node].environment.MESH_SECRET).toMatch(/^\$\{MESH_SECRET:\?/);
		}
	});
});
