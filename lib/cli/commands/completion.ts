import type { Command } from "commander";
import { bashCompletion, zshCompletion } from "../completion";
import { subcommand, UsageError } from "../context";
import type { CliIO } from "../io";

/** `berth completion bash|zsh`: the script for the whole program, so register it after every other command. */
export function registerCompletion(program: Command, io: CliIO): void {
	subcommand(program, io, { use: "completion <shell>", about: "print a completion script for bash or zsh: source <(berth completion bash)" }, async (ctx, shell: string) => {
		if (shell === "bash") ctx.io.stdout.write(bashCompletion(program));
		else if (shell === "zsh") ctx.io.stdout.write(zshCompletion(program));
		else throw new UsageError(`No completion for "${shell}": bash or zsh.`);
	});
}
