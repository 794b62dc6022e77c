import { execFile } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { promisify } from "node:util";
import { kube, repoRoot, uniqueName } from "../helpers/cluster";
import { createNamespace, keyFor, startMesh, type Mesh } from "../helpers/mesh";

const run = promisify(execFile);
/** The server's dependencies: none may be in the package's dependencies, nor installed with it. */
const SERVER_DEPENDENCIES = ["moleculer", "moleculer-db", "moleculer-db-adapter-mongoose", "moleculer-web", "mongoose", "nats", "@kubernetes/client-node", "fastest-validator", "yaml"];
const rootPackage = JSON.parse(fs.readFileSync(path.join(repoRoot, "package.json"), "utf8")) as { version: string };

/**
 * `npm run pack:client` makes berth-cli: the tarball holds the command and the typed client and none
 * of the server; installed from the tarball alone (the npm registry for its three dependencies),
 * its `berth` logs in to a real mesh and lists namespaces with the stored profile.
 */
describe("the berth-cli package", () => {
	const work = fs.mkdtempSync(path.join(os.tmpdir(), "berth-cli-package-"));
	const home = path.join(work, "home");
	const install = path.join(work, "install");
	let tarball: string;
	let files: string[];
	let mesh: Mesh | undefined;
	const nsName = uniqueName("it-clipkg");

	/** The installed `berth`, as a shell would run it: its own environment, nothing of the test's BERTH_*. */
	const installed = (args: string[]) =>
		run(path.join(install, "node_modules", ".bin", "berth"), args, {
			env: { PATH: `${path.dirname(process.execPath)}:${process.env.PATH}`, HOME: home, BERTH_CONFIG: path.join(home, ".config", "berth", "config.json") },
			encoding: "utf8",
		}).catch((err: { code: number; stdout: string; stderr: string }) => ({ stdout: err.stdout, stderr: err.stderr, code: err.code }));

	beforeAll(async () => {
		const { stdout } = await run("npm", ["run", "--silent", "pack:client"], { cwd: repoRoot, encoding: "utf8", maxBuffer: 16 << 20 });
		tarball = stdout.trim().split("\n").pop()!;
		files = (await run("tar", ["tzf", tarball], { encoding: "utf8" })).stdout.trim().split("\n");
		fs.mkdirSync(install, { recursive: true });
		fs.mkdirSync(home, { recursive: true });
		fs.writeFileSync(path.join(install, "package.json"), JSON.stringify({ name: "berth-cli-install-test", private: true }));
		try {
			await run("npm", ["install", tarball, "--no-audit", "--no-fund"], { cwd: install, encoding: "utf8" });
		} catch (err) {
			throw new Error(`npm install of the tarball failed (is the npm registry reachable?): ${(err as { stderr?: string }).stderr ?? err}`);
		}
	});

	afterAll(async () => {
		await mesh?.stop();
		await kube().delete({ apiVersion: "v1", kind: "Namespace", name: nsName });
		fs.rmSync(work, { recursive: true, force: true });
	});

	it("holds the command and the typed client, and none of the server", () => {
		expect(path.basename(tarball)).toBe(`berth-cli-${rootPackage.version}.tgz`);
		expect(files).toEqual(expect.arrayContaining(["package/package.json", "package/README.md", "package/scripts/cli.js", "package/lib/client/index.js", "package/lib/client/index.d.ts", "package/lib/cli/main.js", "package/lib/cli/completion.js", "package/lib/cli/profiles.js"]));
		expect(files.filter(f => /^package\/(services|mixins|images|ui|deploy|test)\//.test(f))).toEqual([]);
		// Server code may be there as types only, never as code.
		const code = files.filter(f => f.endsWith(".js")).map(f => f.replace(/^package\//, ""));
		expect(code.filter(f => !/^(lib\/(client|cli)\/|scripts\/cli\.js$)/.test(f))).toEqual([]);
	});

	it("depends on the CLI's three packages at the lockfile's versions, not on the server's", () => {
		const manifest = JSON.parse(fs.readFileSync(path.join(install, "node_modules", "berth-cli", "package.json"), "utf8"));
		const lock = JSON.parse(fs.readFileSync(path.join(repoRoot, "package-lock.json"), "utf8")).packages;
		expect(manifest).toMatchObject({ name: "berth-cli", version: rootPackage.version, bin: { berth: "scripts/cli.js" }, main: "lib/client/index.js", types: "lib/client/index.d.ts", engines: { node: ">=20" } });
		expect(manifest.dependencies).toEqual({
			commander: lock["node_modules/commander"].version,
			"cli-table3": lock["node_modules/cli-table3"].version,
			nanospinner: lock["node_modules/nanospinner"].version,
		});
		// Types only (Kubernetes objects in a spec's manifests): optional, so npm does not install them.
		for (const name of Object.keys(manifest.peerDependencies ?? {})) expect(manifest.peerDependenciesMeta[name]).toEqual({ optional: true });
		for (const name of SERVER_DEPENDENCIES) expect(fs.existsSync(path.join(install, "node_modules", name))).toBe(false);
	});

	it("installs a berth that runs and says its version", async () => {
		expect(await installed(["--version"])).toEqual({ stdout: `${rootPackage.version}\n`, stderr: "" });
		const completion = await installed(["completion", "bash"]);
		expect(completion.stdout).toContain("complete -o default -F _berth berth");
	});

	it("gives TypeScript the typed client: the contract's types, a wrong field refused", async () => {
		fs.writeFileSync(
			path.join(install, "consumer.ts"),
			`import { BerthClient, BerthApiError, type NamespaceEntity } from "berth-cli";
const berth = new BerthClient({ host: "127.0.0.1", port: 3000 });
export async function names(): Promise<string[]> {
	const list: NamespaceEntity[] = await berth.namespaces.list();
	// @ts-expect-error: not a field of CreateNamespaceParams
	await berth.namespaces.create({ nme: "x" });
	return list.map(n => n.name).concat(BerthApiError.name);
}
`,
		);
		// skipLibCheck: the few Kubernetes object types come from an optional peer that is not installed.
		const tsc = path.join(repoRoot, "node_modules", "typescript", "bin", "tsc");
		const flags = ["--noEmit", "--strict", "--skipLibCheck", "--module", "nodenext", "--moduleResolution", "nodenext", "--target", "es2023", "--typeRoots", path.join(repoRoot, "node_modules", "@types"), "--types", "node"];
		await expect(run(process.execPath, [tsc, ...flags, "consumer.ts"], { cwd: install, encoding: "utf8" })).resolves.toMatchObject({ stdout: "" });
	});

	it("logs in to a real mesh, stores the profile 0600, and lists namespaces with it", async () => {
		mesh = await startMesh(["api", "keys", "k8s.namespaces"]);
		const key = await keyFor(mesh, uniqueName("clipkg-user"));
		await createNamespace(mesh, key, nsName);
		const port = new URL(mesh.url).port;

		const login = await installed(["login", "--host", "127.0.0.1", "--port", port, "--api-key", key, "--profile", "local"]);
		expect(login.stderr).toBe("");
		expect(login.stdout).toMatch(/^Logged in to 127\.0\.0\.1:\d+ as profile "local" \(key berth_[0-9a-f]{12}_…\)/);
		expect(login.stdout).not.toContain(key);
		const config = path.join(home, ".config", "berth", "config.json");
		expect(fs.statSync(config).mode & 0o777).toBe(0o600);
		expect(fs.statSync(path.dirname(config)).mode & 0o777).toBe(0o700);

		const list = await installed(["namespaces", "list", "--json"]);
		expect(list.stderr).toBe("");
		expect(JSON.parse(list.stdout)).toEqual([expect.objectContaining({ name: nsName })]);

		const wrong = await installed(["login", "--host", "127.0.0.1", "--port", port, "--api-key", "berth_000000000000_not-a-real-key-0000000000"]);
		expect(wrong).toMatchObject({ code: 1 });
		expect(wrong.stderr).toContain("401");
		expect(JSON.parse(fs.readFileSync(config, "utf8")).current).toBe("local");
	});
});
