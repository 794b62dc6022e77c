import { Option, type Command } from "commander";
import type { KeyEntity } from "../../client";
import { subcommand, type CommandSpec } from "../context";
import { age, details, table } from "../format";
import type { CliIO } from "../io";
import { collect, expiry } from "../parse";

function keyDetails(k: KeyEntity): [string, unknown][] {
	return [
		["id", k.id],
		["name", k.name],
		["user", k.userID],
		["roles", k.roles],
		["namespaces", k.namespaces ?? "all"],
		["expires", k.expiresAt ?? "never"],
		["revoked", k.revokedAt],
		["prefix", k.prefix],
		["created", k.createdAt],
	];
}

const keyColumns = [
	{ header: "id", value: (k: KeyEntity) => k.id },
	{ header: "name", value: (k: KeyEntity) => k.name },
	{ header: "user", value: (k: KeyEntity) => k.userID },
	{ header: "roles", value: (k: KeyEntity) => k.roles },
	{ header: "namespaces", value: (k: KeyEntity) => k.namespaces ?? "all" },
	{ header: "expires", value: (k: KeyEntity) => k.expiresAt ?? "never" },
	{ header: "state", value: (k: KeyEntity) => (k.revokedAt ? "revoked" : k.expiresAt && Date.parse(k.expiresAt) <= Date.now() ? "expired" : "active") },
	{ header: "age", value: (k: KeyEntity) => age(k.createdAt) },
];

export function registerKeys(program: Command, io: CliIO): void {
	const keys = program.command("keys").description("API keys");
	for (const add of [keysList, keysCreate, keysGet, keysRevoke]) add(keys, io);
}

function keysList(keys: Command, io: CliIO): void {
	subcommand(keys, io, { use: "list", alias: "ls", about: "your keys (an admin: every key); never the keys themselves" }, async ctx => {
		const list = await ctx.client.keys.list();
		ctx.emit(list, () => table(list, keyColumns, "No keys."));
	});
}

function keysCreate(keys: Command, io: CliIO): void {
	const options = [
		new Option("--role <role>", "user (default) or admin (admins only)").choices(["user", "admin"]),
		["--user <id>", "whose key it is (admins only; default: you)"],
		["--namespace <name>", "confine the key to this namespace (repeatable)", collect, []],
		["--expires <when>", 'an ISO date, or a duration from now ("30d")'],
	] satisfies CommandSpec["options"];
	subcommand(keys, io, { use: "create <name>", about: "a new key; it is shown once", options }, async (ctx, name: string, flags: { role?: string; user?: string; namespace: string[]; expires?: string }) => {
		const created = await ctx.client.keys.create({
			name,
			...(flags.role ? { roles: [flags.role] } : {}),
			...(flags.user ? { userID: flags.user } : {}),
			...(flags.namespace.length ? { namespaces: flags.namespace } : {}),
			...(flags.expires ? { expiresAt: expiry(flags.expires) } : {}),
		});
		ctx.emit(created, () => `Key ${created.name} created. It is shown this once; keep it safe:\n\n  ${created.key}\n\n${details(keyDetails(created))}`);
	});
}

function keysGet(keys: Command, io: CliIO): void {
	subcommand(keys, io, { use: "get <id>", about: "one key" }, async (ctx, id: string) => {
		const key = await ctx.client.keys.get(id);
		ctx.emit(key, () => details(keyDetails(key)));
	});
}

function keysRevoke(keys: Command, io: CliIO): void {
	subcommand(keys, io, { use: "revoke <id>", about: "revoke a key: it stops working at once" }, async (ctx, id: string) => {
		const key = await ctx.client.keys.revoke(id);
		ctx.emit(key, () => `Key ${key.name} (${key.id}) revoked.\n`);
	});
}
