import * as fs from "node:fs";
import * as path from "node:path";

/**
 * `npm ci` refuses a lockfile that lacks an entry for any optional dependency, other platforms'
 * binaries (@swc/core-darwin-*, …) included, although it installs only this platform's: an `npm
 * install` on one machine can drop them and break `npm ci` on a clean clone (CI, Docker builds).
 */
interface LockedPackage {
	optionalDependencies?: Record<string, string>;
	dependencies?: Record<string, string>;
}

const ROOT = path.resolve(__dirname, "../..");
const lock = JSON.parse(fs.readFileSync(path.join(ROOT, "package-lock.json"), "utf8")) as { lockfileVersion: number; packages: Record<string, LockedPackage> };

/** Where Node would find `dep` from the package at `from`: its own node_modules, then each parent's. */
function resolves(from: string, dep: string): boolean {
	for (let dir = from; ; dir = dir.slice(0, Math.max(0, dir.lastIndexOf("/node_modules/")))) {
		if (lock.packages[`${dir ? `${dir}/` : ""}node_modules/${dep}`]) return true;
		if (!dir) return false;
	}
}

/** Every declared dependency without a lockfile entry Node could resolve it to, as `from -> dep`. */
function unlocked(kind: keyof LockedPackage): string[] {
	return Object.entries(lock.packages).flatMap(([from, pkg]) => Object.keys(pkg[kind] ?? {}).filter(dep => !resolves(from, dep)).map(dep => `${from || "(root)"} -> ${dep}`));
}

describe("package-lock.json is complete for npm ci", () => {
	it("is a lockfile v3 with a packages map", () => {
		expect(lock.lockfileVersion).toBe(3);
	});

	it("locks every optional dependency, other platforms' binaries included", () => {
		expect(unlocked("optionalDependencies")).toEqual([]);
	});

	it("locks every direct dependency of the project", () => {
		const root = lock.packages[""] as LockedPackage & { devDependencies?: Record<string, string> };
		const direct = [...Object.keys(root.dependencies ?? {}), ...Object.keys(root.devDependencies ?? {})];
		expect(direct.filter(dep => !resolves("", dep))).toEqual([]);
	});
});
