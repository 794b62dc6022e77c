import { createSpinner } from "nanospinner";
import type { Output } from "./io";

/**
 * Progress of a long wait, on stderr so that stdout stays the command's result. On a terminal it is
 * a spinner whose text follows the state; elsewhere (a pipe, CI, a test) one line per change of
 * state, which reads well in a log. `--quiet` keeps only the final line.
 */
export interface Progress {
	update(text: string): void;
	succeed(text: string): void;
	fail(text: string): void;
}

/**
 * Whether to animate: both streams are terminals, as nanospinner itself assumes (it checks stdout
 * to decide how to redraw), and the terminal is not a dumb one or a CI log.
 */
export function canAnimate(stdout: Output, stderr: Output, env: Record<string, string | undefined>): boolean {
	return Boolean(stdout.isTTY && stderr.isTTY && env.TERM !== "dumb" && !("CI" in env));
}

export function createProgress(stderr: Output, text: string, opts: { quiet?: boolean; animate?: boolean } = {}): Progress {
	if (opts.animate && !opts.quiet) {
		// nanospinner counts the lines to clear from the stream's width; a terminal that reports none
		// (0 or undefined, e.g. under `script`) would make that count infinite.
		const columns = (stderr as { columns?: number }).columns;
		const stream = { write: (s: string) => stderr.write(s), columns: columns && columns > 0 ? columns : 80 };
		const spinner = createSpinner(text, { stream: stream as unknown as NodeJS.WriteStream }).start();
		return {
			update: t => {
				spinner.update({ text: t });
			},
			succeed: t => {
				spinner.success({ text: t });
			},
			fail: t => {
				spinner.error({ text: t });
			},
		};
	}
	let last = "";
	const line = (t: string) => {
		if (opts.quiet || t === last) return;
		last = t;
		stderr.write(`… ${t}\n`);
	};
	line(text);
	return {
		update: line,
		succeed: t => stderr.write(`✔ ${t}\n`),
		fail: t => stderr.write(`✖ ${t}\n`),
	};
}
