import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";

/**
 * Stored connections (`berth login`): a JSON file, mode 0600 in a 0700 directory, since it holds
 * API keys. `$BERTH_CONFIG`, else `~/.config/berth/config.json`.
 */

export interface Profile {
	host: string;
	port?: number;
	apiKey: string;
}

export interface CliConfig {
	/** The profile used when neither --profile nor BERTH_PROFILE names one. */
	current?: string;
	profiles: Record<string, Profile>;
}

/** A config file that cannot be read as one (exit code 2: the user's file, not the gateway). */
export class ConfigError extends Error {
	override readonly name = "ConfigError";
}

export function configPath(env: Record<string, string | undefined>): string {
	if (env.BERTH_CONFIG) return env.BERTH_CONFIG;
	return path.join(env.HOME || os.homedir(), ".config", "berth", "config.json");
}

export function readConfig(file: string): CliConfig {
	let text: string;
	try {
		text = fs.readFileSync(file, "utf8");
	} catch (err) {
		if ((err as NodeJS.ErrnoException).code === "ENOENT") return { profiles: {} };
		throw new ConfigError(`Cannot read ${file}: ${(err as Error).message}`);
	}
	let parsed: Partial<CliConfig>;
	try {
		parsed = JSON.parse(text) as Partial<CliConfig>;
	} catch {
		throw new ConfigError(`${file} is not valid JSON: fix it or remove it and log in again.`);
	}
	if (!parsed || typeof parsed !== "object" || (parsed.profiles !== undefined && typeof parsed.profiles !== "object")) throw new ConfigError(`${file} is not a berth config file.`);
	return { ...(typeof parsed.current === "string" ? { current: parsed.current } : {}), profiles: parsed.profiles ?? {} };
}

/** Writes the whole file at once (a temporary file renamed over it), 0600; the directory is made 0700. */
export function writeConfig(file: string, config: CliConfig): void {
	const dir = path.dirname(file);
	fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
	const tmp = path.join(dir, `.${path.basename(file)}.${process.pid}.tmp`);
	fs.writeFileSync(tmp, `${JSON.stringify(config, null, 2)}\n`, { mode: 0o600 });
	fs.chmodSync(tmp, 0o600);
	fs.renameSync(tmp, file);
}

/** Adds or replaces a profile and makes it the current one. */
export function saveProfile(file: string, name: string, profile: Profile): CliConfig {
	const config = readConfig(file);
	const next: CliConfig = { current: name, profiles: { ...config.profiles, [name]: profile } };
	writeConfig(file, next);
	return next;
}

/** Removes a profile; the current one moves to another profile, if any is left. Answers whether it existed. */
export function removeProfile(file: string, name: string): boolean {
	const config = readConfig(file);
	if (!config.profiles[name]) return false;
	const { [name]: _removed, ...rest } = config.profiles;
	const current = config.current === name ? Object.keys(rest)[0] : config.current;
	writeConfig(file, { ...(current ? { current } : {}), profiles: rest });
	return true;
}

/** How a key is shown: its public prefix only (`berth_0123456789ab_…`), never the secret part. */
export function keyHint(key: string): string {
	const m = /^(berth_[0-9a-f]{12})_/.exec(key);
	return m ? `${m[1]}_…` : `${key.slice(0, 4)}…`;
}

/**
 * The profile a command uses: --profile, else BERTH_PROFILE, else the current one. The current one is
 * left out when --host or BERTH_HOST names a gateway, so a key stored for one gateway is not sent to
 * another unless a profile is named.
 */
export function selectProfile(config: CliConfig, named: string | undefined, hostGiven: boolean): { name: string; profile: Profile } | undefined {
	if (named) {
		const profile = config.profiles[named];
		if (!profile) throw new ConfigError(`No profile "${named}"${Object.keys(config.profiles).length ? ` (there are: ${Object.keys(config.profiles).join(", ")})` : ""}: create it with \`berth login --profile ${named}\`.`);
		return { name: named, profile };
	}
	if (hostGiven || !config.current || !config.profiles[config.current]) return undefined;
	return { name: config.current, profile: config.profiles[config.current] };
}
