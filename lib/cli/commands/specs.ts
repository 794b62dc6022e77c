import * as fs from "node:fs";
import { Option, type Command } from "commander";
import type { ServiceEntity } from "../../client";
import { nsOption, pick, subcommand, UsageError, type CommandContext, type CommandSpec } from "../context";
import { age, details, endLine, table } from "../format";
import type { CliIO } from "../io";
import { integer } from "../parse";

/** `berth specs`: multi-container services from a YAML spec (v1.k8s.services, the KITeGG format). */

function specDetails(s: ServiceEntity): string {
	return details([
		["id", s.id],
		["name", s.name],
		["namespace", s.namespaceName],
		["resource", s.resourceName],
		["exposed", s.exposed_service ? `${s.exposed_service}:${s.exposed_port}` : undefined],
		["deployed", s.deployed ? `yes, at ${s.deployedAt}` : "no"],
		["host", s.host],
		["pending changes", s.pendingChanges ? "yes (deploy again to apply)" : "no"],
		["owner", s.owner],
	]) + `\n${endLine(s.deployment)}`;
}

/** A spec by id, or by name among yours (in the -n namespace when given). */
async function findSpec(ctx: CommandContext, ref: string, namespace: string | undefined): Promise<ServiceEntity> {
	return pick(await ctx.client.services.list(ctx.namespaceFilter(namespace)), ref, "spec");
}

export function registerSpecs(program: Command, io: CliIO): void {
	const specs = program.command("specs").description("service specs: several containers, ports and volumes from one YAML document (the KITeGG format)");
	for (const add of [specsList, specsGet, specsCreate, specsDeploy, specsDelete]) add(specs, io);
}

function specsList(specs: Command, io: CliIO): void {
	subcommand(specs, io, { use: "list", alias: "ls", about: "your specs", options: [nsOption("namespace name or id (default: BERTH_NAMESPACE, or all of yours)")] }, async (ctx, flags: { namespace?: string }) => {
		const list = await ctx.client.services.list(ctx.namespaceFilter(flags.namespace));
		ctx.emit(list, () =>
			table(list, [
				{ header: "id", value: (s: ServiceEntity) => s.id },
				{ header: "name", value: s => s.name },
				{ header: "namespace", value: s => s.namespaceName },
				{ header: "deployed", value: s => (s.deployed ? (s.pendingChanges ? "yes, changed since" : "yes") : "no") },
				{ header: "host", value: s => s.host },
				{ header: "age", value: s => age(s.createdAt) },
			], "No specs."),
		);
	});
}

function specsGet(specs: Command, io: CliIO): void {
	subcommand(specs, io, { use: "get <spec>", about: "a spec and its YAML, by id or name", options: [nsOption("namespace name or id, to tell specs of the same name apart")] }, async (ctx, ref: string, flags: { namespace?: string }) => {
		const spec = await findSpec(ctx, ref, flags.namespace);
		ctx.emit(spec, () => specDetails(spec));
	});
}

interface CreateFlags {
	namespace?: string;
	file: string;
	expose?: string;
	deploy?: boolean;
}

/** `web:80` → the container and port to expose through an Ingress. */
function exposure(value: string | undefined): { exposed_service?: string; exposed_port?: number } {
	if (!value) return {};
	const m = /^([^:]+):(\d+)$/.exec(value);
	if (!m) throw new UsageError(`--expose wants CONTAINER:PORT, got "${value}".`);
	return { exposed_service: m[1], exposed_port: integer(1, 65_535)(m[2]) };
}

function specsCreate(specs: Command, io: CliIO): void {
	const options: CommandSpec["options"] = [
		nsOption(),
		new Option("-f, --file <file>", "the spec, a YAML file").makeOptionMandatory(),
		["--expose <container:port>", "expose this container's port through an Ingress"],
		["--deploy", "deploy it at once"],
	];
	subcommand(specs, io, { use: "create <name>", about: "store a spec (checked first); --deploy runs it", options }, async (ctx, name: string, flags: CreateFlags) => {
		let deployment: string;
		try {
			deployment = fs.readFileSync(flags.file, "utf8");
		} catch (err) {
			throw new UsageError(`Cannot read ${flags.file}: ${(err as Error).message}`);
		}
		const namespace = await ctx.namespace(flags.namespace);
		const spec = await ctx.client.services.create({ name, namespace, deployment, ...exposure(flags.expose) });
		if (!flags.deploy) {
			ctx.emit(spec, () => `Spec "${spec.name}" stored in ${spec.namespaceName} (id ${spec.id}). Run it with \`berth specs deploy ${spec.id}\`.\n`);
			return;
		}
		const deployed = await ctx.client.services.deploy(spec.id);
		ctx.emit({ ...spec, deployed: true, deployedAt: deployed.deployedAt, host: deployed.host }, () => `Spec "${spec.name}" stored in ${spec.namespaceName} (id ${spec.id}) and deployed as ${deployed.resourceName}${deployed.host ? ` at ${deployed.host}` : ""}.\n`);
	});
}

function specsDeploy(specs: Command, io: CliIO): void {
	subcommand(specs, io, { use: "deploy <spec>", about: "apply a spec's objects (again, after a change)", options: [nsOption("namespace name or id, to tell specs of the same name apart")] }, async (ctx, ref: string, flags: { namespace?: string }) => {
		const spec = await findSpec(ctx, ref, flags.namespace);
		const deployed = await ctx.client.services.deploy(spec.id);
		ctx.emit(deployed, () => `Spec "${spec.name}" deployed as ${deployed.resourceName}${deployed.host ? ` at ${deployed.host}` : ""}.\n`);
	});
}

function specsDelete(specs: Command, io: CliIO): void {
	const options: CommandSpec["options"] = [nsOption("namespace name or id, to tell specs of the same name apart"), ["--keep-volumes", "leave the spec's volume claims (and their data) in place"]];
	subcommand(specs, io, { use: "delete <spec>", alias: "rm", about: "delete a spec and everything deployed for it", options }, async (ctx, ref: string, flags: { namespace?: string; keepVolumes?: boolean }) => {
		const spec = await findSpec(ctx, ref, flags.namespace);
		const answer = await ctx.client.services.remove(spec.id, flags.keepVolumes ? { keepVolumes: true } : {});
		ctx.emit(answer, () => `Spec "${spec.name}" deleted (${answer.removed.length} objects removed${answer.kept.length ? `, ${answer.kept.length} claims kept` : ""}).\n`);
	});
}
