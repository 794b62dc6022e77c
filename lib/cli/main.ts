import { Command, CommanderError, InvalidArgumentError, Option } from "commander";
import { BerthApiError, BerthConnectionError, BerthTimeoutError, BerthWaitError } from "../client";
import { registerApi } from "./commands/api";
import { registerApps } from "./commands/apps";
import { registerCompletion } from "./commands/completion";
import { registerAudit } from "./commands/audit";
import { registerDeployments } from "./commands/deployments";
import { registerImages } from "./commands/images";
import { registerJobs } from "./commands/jobs";
import { registerKeys } from "./commands/keys";
import { registerNamespaces } from "./commands/namespaces";
import { registerProfiles } from "./commands/profiles";
import { registerSpecs } from "./commands/specs";
import { registerInventory } from "./commands/inventory";
import { registerVolumes } from "./commands/volumes";
import { ExitRequest, subcommand, UsageError } from "./context";
import { details } from "./format";
import { ExitCode, type CliIO } from "./io";
import { integer } from "./parse";
import { ConfigError } from "./profiles";

const VERSION = "0.1.0";

/** The `berth` program, writing to `io`. A fresh one per run: commander keeps state in it. */
export function buildProgram(io: CliIO): Command {
	const program = new Command("berth")
		.description("Berth from the command line: namespaces, images, deployments, logs, env, volumes, jobs, applications and keys")
		.version(VERSION, "-V, --version")
		// The variables are read by `connection()` from the io's environment, not by commander from process.env.
		.addOption(new Option("--host <host>", "gateway host, or a URL such as https://berth.example.com (env: BERTH_HOST; default: 127.0.0.1)"))
		.addOption(new Option("--port <port>", "gateway port (env: BERTH_PORT; default: 3000)").argParser(integer(1, 65_535)))
		.addOption(new Option("--api-key <key>", "API key (env: BERTH_API_KEY)"))
		.addOption(new Option("--profile <name>", "a profile stored by `berth login` (env: BERTH_PROFILE; default: the current one)"))
		.option("--json", "print JSON instead of tables")
		.option("-q, --quiet", "no progress lines while waiting, only the outcome")
		.showHelpAfterError("(run with --help for usage)")
		.addHelpText(
			"after",
			`
Environment: BERTH_HOST, BERTH_PORT, BERTH_API_KEY, BERTH_PROFILE, BERTH_CONFIG (the profiles' file),
and BERTH_NAMESPACE (the default for -n). Each setting: its flag, else its variable, else the profile, else the default.
Exit codes: 0 done, 1 refused or failed, 2 usage, 3 a wait timed out, 4 gateway unreachable.
Example: berth deploy nginx -n team-a && berth logs nginx -n team-a -f`,
		)
		.configureOutput({
			writeOut: s => io.stdout.write(s),
			writeErr: s => io.stderr.write(s),
		})
		.exitOverride();
	subcommand(program, io, { use: "health", about: "whether the gateway and what it depends on are ready" }, async ctx => {
		const ready = await ctx.client.health.ready().catch(err => {
			// 503 carries the same body: say what is not ready rather than just "unavailable".
			if (err instanceof BerthApiError && err.status === 503 && err.data) return err.data as Awaited<ReturnType<typeof ctx.client.health.ready>>;
			throw err;
		});
		// The checks' details come only for an admin key; otherwise, the names of the failing ones.
		const checks = ready.checks ? Object.entries(ready.checks).map(([name, c]) => [name, `${c.ok ? "ok" : "FAILING"}: ${c.detail}`] as [string, unknown]) : ready.failing.map(name => [name, "FAILING"] as [string, unknown]);
		ctx.emit(ready, () => details([["status", ready.status], ...checks]));
		return ready.status === "ready" ? ExitCode.Ok : ExitCode.Failed;
	});

	registerNamespaces(program, io);
	registerImages(program, io);
	registerDeployments(program, io);
	registerVolumes(program, io);
	registerJobs(program, io);
	registerApps(program, io);
	registerKeys(program, io);
	registerAudit(program, io);
	registerSpecs(program, io);
	registerInventory(program, io);
	registerApi(program, io);
	registerProfiles(program, io);
	registerCompletion(program, io);

	// Subcommands inherit the output settings and the exit override.
	const inherit = (cmd: Command) => {
		for (const sub of cmd.commands) {
			sub.configureOutput({ writeOut: s => io.stdout.write(s), writeErr: s => io.stderr.write(s) }).exitOverride().showHelpAfterError("(run with --help for usage)");
			inherit(sub);
		}
	};
	inherit(program);
	return program;
}

/** The message for a failed request, with the fields at fault when the gateway names them. */
export function describeApiError(err: BerthApiError): string {
	const lines = [`Error: ${err.message} (${err.status} ${err.type})`];
	if (Array.isArray(err.data)) {
		for (const item of err.data as { field?: string; message?: string }[]) if (item && typeof item === "object" && item.message) lines.push(`  ${item.field ? `${item.field}: ` : ""}${item.message}`);
	} else if (err.data && typeof err.data === "object") {
		const shortfalls = (err.data as { shortfalls?: { resource: string; requested: unknown; used: unknown; hard: unknown }[] }).shortfalls;
		if (Array.isArray(shortfalls)) for (const s of shortfalls) lines.push(`  ${s.resource}: requested ${s.requested}, used ${s.used} of ${s.hard}`);
	}
	if (err.status === 401) lines.push("  Give a key with --api-key or BERTH_API_KEY, or log in with `berth login`.");
	return `${lines.join("\n")}\n`;
}

/**
 * Runs `berth` with these arguments (without "node" and the script) and answers the exit code:
 * 0 done, 1 refused or failed, 2 usage, 3 a wait timed out, 4 the gateway is unreachable.
 */
export async function run(argv: string[], io: CliIO): Promise<number> {
	const program = buildProgram(io);
	if (argv.length === 0) {
		program.outputHelp();
		return ExitCode.Usage;
	}
	try {
		await program.parseAsync(argv, { from: "user" });
		return ExitCode.Ok;
	} catch (err) {
		if (err instanceof ExitRequest) return err.code;
		if (err instanceof InvalidArgumentError) {
			// Thrown by an action's own parsing (commander reports the ones it catches itself).
			io.stderr.write(`Error: ${err.message}\n`);
			return ExitCode.Usage;
		}
		if (err instanceof CommanderError) {
			// Help and version "fail" with exit code 0; every other commander error is a usage error.
			return err.exitCode === 0 ? ExitCode.Ok : ExitCode.Usage;
		}
		if (err instanceof UsageError || err instanceof ConfigError) {
			io.stderr.write(`Error: ${err.message}\n`);
			return ExitCode.Usage;
		}
		if (err instanceof BerthApiError) {
			io.stderr.write(describeApiError(err));
			return ExitCode.Failed;
		}
		if (err instanceof BerthConnectionError) {
			io.stderr.write(`Error: ${err.message}\n  Is the gateway running? Set --host/--port or BERTH_HOST/BERTH_PORT.\n`);
			return ExitCode.Unreachable;
		}
		if (err instanceof BerthTimeoutError) {
			io.stderr.write(`Error: ${err.message}\n`);
			return ExitCode.Timeout;
		}
		if (err instanceof BerthWaitError) {
			io.stderr.write(`Error: ${err.message}\n`);
			return ExitCode.Failed;
		}
		if (io.signal?.aborted) return ExitCode.Interrupted;
		io.stderr.write(`Error: ${(err as Error)?.message ?? String(err)}\n`);
		return ExitCode.Failed;
	}
}
