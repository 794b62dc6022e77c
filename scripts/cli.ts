#!/usr/bin/env node
/** The `berth` command (package.json "bin"): lib/cli/main.ts against this process. */
import { run } from "../lib/cli/main";

const controller = new AbortController();
// The first Ctrl-C ends a follow or a wait cleanly; a second one ends the process at once.
process.once("SIGINT", () => {
	controller.abort();
	process.once("SIGINT", () => process.exit(130));
});

run(process.argv.slice(2), { stdout: process.stdout, stderr: process.stderr, env: process.env, signal: controller.signal }).then(
	code => {
		process.exitCode = code;
	},
	err => {
		process.stderr.write(`berth: ${(err as Error)?.stack ?? String(err)}\n`);
		process.exitCode = 1;
	},
);
