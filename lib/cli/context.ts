import { Option, type Command } from "commander";
import { BerthApiError, BerthClient } from "../client";
import { json } from "./format";
import type { CliIO } from "./io";
import { connection } from "./parse";
import { configPath, readConfig, selectProfile } from "./profiles";
import { canAnimate, createProgress, type Progress } from "./progress";

export interface GlobalOptions {
	host?: string;
	port?: number;
	apiKey?: string;
	profile?: string;
	json?: boolean;
	quiet?: boolean;
}

/** What a command's action works with: the client, the output, and the global options. */
export class CommandContext {
	readonly options: GlobalOptions;
	private made?: BerthClient;

	constructor(
		readonly io: CliIO,
		command: Command,
	) {
		this.options = command.optsWithGlobals<GlobalOptions>();
	}

	/** The client for the gateway the flags, the variables and the profile in use name (made on first use). */
	get client(): BerthClient {
		if (!this.made) {
			const hostGiven = Boolean(this.options.host || this.io.env.BERTH_HOST);
			const used = selectProfile(readConfig(configPath(this.io.env)), this.options.profile || this.io.env.BERTH_PROFILE, hostGiven);
			this.made = this.clientFor(connection(this.options, this.io.env, used?.profile));
		}
		return this.made;
	}

	/** A client for this gateway and key, whatever the profile says (`berth login`). */
	clientFor(conn: { host: string; port?: number; apiKey?: string }): BerthClient {
		return new BerthClient({ host: conn.host, port: conn.port, apiKey: conn.apiKey, fetch: this.io.fetch });
	}

	get asJson(): boolean {
		return Boolean(this.options.json);
	}

	/** The result: as JSON with --json, else as the human rendering. */
	emit(value: unknown, human: () => string): void {
		this.io.stdout.write(this.asJson ? json(value) : human());
	}

	/** A line for people (a confirmation); not written with --json, where the JSON says it all. */
	say(line: string): void {
		if (!this.asJson) this.io.stdout.write(`${line}\n`);
	}

	progress(text: string): Progress {
		return createProgress(this.io.stderr, text, { quiet: this.options.quiet, animate: canAnimate(this.io.stdout, this.io.stderr, this.io.env) });
	}

	/** The list filter of `-n`, else BERTH_NAMESPACE; none (every namespace you see) without either. */
	namespaceFilter(flag: string | undefined): { namespace?: string } {
		const namespace = flag || this.io.env.BERTH_NAMESPACE;
		return namespace ? { namespace } : {};
	}

	/**
	 * The namespace a command acts in: `-n`, else BERTH_NAMESPACE, else your only namespace.
	 * Returns the name or id as given; the API takes either.
	 */
	async namespace(flag: string | undefined): Promise<string> {
		const given = flag || this.io.env.BERTH_NAMESPACE;
		if (given) return given;
		const mine = await this.client.namespaces.list();
		if (mine.length === 1) return mine[0].name;
		throw new UsageError(mine.length ? `You have ${mine.length} namespaces (${mine.map(n => n.name).join(", ")}): name one with -n or BERTH_NAMESPACE.` : "You have no namespace yet: create one with `berth namespaces create <name>`.");
	}
}

/** A mistake on the command line found while running (exit code 2). */
export class UsageError extends Error {
	override readonly name = "UsageError";
}

/** Makes an ID-or-name lookup among a listed set. */
export function pick<T extends { id: string; name?: string }>(items: T[], ref: string, what: string): T {
	const byId = items.find(i => i.id === ref);
	if (byId) return byId;
	const named = items.filter(i => i.name === ref);
	if (named.length === 1) return named[0];
	if (named.length > 1) throw new UsageError(`${named.length} ${what}s are named "${ref}": use the id, or name the namespace with -n.`);
	throw new BerthApiError(404, "NOT_FOUND", `${what[0].toUpperCase()}${what.slice(1)} "${ref}" not found`);
}

/** Wraps an action: builds its context from the command it was invoked with (the last argument). */
export function action<A extends unknown[]>(io: CliIO, fn: (ctx: CommandContext, ...args: A) => Promise<number | void>) {
	return async (...args: unknown[]): Promise<void> => {
		const command = args[args.length - 1] as Command;
		const ctx = new CommandContext(io, command);
		const code = await fn(ctx, ...(args.slice(0, -1) as A));
		if (typeof code === "number" && code !== 0) throw new ExitRequest(code);
	};
}

/** An action's own non-zero exit code (the failure itself was already reported). */
export class ExitRequest extends Error {
	constructor(readonly code: number) {
		super(`exit ${code}`);
	}
}

/** An option as `Command.option` takes it: flags, help, then a parser and its initial value, or a default. */
export type OptionArgs = [flags: string, description: string, parseOrDefault?: unknown, initial?: unknown];

/** What a subcommand is: its usage (`"get <deployment>"`), an alias, its help, and its options in the order help lists them. */
export interface CommandSpec {
	use: string;
	alias?: string;
	about: string;
	options?: (Option | OptionArgs)[];
}

/**
 * Adds one subcommand to `parent` and wires its action through `action` (the context, the exit code).
 * Every `berth` command but the root's own is declared with it.
 */
export function subcommand<A extends unknown[]>(parent: Command, io: CliIO, spec: CommandSpec, run: (ctx: CommandContext, ...args: A) => Promise<number | void>): Command {
	const cmd = parent.command(spec.use).description(spec.about);
	if (spec.alias) cmd.alias(spec.alias);
	for (const o of spec.options ?? []) {
		if (o instanceof Option) cmd.addOption(o);
		else if (typeof o[2] === "function") cmd.option(o[0], o[1], o[2] as (value: string, previous: unknown) => unknown, o[3]);
		else cmd.option(o[0], o[1], o[2] as string | boolean | string[] | undefined);
	}
	return cmd.action(action(io, run));
}

/** The -n option of the commands that act in one namespace. */
export function nsOption(help = "namespace name or id (default: BERTH_NAMESPACE, or your only one)"): Option {
	return new Option("-n, --namespace <namespace>", help);
}
