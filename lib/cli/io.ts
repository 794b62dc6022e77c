/** Where the CLI writes and what it reads from its surroundings: the process's, or a test's. */
export interface Output {
	write(chunk: string): unknown;
	isTTY?: boolean;
}

export interface CliIO {
	stdout: Output;
	stderr: Output;
	env: Record<string, string | undefined>;
	/** Another fetch for the client (tests). */
	fetch?: typeof fetch;
	/** Aborts a follow or a wait (Ctrl-C). */
	signal?: AbortSignal;
}

/** Exit codes (docs/cli.md, "Output and exit codes"). */
export const ExitCode = {
	Ok: 0,
	/** The API refused the request, or what was waited for failed (a rollout, a job, an application). */
	Failed: 1,
	/** The command line is wrong. */
	Usage: 2,
	/** A wait ran out of time. */
	Timeout: 3,
	/** The gateway could not be reached. */
	Unreachable: 4,
	/** Interrupted (Ctrl-C). */
	Interrupted: 130,
} as const;
