/**
 * `npm run pack:client`: the `berth` command and the typed client as their own npm package,
 * `berth-cli`, without the server's dependencies. Run by node itself (type stripping), from the
 * repository's root:
 *
 * 1. compiles scripts/cli.ts and lib/client/index.ts (and what they import) into dist/client-build/;
 * 2. follows the compiled code's imports from those two files: every file reached goes in the package,
 *    and every package reached must be one the CLI may depend on (a server dependency fails the pack,
 *    naming the file that imports it);
 * 3. follows the declarations' imports from lib/client/index.d.ts the same way: packages reached only
 *    by types (the Kubernetes object types in a spec's manifests, say) become optional peer
 *    dependencies, which npm does not install;
 * 4. writes dist/client-package/ (package.json, README.md, the files) and runs `npm pack` into dist/.
 */
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import { builtinModules } from "node:module";
import * as path from "node:path";

/** What the CLI's code may import at run time: everything else is a server dependency here. */
const CLIENT_DEPENDENCIES = ["commander", "cli-table3", "nanospinner"];
const ENTRIES = ["scripts/cli", "lib/client/index"];

const root = process.cwd();
const rootPackage = JSON.parse(fs.readFileSync(path.join(root, "package.json"), "utf8")) as { name: string; version: string; license?: string };
if (rootPackage.name !== "berth") throw new Error(`Run it from Berth's root (npm run pack:client), not ${root}`);
const lock = JSON.parse(fs.readFileSync(path.join(root, "package-lock.json"), "utf8")) as { packages: Record<string, { version?: string }> };
const dist = path.join(root, "dist");
const build = path.join(dist, "client-build");
const out = path.join(dist, "client-package");

interface Graph {
	/** Files reached, relative to the build directory. */
	files: Set<string>;
	/** Package name → the files that import it. */
	packages: Map<string, string[]>;
}

function packageName(specifier: string): string {
	const parts = specifier.split("/");
	return specifier.startsWith("@") ? parts.slice(0, 2).join("/") : parts[0];
}

/** The files and packages reachable from `entries` through `require("…")` (.js) or `import … from "…"` (.d.ts). */
function importGraph(entries: string[], ext: ".js" | ".d.ts"): Graph {
	const pattern = ext === ".js" ? /\brequire\("([^"]+)"\)/g : /(?:\bfrom\s+|\bimport\(\s*|^import\s+)["']([^"']+)["']/gm;
	const graph: Graph = { files: new Set(), packages: new Map() };
	const visit = (file: string) => {
		if (graph.files.has(file)) return;
		graph.files.add(file);
		const source = fs.readFileSync(path.join(build, file), "utf8");
		for (const [, specifier] of source.matchAll(pattern)) {
			if (!specifier.startsWith(".")) {
				const name = packageName(specifier);
				if (specifier.startsWith("node:") || builtinModules.includes(name)) continue;
				graph.packages.set(name, [...(graph.packages.get(name) ?? []), file]);
				continue;
			}
			const target = path.join(path.dirname(file), specifier.replace(/\.js$/, ""));
			const found = [target + ext, path.join(target, `index${ext}`)].find(f => fs.existsSync(path.join(build, f)));
			if (!found) throw new Error(`${file} imports "${specifier}", which the build does not have`);
			visit(found);
		}
	};
	for (const entry of entries) visit(entry + ext);
	return graph;
}

function lockedVersion(name: string): string {
	const version = lock.packages[`node_modules/${name}`]?.version;
	if (!version) throw new Error(`${name} is not in package-lock.json`);
	return version;
}

function compile(): void {
	fs.rmSync(build, { recursive: true, force: true });
	const tsc = path.join(root, "node_modules", "typescript", "bin", "tsc");
	const flags = ["--target", "es2023", "--module", "nodenext", "--moduleResolution", "nodenext", "--strict", "--esModuleInterop", "--skipLibCheck", "--resolveJsonModule", "--declaration", "--types", "node", "--rootDir", ".", "--outDir", build];
	execFileSync(process.execPath, [tsc, ...flags, ...ENTRIES.map(e => `${e}.ts`)], { cwd: root, stdio: "inherit" });
}

function readme(): string {
	return `# berth-cli

The \`berth\` command and the typed client (\`BerthClient\`) for a Berth gateway, without the server.

\`\`\`sh
npm install -g ./berth-cli-${rootPackage.version}.tgz
berth login --host berth.example.com --port 3000 --api-key "$BERTH_API_KEY"
berth namespaces list
source <(berth completion bash)    # or: source <(berth completion zsh), after compinit
\`\`\`

Settings, each from its flag, else its variable, else the profile in use, else the default:
\`--host\`/\`BERTH_HOST\`, \`--port\`/\`BERTH_PORT\`, \`--api-key\`/\`BERTH_API_KEY\`, \`--profile\`/\`BERTH_PROFILE\`.
Profiles are stored in \`$BERTH_CONFIG\` or \`~/.config/berth/config.json\` (mode 0600).

\`\`\`ts
import { BerthClient } from "berth-cli";
const berth = new BerthClient({ host: "127.0.0.1", port: 3000, apiKey: process.env.BERTH_API_KEY });
console.log(await berth.namespaces.list());
\`\`\`

Types that describe Kubernetes objects (a spec's manifests, an adoption's diff) come from
\`@kubernetes/client-node\`, an optional peer dependency: install it to have them typed.
See docs/cli.md in Berth's repository for every command.
`;
}

function main(): void {
	compile();
	const code = importGraph(ENTRIES, ".js");
	const servers = [...code.packages].filter(([name]) => !CLIENT_DEPENDENCIES.includes(name));
	if (servers.length) throw new Error(`The CLI's code imports server dependencies:\n${servers.map(([name, files]) => `  ${name} (from ${files.join(", ")})`).join("\n")}`);
	const types = importGraph(["lib/client/index", "lib/cli/main"], ".d.ts");
	const typeOnly = [...types.packages.keys()].filter(name => !CLIENT_DEPENDENCIES.includes(name)).sort();

	fs.rmSync(out, { recursive: true, force: true });
	for (const file of [...code.files, ...types.files]) {
		fs.mkdirSync(path.dirname(path.join(out, file)), { recursive: true });
		fs.copyFileSync(path.join(build, file), path.join(out, file));
	}
	fs.chmodSync(path.join(out, "scripts", "cli.js"), 0o755);
	const manifest = {
		name: "berth-cli",
		version: rootPackage.version,
		description: "The berth command and the typed client for a Berth gateway",
		license: rootPackage.license ?? "MIT",
		bin: { berth: "scripts/cli.js" },
		main: "lib/client/index.js",
		types: "lib/client/index.d.ts",
		engines: { node: ">=20" },
		dependencies: Object.fromEntries([...code.packages.keys()].sort().map(name => [name, lockedVersion(name)])),
		...(typeOnly.length
			? { peerDependencies: Object.fromEntries(typeOnly.map(name => [name, lockedVersion(name)])), peerDependenciesMeta: Object.fromEntries(typeOnly.map(name => [name, { optional: true }])) }
			: {}),
	};
	fs.writeFileSync(path.join(out, "package.json"), `${JSON.stringify(manifest, null, 2)}\n`);
	fs.writeFileSync(path.join(out, "README.md"), readme());
	if (fs.existsSync(path.join(root, "LICENSE"))) fs.copyFileSync(path.join(root, "LICENSE"), path.join(out, "LICENSE"));
	const packed = execFileSync("npm", ["pack", "--pack-destination", dist, "--json"], { cwd: out, encoding: "utf8" });
	const [{ filename }] = JSON.parse(packed) as { filename: string }[];
	process.stdout.write(`${path.join(dist, filename)}\n`);
}

main();
