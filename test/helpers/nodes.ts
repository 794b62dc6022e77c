import { spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { repoRoot } from "./cluster";

/** A Berth node as its own OS process (dist/scripts/start.js), as it runs in production. */
export interface NodeProcess {
	name: string;
	proc: ChildProcess;
	output: () => string;
	kill(signal?: NodeJS.Signals): Promise<void>;
}

/** A port nothing listens on now (the benchmarks' helper: one copy for both). */
export { freePort } from "../../scripts/bench/util";

const startScript = path.join(repoRoot, "dist", "scripts", "start.js");

/** The nodes of one test process share a store, so they share the key its secret values are sealed under, as an operator's nodes do. */
const NODES_SECRETS_KEY = randomBytes(32).toString("base64");

/** Starts a node with the given environment; its output is kept for failure messages. */
export function startNode(name: string, env: Record<string, string>): NodeProcess {
	if (!fs.existsSync(startScript)) throw new Error(`${startScript} is missing: build first (npm run build; npm test does it)`);
	const proc = spawn(process.execPath, [startScript], { cwd: repoRoot, env: { ...process.env, LOG_LEVEL: "warn", BERTH_AUTO_CLUSTER: "false", NODE_ID: name, SECRETS_KEY: process.env.SECRETS_KEY ?? NODES_SECRETS_KEY, ...env }, stdio: ["ignore", "pipe", "pipe"] });
	let out = "";
	proc.stdout?.on("data", d => (out = (out + String(d)).slice(-20_000)));
	proc.stderr?.on("data", d => (out = (out + String(d)).slice(-20_000)));
	return {
		name,
		proc,
		output: () => out,
		kill: (signal: NodeJS.Signals = "SIGTERM") =>
			new Promise<void>(resolve => {
				if (proc.exitCode !== null || proc.signalCode !== null) return resolve();
				proc.once("exit", () => resolve());
				proc.kill(signal);
			}),
	};
}
