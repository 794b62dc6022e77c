import type { Command } from "commander";

/**
 * Shell completion scripts made from commander's own tree of commands, so they name exactly the
 * commands, aliases and options `berth` has. Pure functions of the program.
 */

export interface CompletionNode {
	/** "berth", "berth deployments", ... (canonical names). */
	path: string;
	/** Subcommands: the name and its aliases. */
	subcommands: { name: string; aliases: string[] }[];
	/** Long and short flags of this command and the global ones, then --help. */
	options: string[];
}

function flagsOf(cmd: Command): string[] {
	return cmd.options.flatMap(o => [o.long, o.short].filter((f): f is string => Boolean(f)));
}

/** Every command of the tree, depth first from the root. */
export function completionTree(program: Command): CompletionNode[] {
	const global = flagsOf(program);
	const nodes: CompletionNode[] = [];
	const visit = (cmd: Command, path: string) => {
		const visible = cmd.commands.filter(c => c.name() !== "help");
		const own = cmd === program ? global : flagsOf(cmd);
		nodes.push({
			path,
			subcommands: visible.map(c => ({ name: c.name(), aliases: c.aliases() })),
			options: [...new Set([...own, ...global, "--help"])],
		});
		for (const sub of visible) visit(sub, `${path} ${sub.name()}`);
	};
	visit(program, program.name());
	return nodes;
}

/** The shell functions both scripts share: which word is a subcommand, and what completes where. */
function sharedFunctions(nodes: CompletionNode[], prefix: string): string {
	const subCases = nodes.flatMap(n => n.subcommands.map(s => `\t\t${[s.name, ...s.aliases].map(w => `"${n.path}|${w}"`).join("|")}) echo "${s.name}" ;;`));
	const wordCases = nodes.map(n => `\t\t"${n.path}") echo "${[...n.subcommands.map(s => s.name), ...n.options].join(" ")}" ;;`);
	return [
		`# The subcommand a word names under a command (aliases resolved), or nothing.`,
		`${prefix}_sub() {`,
		`\tcase "$1|$2" in`,
		...subCases,
		`\tesac`,
		`}`,
		`# What may follow a command: its subcommands and options.`,
		`${prefix}_words() {`,
		`\tcase "$1" in`,
		...wordCases,
		`\tesac`,
		`}`,
	].join("\n");
}

/** `source <(berth completion bash)`, or save it under /etc/bash_completion.d/berth. */
export function bashCompletion(program: Command): string {
	const name = program.name();
	const fn = `_${name}`;
	return `# bash completion for ${name}: source <(${name} completion bash)
${sharedFunctions(completionTree(program), fn)}
${fn}() {
	local cur="\${COMP_WORDS[COMP_CWORD]}" cmd="${name}" i sub
	for ((i = 1; i < COMP_CWORD; i++)); do
		sub="$(${fn}_sub "$cmd" "\${COMP_WORDS[i]}")"
		[[ -n "$sub" ]] && cmd="$cmd $sub"
	done
	COMPREPLY=($(compgen -W "$(${fn}_words "$cmd")" -- "$cur"))
}
complete -o default -F ${fn} ${name}
`;
}

/** `source <(berth completion zsh)` after compinit, or save it as _berth in a directory of $fpath. */
export function zshCompletion(program: Command): string {
	const name = program.name();
	const fn = `_${name}`;
	return `#compdef ${name}
# zsh completion for ${name}: source <(${name} completion zsh), after compinit
${sharedFunctions(completionTree(program), fn)}
${fn}() {
	local cmd="${name}" i sub
	for ((i = 2; i < CURRENT; i++)); do
		sub="$(${fn}_sub "$cmd" "\${words[i]}")"
		[[ -n "$sub" ]] && cmd="$cmd $sub"
	done
	compadd -- $(${fn}_words "$cmd")
}
if [[ "\${funcstack[1]}" == "${fn}" ]]; then
	${fn} "$@"
else
	compdef ${fn} ${name}
fi
`;
}
