import { execFileSync } from "node:child_process";
import type { Command } from "commander";
import { buildProgram, run } from "../../lib/cli/main";
import { completionTree } from "../../lib/cli/completion";

async function script(shell: string) {
	let stdout = "";
	let stderr = "";
	const code = await run(["completion", shell], { stdout: { write: s => (stdout += s) }, stderr: { write: s => (stderr += s) }, env: {} });
	return { code, stdout, stderr };
}

/** What bash completes after these words (the last one being typed), with the script sourced. */
function bashComplete(bashScript: string, words: string[]): string[] {
	const program = `${bashScript}
COMP_WORDS=(${words.map(w => `'${w}'`).join(" ")}); COMP_CWORD=${words.length - 1}
_berth; printf '%s\\n' "\${COMPREPLY[@]}"`;
	return execFileSync("bash", ["--norc", "-c", program], { encoding: "utf8" }).split("\n").filter(Boolean);
}

const program = buildProgram({ stdout: { write: () => true }, stderr: { write: () => true }, env: {} });
const named = (cmd: Command, name: string) => cmd.commands.find(c => c.name() === name)!;

describe("berth completion", () => {
	it("prints a bash script naming every command and subcommand of commander's tree", async () => {
		const { code, stdout } = await script("bash");
		expect(code).toBe(0);
		expect(stdout).toMatch(/^# bash completion for berth/);
		expect(stdout).toContain("complete -o default -F _berth berth");
		const tree = completionTree(program);
		expect(tree.map(n => n.path)).toEqual(expect.arrayContaining(["berth", "berth deployments", "berth specs", "berth inventory", "berth jobs", "berth apps"]));
		for (const node of tree) {
			expect(stdout).toContain(`"${node.path}") echo "`);
			for (const sub of node.subcommands) expect(stdout).toContain(`"${node.path}|${sub.name}"`);
		}
		// Aliases resolve to the command.
		for (const sub of program.commands) for (const alias of sub.aliases()) expect(stdout).toContain(`"berth|${alias}"`);
	});

	it("completes commands, subcommands and options in bash", async () => {
		const { stdout } = await script("bash");
		expect(bashComplete(stdout, ["berth", "sp"])).toEqual(["specs"]);
		expect(bashComplete(stdout, ["berth", "specs", ""]).filter(w => !w.startsWith("-"))).toEqual(named(program, "specs").commands.map(c => c.name()));
		expect(bashComplete(stdout, ["berth", "jobs", "logs", "--f"])).toEqual(["--follow"]);
		expect(bashComplete(stdout, ["berth", "inventory", "adopt", "--co"])).toEqual(["--confirm"]);
		expect(bashComplete(stdout, ["berth", "--json", "apps", "de"])).toEqual(["delete"]);
		expect(bashComplete(stdout, ["berth", "completion", ""])).toEqual(expect.arrayContaining(["--help", "--profile"]));
	});

	it("prints a zsh script with the same tree", async () => {
		const { code, stdout } = await script("zsh");
		expect(code).toBe(0);
		expect(stdout.split("\n")[0]).toBe("#compdef berth");
		expect(stdout).toContain("compdef _berth berth");
		for (const node of completionTree(program)) expect(stdout).toContain(`"${node.path}") echo "`);
		// zsh's $path is PATH: the script must not assign it.
		expect(stdout).not.toMatch(/\bpath=/);
	});

	it("refuses another shell", async () => {
		expect(await script("fish")).toEqual({ code: 2, stdout: "", stderr: 'Error: No completion for "fish": bash or zsh.\n' });
	});
});
