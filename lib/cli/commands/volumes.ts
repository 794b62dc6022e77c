import { Option, type Command } from "commander";
import type { VolumeEntity } from "../../client";
import { nsOption, pick, subcommand, type CommandContext, type CommandSpec } from "../context";
import { age, details, table } from "../format";
import type { CliIO } from "../io";
import { collect } from "../parse";

const ACCESS_MODES = ["ReadWriteOnce", "ReadOnlyMany", "ReadWriteMany", "ReadWriteOncePod"];

/** The -n of the volume commands (its help text as it always was: shorter than the other commands'). */
const volumesNs = () => nsOption("namespace name or id");

/** Volume entities name their namespace by id; people know it by name. */
async function namespaceNames(ctx: CommandContext): Promise<Map<string, string>> {
	return new Map((await ctx.client.namespaces.list()).map(n => [n.id, n.name]));
}

/** A volume by name or id, in the namespace given (or BERTH_NAMESPACE). */
async function find(ctx: CommandContext, ref: string, namespace?: string): Promise<VolumeEntity> {
	return pick(await ctx.client.volumes.list(ctx.namespaceFilter(namespace)), ref, "volume");
}

export function registerVolumes(program: Command, io: CliIO): void {
	const volumes = program.command("volumes").alias("vol").description("persistent volumes (claims) in your namespaces");
	for (const add of [volumesList, volumesCreate, volumesGet, volumesDelete]) add(volumes, io);
}

function volumesList(volumes: Command, io: CliIO): void {
	subcommand(volumes, io, { use: "list", alias: "ls", about: "your volumes", options: [volumesNs()] }, async (ctx, flags: { namespace?: string }) => {
		const [list, names] = await Promise.all([ctx.client.volumes.list(ctx.namespaceFilter(flags.namespace)), namespaceNames(ctx)]);
		ctx.emit(list, () =>
			table(list, [
				{ header: "name", value: (v: VolumeEntity) => v.name },
				{ header: "namespace", value: v => names.get(v.namespace) ?? v.namespace },
				{ header: "phase", value: v => v.status?.phase },
				{ header: "size", value: v => v.size },
				{ header: "capacity", value: v => v.status?.capacity },
				{ header: "mount", value: v => v.mountPath },
				{ header: "access", value: v => v.accessModes },
				{ header: "age", value: v => age(v.createdAt) },
				{ header: "id", value: v => v.id },
			], "No volumes."),
		);
	});
}

function volumesCreate(volumes: Command, io: CliIO): void {
	const options = [
		volumesNs(),
		new Option("--mount-path <path>", "where deployments mount it by default (an absolute path)").makeOptionMandatory(),
		["--size <size>", '"1Gi" to "999Gi", or in Mi', "1Gi"],
		new Option("--access-mode <mode>", "repeatable; default ReadWriteOnce").choices(ACCESS_MODES).argParser(collect),
		["--storage-class <class>", "the cluster's default when left out"],
	] satisfies CommandSpec["options"];
	subcommand(volumes, io, { use: "create <name>", about: "a volume (a PersistentVolumeClaim) for deployments to mount", options }, async (ctx, name: string, flags: { namespace?: string; mountPath: string; size: string; accessMode?: string[]; storageClass?: string }) => {
		const volume = await ctx.client.volumes.create({
			namespace: await ctx.namespace(flags.namespace),
			name,
			mountPath: flags.mountPath,
			size: flags.size,
			...(flags.accessMode?.length ? { accessModes: flags.accessMode as VolumeEntity["accessModes"] } : {}),
			...(flags.storageClass ? { storageClass: flags.storageClass } : {}),
		});
		ctx.emit(volume, () => `Volume ${volume.name} created (${volume.status?.phase ?? "Pending"}, id ${volume.id}).\n`);
	});
}

function volumesGet(volumes: Command, io: CliIO): void {
	subcommand(volumes, io, { use: "get <volume>", about: "one volume, by name or id", options: [volumesNs()] }, async (ctx, ref: string, flags: { namespace?: string }) => {
		const v = await find(ctx, ref, flags.namespace);
		const names = await namespaceNames(ctx);
		ctx.emit(v, () =>
			details([
				["name", v.name],
				["id", v.id],
				["namespace", names.get(v.namespace) ?? v.namespace],
				["phase", v.status?.phase],
				["size", v.size],
				["capacity", v.status?.capacity],
				["mount path", v.mountPath],
				["access", v.accessModes],
				["storage class", v.storageClass],
				["owner", v.owner],
				["created", v.createdAt],
			]),
		);
	});
}

function volumesDelete(volumes: Command, io: CliIO): void {
	const spec = { use: "delete <volume>", alias: "rm", about: "delete a volume and its data (refused while a deployment mounts it)", options: [volumesNs()] };
	subcommand(volumes, io, spec, async (ctx, ref: string, flags: { namespace?: string }) => {
		const removed = await ctx.client.volumes.remove((await find(ctx, ref, flags.namespace)).id);
		ctx.emit(removed, () => `Volume ${removed.name} deleted.\n`);
	});
}
