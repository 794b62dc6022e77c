import { run } from "../../lib/cli/main";

export interface CliResult {
	code: number;
	stdout: string;
	stderr: string;
	/** stdout parsed as JSON (for --json runs). */
	json<T = any>(): T;
}

/** Runs `berth` in-process with these arguments and environment, capturing its output. */
export async function berth(argv: string[], env: Record<string, string | undefined>, opts: { signal?: AbortSignal } = {}): Promise<CliResult> {
	let stdout = "";
	let stderr = "";
	const code = await run(argv, {
		stdout: { write: (s: string) => (stdout += s) },
		stderr: { write: (s: string) => (stderr += s), isTTY: false },
		// No profiles unless a test names its own file: a developer's ~/.config/berth must not reach these runs.
		env: { BERTH_CONFIG: "/nonexistent/berth/config.json", ...env },
		signal: opts.signal,
	});
	return {
		code,
		stdout,
		stderr,
		json: () => {
			try {
				return JSON.parse(stdout);
			} catch {
				throw new Error(`berth ${argv.join(" ")} printed no JSON (exit ${code}):\n${stdout}\n${stderr}`);
			}
		},
	};
}
