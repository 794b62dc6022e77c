import { InvalidArgumentError } from "commander";
import type { DeploymentVolume } from "../manifests/deployment";
import type { Profile } from "./profiles";

/**
 * Parsers for option values. Each throws commander's InvalidArgumentError, which commander reports
 * as "error: option '--x <v>' argument 'y' is invalid. <reason>" with exit code 2.
 */

/** Collects a repeatable option: `--env A=1 --env B=2`. */
export function collect(value: string, previous: string[] = []): string[] {
	return [...previous, value];
}

export function integer(min: number, max: number) {
	return (value: string): number => {
		const n = Number(value);
		if (!/^-?\d+$/.test(value.trim()) || !Number.isSafeInteger(n)) throw new InvalidArgumentError("Not a whole number.");
		if (n < min || n > max) throw new InvalidArgumentError(`Must be between ${min} and ${max}.`);
		return n;
	};
}

const unitSeconds: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86400 };

/** `90`, `90s`, `5m`, `2h`, `1d` → seconds. */
export function duration(value: string): number {
	const m = /^(\d+)\s*([smhd]?)$/.exec(value.trim());
	if (!m || Number(m[1]) <= 0) throw new InvalidArgumentError('Expected a duration such as "90", "90s", "5m" or "1h".');
	return Number(m[1]) * unitSeconds[m[2] || "s"];
}

/** `KEY=VALUE` → [key, value]; the value may hold `=` and may be empty. */
export function keyValue(pair: string): [string, string] {
	const idx = pair.indexOf("=");
	if (idx <= 0) throw new InvalidArgumentError(`Expected KEY=VALUE, got "${pair}".`);
	return [pair.slice(0, idx), pair.slice(idx + 1)];
}

export function keyValues(pairs: string[]): [string, string][] {
	return pairs.map(keyValue);
}

/** `CLAIM:/mount/path[:ro]` → a deployment volume mounting that claim. */
export function volumeSpec(spec: string): DeploymentVolume {
	const m = /^([a-z0-9]([-a-z0-9.]*[a-z0-9])?):(\/[^:]*)(:(ro|rw))?$/.exec(spec);
	if (!m) throw new InvalidArgumentError(`Expected CLAIM:/mount/path or CLAIM:/mount/path:ro, got "${spec}".`);
	const claim = m[1];
	return { name: claim.replace(/\./g, "-").slice(0, 63), type: "persistentVolumeClaim", mountPath: m[3], persistentVolumeClaim: { claimName: claim }, ...(m[5] === "ro" ? { readOnly: true } : {}) };
}

/** An expiry: an ISO date, or a duration from now (`30d`, `12h`). */
export function expiry(value: string, now = Date.now()): string {
	if (/^\d+\s*[smhd]$/.test(value.trim())) return new Date(now + duration(value) * 1000).toISOString();
	const t = Date.parse(value);
	if (Number.isNaN(t)) throw new InvalidArgumentError('Expected an ISO date ("2026-12-31T23:59:59Z") or a duration ("30d").');
	return new Date(t).toISOString();
}

/** A starting time: an ISO date, or a duration back from now (`1h`, `7d`). */
export function since(value: string, now = Date.now()): string {
	if (/^\d+\s*[smhd]$/.test(value.trim())) return new Date(now - duration(value) * 1000).toISOString();
	const t = Date.parse(value);
	if (Number.isNaN(t)) throw new InvalidArgumentError('Expected an ISO date ("2026-01-31T12:00:00Z") or a duration back from now ("1h", "7d").');
	return new Date(t).toISOString();
}

/** A param value typed on the command line: JSON when it parses (numbers, booleans, objects), text otherwise. */
export function looseValue(text: string): unknown {
	try {
		return JSON.parse(text);
	} catch {
		return text;
	}
}

/**
 * Where the gateway is and which key to present, field by field: flags first, then BERTH_* variables,
 * then the profile in use (lib/cli/profiles.ts), then the defaults.
 */
export function connection(flags: { host?: string; port?: number; apiKey?: string }, env: Record<string, string | undefined>, profile?: Profile): { host: string; port?: number; apiKey?: string } {
	const host = flags.host || env.BERTH_HOST || profile?.host || "127.0.0.1";
	let port = flags.port;
	if (port === undefined && env.BERTH_PORT) {
		try {
			port = integer(1, 65535)(env.BERTH_PORT);
		} catch {
			throw new InvalidArgumentError(`BERTH_PORT="${env.BERTH_PORT}" is not a port number.`);
		}
	}
	port ??= profile?.port;
	// A host given as a URL keeps its own port unless one is named.
	if (port === undefined && !/^[a-z][a-z0-9+.-]*:\/\//i.test(host)) port = 3000;
	return { host, port, apiKey: flags.apiKey || env.BERTH_API_KEY || profile?.apiKey || undefined };
}
