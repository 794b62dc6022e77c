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

export function createProgress(stderr: Output, text: string, opts: { quiet?: boolean } = {}): Progress {
	if (stderr.isTTY && !opts.quiet) {
		const spinner = createSpinner(text, { stream: stderr as unknown as NodeJS.WriteStream }).start();
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
