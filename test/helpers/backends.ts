import mongoose from "mongoose";
import { readClusterEnv, uniqueName } from "./cluster";

/** FerretDB's URI, from the environment or .cluster/env (scripts/cluster/up.sh writes it). */
export const mongoUri = process.env.MONGO_URI || readClusterEnv().MONGO_URI;

function requireMongo(): string {
	if (!mongoUri) throw new Error("MONGO_URI is not set and .cluster/env names none: FerretDB must be up (scripts/cluster/up.sh)");
	return mongoUri;
}

/** A database of its own per suite run: no rows from earlier runs or other suites; drop it afterwards. */
export function isolatedMongoUri(prefix = "berth_it"): string {
	const url = new URL(requireMongo());
	url.pathname = `/${uniqueName(prefix).replace(/-/g, "_")}`;
	return url.toString();
}

export async function dropDatabase(uri: string): Promise<void> {
	const conn = await mongoose.createConnection(uri, { serverSelectionTimeoutMS: 5000 }).asPromise();
	try {
		await conn.dropDatabase();
	} finally {
		await conn.close();
	}
}

/**
 * Every DB-backed suite runs on both backends; the service code does not know which.
 * Each entry gives the MONGO_URI to use (undefined: NeDB).
 */
export const backends = (prefix?: string): [string, () => string | undefined][] => [
	["NeDB", () => undefined],
	["FerretDB", () => isolatedMongoUri(prefix)],
];

/**
 * For suites that switch the process environment instead of passing a URI. FerretDB gets a
 * database of its own, so no other suite's reconciler ever sees (and re-applies) this suite's rows.
 */
export const envBackends: [string, () => void][] = [
	[
		"NeDB",
		() => {
			delete process.env.MONGO_URI;
			process.env.DATA_DIR = ":memory:";
		},
	],
	[
		"FerretDB",
		() => {
			process.env.MONGO_URI = isolatedMongoUri();
		},
	],
];

/** Points the next mesh at `uri` (FerretDB), or at NeDB when there is none. */
export function useStore(uri: string | undefined): void {
	if (uri) process.env.MONGO_URI = uri;
	else delete process.env.MONGO_URI;
}

/** After a suite: drops its FerretDB database, when it had one, and forgets MONGO_URI. */
export async function dropStore(uri: string | undefined): Promise<void> {
	if (uri) await dropDatabase(uri);
	delete process.env.MONGO_URI;
}
