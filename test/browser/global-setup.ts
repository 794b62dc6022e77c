import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import integrationSetup from "../integration/global-setup";
import { repoRoot } from "../helpers/cluster";
import { chromiumPath } from "./browser";

/**
 * The browser tier needs what the integration tier needs (the local control plane), plus Debian's
 * Chromium (scripts/test.sh installs it) and the dashboard's build (built here when missing).
 * Anything missing fails every browser test with what to do; nothing is skipped.
 */
export default async function globalSetup(): Promise<void> {
	await integrationSetup();
	const chromium = chromiumPath();
	if (!fs.existsSync(chromium)) {
		throw new Error(`Browser tests need Chromium at ${chromium}, which is missing. Install Debian's package (\`apt-get install -y chromium\`; scripts/test.sh does it) or set CHROMIUM_PATH.`);
	}
	const index = path.join(repoRoot, "dist", "ui", "index.html");
	const sources = path.join(repoRoot, "ui", "src");
	const newest = (dir: string): number => Math.max(...fs.readdirSync(dir, { withFileTypes: true }).map(e => (e.isDirectory() ? newest(path.join(dir, e.name)) : fs.statSync(path.join(dir, e.name)).mtimeMs)));
	if (!fs.existsSync(index) || fs.statSync(index).mtimeMs < newest(sources)) {
		console.log("[browser] building the dashboard (vite build ui)");
		const vite = path.join(repoRoot, "node_modules", ".bin", "vite");
		const res = spawnSync(vite, ["build", "ui", "--logLevel", "warn"], { cwd: repoRoot, stdio: "inherit" });
		if (res.status !== 0) throw new Error(`Browser tests need the dashboard built into dist/ui, and \`vite build ui\` failed (exit ${res.status}).`);
	}
}
