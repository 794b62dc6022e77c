import type { Command } from "commander";
import { subcommand, UsageError } from "../context";
import { table } from "../format";
import { ExitCode, type CliIO } from "../io";
import { connection } from "../parse";
import { configPath, keyHint, readConfig, removeProfile, saveProfile } from "../profiles";

/** `berth login`, `logout` and `profiles`: stored connections (lib/cli/profiles.ts). */
export function registerProfiles(program: Command, io: CliIO): void {
	const about = "check a key against the gateway and store it as a profile (--profile, default \"default\"), made current";
	subcommand(program, io, { use: "login", about }, async ctx => {
		const { host, port, apiKey } = ctx.options;
		const givenHost = host || ctx.io.env.BERTH_HOST;
		const givenKey = apiKey || ctx.io.env.BERTH_API_KEY;
		if (!givenHost || !givenKey) throw new UsageError("berth login needs --host and --api-key (or BERTH_HOST and BERTH_API_KEY).");
		const conn = connection(ctx.options, ctx.io.env);
		// A cheap authenticated read: 401 for a wrong, revoked or expired key.
		await ctx.clientFor(conn).keys.list();
		const name = ctx.options.profile || ctx.io.env.BERTH_PROFILE || "default";
		const file = configPath(ctx.io.env);
		saveProfile(file, name, { host: conn.host, ...(conn.port !== undefined ? { port: conn.port } : {}), apiKey: givenKey });
		ctx.emit({ profile: name, host: conn.host, port: conn.port, key: keyHint(givenKey), config: file }, () => `Logged in to ${conn.host}${conn.port ? `:${conn.port}` : ""} as profile "${name}" (key ${keyHint(givenKey)}), stored in ${file}.\n`);
	});

	subcommand(program, io, { use: "logout [profile]", about: "forget a stored profile (default: the current one)" }, async (ctx, named: string | undefined) => {
		const file = configPath(ctx.io.env);
		const name = named || ctx.options.profile || ctx.io.env.BERTH_PROFILE || readConfig(file).current;
		if (!name || !removeProfile(file, name)) {
			ctx.io.stderr.write(name ? `Error: no profile "${name}" in ${file}.\n` : `Error: no current profile in ${file}.\n`);
			return ExitCode.Failed;
		}
		ctx.emit({ removed: name }, () => `Profile "${name}" removed.\n`);
	});

	subcommand(program, io, { use: "profiles", about: "the stored profiles (keys by prefix only)" }, async ctx => {
		const file = configPath(ctx.io.env);
		const config = readConfig(file);
		const rows = Object.entries(config.profiles).map(([name, p]) => ({ name, current: name === config.current, host: p.host, port: p.port, key: keyHint(p.apiKey) }));
		ctx.emit({ config: file, current: config.current ?? null, profiles: rows }, () =>
			table(rows, [
				{ header: "current", value: r => (r.current ? "*" : "") },
				{ header: "name", value: r => r.name },
				{ header: "host", value: r => r.host },
				{ header: "port", value: r => r.port },
				{ header: "key", value: r => r.key },
			], `No profiles in ${file}: create one with \`berth login --host <host> --api-key <key>\`.`),
		);
	});
}
