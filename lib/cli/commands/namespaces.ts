import { Option, type Command } from "commander";
import type { NamespaceEntity, QuotaInput } from "../../client";
import { subcommand } from "../context";
import { age, details, pairs, quotaRows, table } from "../format";
import type { CliIO } from "../io";
import { integer } from "../parse";

interface QuotaFlags {
	cpu?: string;
	memory?: string;
	storage?: string;
	pods?: number;
	gpu?: number;
}

/** The quota options of `create` and `quota`. */
function quotaOptions(): Option[] {
	return [
		new Option("--cpu <quantity>", 'CPU for all pods together ("2", "500m")'),
		new Option("--memory <quantity>", 'memory ("4Gi")'),
		new Option("--storage <quantity>", 'storage of all volumes ("10Gi")'),
		new Option("--pods <n>", "most pods at once").argParser(integer(1, 10_000)),
		new Option("--gpu <n>", "GPUs").argParser(integer(0, 64)),
	];
}

function quotaOf(flags: QuotaFlags): QuotaInput | undefined {
	const quota: QuotaInput = {};
	if (flags.cpu !== undefined) quota.cpu = flags.cpu;
	if (flags.memory !== undefined) quota.memory = flags.memory;
	if (flags.storage !== undefined) quota.storage = flags.storage;
	if (flags.pods !== undefined) quota.pods = flags.pods;
	if (flags.gpu !== undefined) quota.gpu = flags.gpu;
	return Object.keys(quota).length ? quota : undefined;
}

export const namespaceColumns = [
	{ header: "name", value: (n: NamespaceEntity) => n.name },
	{ header: "phase", value: (n: NamespaceEntity) => n.phase },
	{ header: "cpu", value: (n: NamespaceEntity) => n.quota?.cpu },
	{ header: "memory", value: (n: NamespaceEntity) => n.quota?.memory },
	{ header: "storage", value: (n: NamespaceEntity) => n.quota?.storage },
	{ header: "pods", value: (n: NamespaceEntity) => n.quota?.pods },
	{ header: "gpu", value: (n: NamespaceEntity) => n.quota?.gpu },
	{ header: "owner", value: (n: NamespaceEntity) => n.owner },
	{ header: "age", value: (n: NamespaceEntity) => age(n.createdAt) },
	{ header: "id", value: (n: NamespaceEntity) => n.id },
];

export function namespaceDetails(n: NamespaceEntity): string {
	return details([
		["name", n.name],
		["id", n.id],
		["phase", n.phase],
		["quota", pairs(n.quota as unknown as Record<string, unknown>)],
		["owner", n.owner],
		["members", n.members],
		["domains", n.domains ?? []],
		["uid", n.uid],
		["created", n.createdAt],
	]);
}

export function registerNamespaces(program: Command, io: CliIO): void {
	const ns = program.command("namespaces").alias("ns").description("your namespaces: each a Kubernetes namespace with a quota");

	subcommand(ns, io, { use: "list", alias: "ls", about: "the namespaces you own or are a member of" }, async ctx => {
		const list = await ctx.client.namespaces.list();
		ctx.emit(list, () => table(list, namespaceColumns, "No namespaces."));
	});

	const create = { use: "create <name>", about: "create a namespace (quota defaults: cpu 2, memory 4Gi, storage 10Gi, pods 20, gpu 0)", options: quotaOptions() };
	subcommand(ns, io, create, async (ctx, name: string, flags: QuotaFlags) => {
		const created = await ctx.client.namespaces.create({ name, quota: quotaOf(flags) });
		ctx.emit(created, () => `Namespace ${created.name} created.\n${namespaceDetails(created)}`);
	});

	subcommand(ns, io, { use: "get <namespace>", about: "one namespace, by name or id" }, async (ctx, ref: string) => {
		const found = await ctx.client.namespaces.find(ref);
		ctx.emit(found, () => namespaceDetails(found));
	});

	const quota = { use: "quota <namespace>", about: "what the namespace uses of its quota; with options, change the quota first", options: quotaOptions() };
	subcommand(ns, io, quota, async (ctx, ref: string, flags: QuotaFlags) => {
		const found = await ctx.client.namespaces.find(ref);
		const change = quotaOf(flags);
		if (change) await ctx.client.namespaces.update(found.id, { quota: change });
		const report = await ctx.client.namespaces.resourceQuota(found.id);
		ctx.emit(report, () => `${change ? `Quota of ${found.name} changed.\n` : ""}${table(quotaRows(report), [
			{ header: "resource", value: r => r.resource },
			{ header: "used", value: r => r.used },
			{ header: "hard", value: r => r.hard },
		], "No quota in the cluster for this namespace.")}`);
	});

	const domains = ns.command("domains").description("admins: the domains a namespace may serve besides <namespace>.<BASE_DOMAIN>");
	subcommand(domains, io, { use: "grant <namespace> <domain>", about: 'grant a domain and its subdomains ("shop.example", "*.shop.example" for a wildcard host)' }, async (ctx, ref: string, domain: string) => {
		const found = await ctx.client.namespaces.find(ref);
		const saved = await ctx.client.namespaces.grantDomain(found.id, domain);
		ctx.emit(saved, () => `Namespace ${saved.name} may serve ${domain}.
${namespaceDetails(saved)}`);
	});
	subcommand(domains, io, { use: "revoke <namespace> <domain>", about: "revoke a domain grant (deployments keep hosts they serve until changed)" }, async (ctx, ref: string, domain: string) => {
		const found = await ctx.client.namespaces.find(ref);
		const saved = await ctx.client.namespaces.revokeDomain(found.id, domain);
		ctx.emit(saved, () => `Namespace ${saved.name} no longer holds ${domain}.
${namespaceDetails(saved)}`);
	});

	const adopt = { use: "adopt <name>", about: "admins: make a namespace Berth did not create a Berth namespace with an owner", options: [new Option("--owner <user>", "the user who will own it").makeOptionMandatory(), ...quotaOptions()] };
	subcommand(ns, io, adopt, async (ctx, name: string, flags: QuotaFlags & { owner: string }) => {
		const quota = quotaOf(flags);
		const adopted = await ctx.client.namespaces.adopt({ name, owner: flags.owner, ...(quota ? { quota } : {}) });
		ctx.emit(adopted, () => `Namespace ${adopted.name} adopted for ${adopted.owner}.\n${namespaceDetails(adopted)}`);
	});

	subcommand(ns, io, { use: "delete <namespace>", alias: "rm", about: "delete a namespace and everything in it" }, async (ctx, ref: string) => {
		const found = await ctx.client.namespaces.find(ref);
		const removed = await ctx.client.namespaces.remove(found.id);
		ctx.emit(removed, () => `Namespace ${found.name} deleted.\n`);
	});
}
