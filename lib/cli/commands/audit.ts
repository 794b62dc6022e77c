import type { Command } from "commander";
import type { AuditRecord } from "../../client";
import { nsOption, subcommand, type CommandSpec } from "../context";
import { age, table } from "../format";
import type { CliIO } from "../io";
import { integer, since } from "../parse";

const columns = [
	{ header: "age", value: (r: AuditRecord) => age(r.at) },
	{ header: "actor", value: (r: AuditRecord) => r.actor },
	{ header: "action", value: (r: AuditRecord) => r.action },
	{ header: "entity", value: (r: AuditRecord) => r.entity },
	{ header: "namespace", value: (r: AuditRecord) => r.namespaceName ?? r.namespace },
	{ header: "status", value: (r: AuditRecord) => (r.error ? `${r.status} ${r.error}` : r.status) },
	{ header: "via", value: (r: AuditRecord) => r.via },
];

/** `berth audit`: the audit trail, newest first (docs/api/audit.md). */
export function registerAudit(program: Command, io: CliIO): void {
	const options = [
		nsOption("only this namespace (name or id); yours to own or administer"),
		["--actor <userID>", "only calls by this user"],
		["--action <name>", "only this action, e.g. v1.k8s.deployments.create"],
		["--since <when>", 'only since then: an ISO date, or a duration back from now ("1h", "7d")', (v: string) => since(v)],
		["--limit <n>", "at most this many records (1-1000, default 100)", integer(1, 1000)],
	] satisfies CommandSpec["options"];
	const spec = { use: "audit", about: "who changed what: the audit trail of mutating calls, newest first", options };
	subcommand(program, io, spec, async (ctx, flags: { namespace?: string; actor?: string; action?: string; since?: string; limit?: number }) => {
		const records = await ctx.client.audit.list({ ...ctx.namespaceFilter(flags.namespace), actor: flags.actor, action: flags.action, since: flags.since, limit: flags.limit });
		ctx.emit(records, () => table(records, columns, "No records."));
	});
}
