import * as fs from "node:fs";
import * as path from "node:path";
import { parse } from "yaml";
import { repoRoot } from "./cluster";

/** A Berth node of docker-compose.yml (a service built from this repository), as compose would run it. */
export interface ComposeNode {
	name: string;
	replicas: number;
	env: Record<string, string>;
	volumes: string[];
	ports: string[];
}

interface ComposeService {
	build?: unknown;
	deploy?: { replicas?: number };
	environment?: Record<string, string | number | boolean>;
	volumes?: string[];
	ports?: string[];
}

/** `${NAME:?message}`, `${NAME:-default}` and `${NAME}` as compose reads them, from `vars`. */
export function interpolate(text: string, vars: Record<string, string>): string {
	return text.replace(/\$\{([A-Z_][A-Z0-9_]*)(?::([?-])([^}]*))?\}/g, (_, name: string, op?: string, arg?: string) => {
		const value = vars[name];
		if (value !== undefined && value !== "") return value;
		if (op === "?") throw new Error(`docker-compose.yml needs ${name}: ${arg}`);
		return op === "-" ? (arg ?? "") : "";
	});
}

export const composeFile = path.join(repoRoot, "docker-compose.yml");

/** The Berth nodes of docker-compose.yml, with `vars` standing in for the operator's .env. */
export function composeNodes(vars: Record<string, string>): ComposeNode[] {
	const doc = parse(interpolate(fs.readFileSync(composeFile, "utf8"), vars), { merge: true }) as { services: Record<string, ComposeService> };
	return Object.entries(doc.services)
		.filter(([, svc]) => svc.build !== undefined)
		.map(([name, svc]) => ({
			name,
			replicas: svc.deploy?.replicas ?? 1,
			env: Object.fromEntries(Object.entries(svc.environment ?? {}).map(([k, v]) => [k, String(v)])),
			volumes: svc.volumes ?? [],
			ports: svc.ports ?? [],
		}));
}

/** The services a node runs, from its SERVICES. */
export function servicesOf(node: ComposeNode): string[] {
	return (node.env.SERVICES ?? "").split(",").map(s => s.trim()).filter(Boolean);
}
