import { Option, type Command } from "commander";
import type { AdoptionPlan, InventoryGetParams, InventoryListParams, InventoryView, XosTree } from "../../client";
import { subcommand, UsageError, type CommandContext, type CommandSpec } from "../context";
import { age, cell, details, pairs, table } from "../format";
import type { CliIO } from "../io";
import { integer } from "../parse";

/** `berth inventory`: what runs in the namespaces you may see, Berth's or not; and adopting a Deployment. */

const KINDS = ["namespaces", "deployments", "statefulsets", "daemonsets", "replicasets", "jobs", "pods", "services", "configmaps", "secrets", "serviceaccounts", "controllers"];

function kindOf(value: string): InventoryListParams["kind"] {
	if (!KINDS.includes(value)) throw new UsageError(`No inventory kind "${value}": one of ${KINDS.join(", ")}.`);
	return value as InventoryListParams["kind"];
}

/** The Kubernetes namespace of -n, else BERTH_NAMESPACE. */
function kubeNamespace(ctx: CommandContext, flag: string | undefined): string {
	const namespace = ctx.namespaceFilter(flag).namespace;
	if (!namespace) throw new UsageError("Name the namespace with -n or BERTH_NAMESPACE.");
	return namespace;
}

/** The fields a list shows; which of them a record has depends on its kind. */
type Row = InventoryView & { namespace?: string; entity?: { kind: string; id: string }; createdAt?: string };

const nsOpt = (help: string) => new Option("-n, --namespace <namespace>", help);

export function registerInventory(program: Command, io: CliIO): void {
	const inventory = program.command("inventory").description("what runs in the namespaces you may see, managed by Berth or not, and adopting a Deployment into Berth");
	for (const add of [inventoryList, inventoryGet, inventoryTree, inventoryAdopt]) add(inventory, io);
}

function inventoryList(inventory: Command, io: CliIO): void {
	const options: CommandSpec["options"] = [
		nsOpt("a Kubernetes namespace's name (default: BERTH_NAMESPACE, or all you may see)"),
		new Option("--provenance <who>", "only Berth's objects or only the others").choices(["berth", "external"]),
		["--name <text>", "names containing this"],
		["-l, --selector <labels>", "a label selector: app=web,tier!=db"],
		["--limit <n>", "at most this many", integer(1, 1000)],
		["--offset <n>", "skip this many", integer(0, 1_000_000)],
	];
	const about = `objects of one kind (${KINDS.join(", ")})`;
	type Flags = { namespace?: string; provenance?: "berth" | "external"; name?: string; selector?: string; limit?: number; offset?: number };
	subcommand(inventory, io, { use: "list <kind>", alias: "ls", about, options }, async (ctx, kind: string, flags: Flags) => {
		const params: InventoryListParams = { kind: kindOf(kind), ...ctx.namespaceFilter(flags.namespace) };
		if (flags.provenance) params.provenance = flags.provenance;
		if (flags.name) params.name = flags.name;
		if (flags.selector) params.label = flags.selector;
		if (flags.limit !== undefined) params.limit = flags.limit;
		if (flags.offset !== undefined) params.offset = flags.offset;
		const page = await ctx.client.inventory.list(params);
		ctx.emit(page, () => {
			const rows = table(page.items as Row[], [
				{ header: "kind", value: (r: Row) => r.kind },
				{ header: "namespace", value: r => r.namespace },
				{ header: "name", value: r => r.name },
				{ header: "provenance", value: r => r.provenance },
				{ header: "entity", value: r => (r.entity ? `${r.entity.kind}/${r.entity.id}` : undefined) },
				{ header: "age", value: r => age(r.createdAt) },
			], "Nothing found.");
			return page.total > page.items.length ? `${rows}(${page.items.length} of ${page.total}; see --limit and --offset)\n` : rows;
		});
	});
}

function inventoryGet(inventory: Command, io: CliIO): void {
	const options: CommandSpec["options"] = [nsOpt("the Kubernetes namespace's name (default: BERTH_NAMESPACE)")];
	subcommand(inventory, io, { use: "get <kind> <name>", about: "one object: its record, labels and owners", options }, async (ctx, kind: string, name: string, flags: { namespace?: string }) => {
		if (kind === "namespaces" || kind === "controllers") throw new UsageError(`berth inventory get takes a namespaced kind, not "${kind}" (see \`berth inventory list ${kind}\`).`);
		const params: InventoryGetParams = { kind: kindOf(kind) as InventoryGetParams["kind"], namespace: kubeNamespace(ctx, flags.namespace), name };
		const view = await ctx.client.inventory.get(params);
		ctx.emit(view, () => {
			const { labels, owners, ...rest } = view as InventoryView & { labels?: Record<string, string> };
			return details([...Object.entries(rest), ["labels", pairs(labels)], ["owners", owners?.map(o => `${o.kind}/${o.name}`)]]);
		});
	});
}

/** The XOS view of one namespace, a section per kind of node. */
function treeText(tree: XosTree): string {
	const section = (title: string, lines: string[]) => (lines.length ? [`${title}:`, ...lines.map(l => `  ${l}`)] : []);
	return `${[
		`TrustDomain ${tree.trust_domain.name} (${tree.trust_domain.provenance}${tree.trust_domain.phase ? `, ${tree.trust_domain.phase}` : ""})`,
		...section("Principals", tree.principals.map(p => p.name)),
		...section("Slices", tree.slices.map(s => `${s.controller_kind}/${s.name} replicas ${s.controller_replica_count ?? "-"} ready ${s.ready}/${s.current} ${s.images.join(",")}`)),
		...section("Instances", tree.instances.map(i => `${i.name} ${i.phase}${i.pod_ip ? ` ${i.pod_ip}` : ""}${i.slice ? ` <- ${i.slice.controller_kind}/${i.slice.name}` : ""}${i.image ? ` ${i.image}` : ""}`)),
		...section("ConfigMaps", tree.config_maps.map(c => `${c.name} [${c.keys.join(", ")}]`)),
		...section("Secrets", tree.secrets.map(c => `${c.name} [${c.keys.join(", ")}]`)),
		...section("ServicePorts", tree.service_ports.map(p => `${p.service}${p.name ? `/${p.name}` : ""} ${p.port}/${p.protocol} -> node port ${p.node_port}`)),
	].join("\n")}\n`;
}

function inventoryTree(inventory: Command, io: CliIO): void {
	const options: CommandSpec["options"] = [nsOpt("the Kubernetes namespace's name (default: BERTH_NAMESPACE)")];
	const about = "one namespace as XOS sees it: principals, slices, instances, config maps, secrets (key names), service ports";
	subcommand(inventory, io, { use: "tree", about, options }, async (ctx, flags: { namespace?: string }) => {
		const tree = await ctx.client.inventory.tree(kubeNamespace(ctx, flags.namespace));
		ctx.emit(tree, () => treeText(tree));
	});
}

function planText(plan: AdoptionPlan): string {
	const lines = [`${plan.confirmed ? "Adopted" : "Would adopt"} Deployment ${plan.namespace}/${plan.name} with image ${plan.image.name}.`];
	if (plan.diff.length) lines.push("Changes to the live Deployment:", ...plan.diff.map(c => `  ${c.path}: ${c.live === undefined ? "(none)" : cell(c.live)} -> ${c.desired === undefined ? "(removed)" : cell(c.desired)}`));
	if (plan.objects.length) lines.push("Objects Berth applies:", ...plan.objects.map(o => `  ${o.kind}/${o.name}${o.exists ? ` (exists${o.provenance ? `, ${o.provenance}` : ""})` : " (new)"}`));
	if (plan.notes.length) lines.push("Notes:", ...plan.notes.map(n => `  ${n.field}: ${n.message}`));
	if (plan.deployment) lines.push(`Berth deployment: ${plan.deployment.name} (id ${plan.deployment.id}).`);
	else lines.push("Nothing changed: run again with --confirm to adopt.");
	return `${lines.join("\n")}\n`;
}

function inventoryAdopt(inventory: Command, io: CliIO): void {
	const options: CommandSpec["options"] = [
		nsOpt("the Kubernetes namespace's name (default: BERTH_NAMESPACE)"),
		["--image <image>", "a catalog image (id, name or reference) when the live image is not in the catalog"],
		["--confirm", "adopt it; without this only show what adoption would do"],
	];
	const about = "make a Deployment Berth did not create a Berth deployment (a dry run unless --confirm)";
	subcommand(inventory, io, { use: "adopt <deployment>", about, options }, async (ctx, name: string, flags: { namespace?: string; image?: string; confirm?: boolean }) => {
		const plan = await ctx.client.inventory.adopt({ namespace: kubeNamespace(ctx, flags.namespace), name, ...(flags.image ? { image: flags.image } : {}), ...(flags.confirm ? { confirm: true } : {}) });
		ctx.emit(plan, () => planText(plan));
	});
}
