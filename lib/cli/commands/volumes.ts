import { Option, type Command } from "commander";
import type { VolumeEntity } from "../../client";
import { action, pick, type CommandContext } from "../context";
import { age, details, table } from "../format";
import type { CliIO } from "../io";
import { collect } from "../parse";

const ACCESS_MODES = ["ReadWriteOnce", "ReadOnlyMany", "ReadWriteMany", "ReadWriteOncePod"];

function nsOption(): Option {
	return new Option("-n, --namespace <namespace>", "namespace name or id");
}

/** Volume entities name their namespace by id; people know it by name. */
async function namespaceNames(ctx: CommandContext): Promise<Map<string, string>> {
	return new Map((await ctx.client.namespaces.list()).map(n => [n.id, n.name]));
}

/** A volume by name or id, in the namespace given (or BERTH_NAMESPACE). */
async function find(ctx: CommandContext, ref: string, namespace?: string): Promise<VolumeEntity> {
	const ns = namespace || ctx.io.env.BERTH_NAMESPACE;
	return pick(await ctx.client.volumes.list(ns ? { namespace: ns } : {}), ref, "volume");
}

export function registerVolumes(program: Command, io: CliIO): void {
	const volumes = program.command("volumes").alias("vol").description("persistent volumes (claims) in your namespaces");
	for (const add of [volumesList, volumesCreate, volumesGet, volumesDelete]) add(volumes, io);
}

function volumesList(volumes: Command, io: CliIO): void {
	volumes
		.command("list")
		.alias("ls")
		.description("your volumes")
		.addOption(nsOption())
		.action(
			action(io, async (ctx, flags: { namespace?: string }) => {
				const ns = flags.namespace || ctx.io.env.BERTH_NAMESPACE;
				const [list, names] = await Promise.all([ctx.client.volumes.list(ns ? { namespace: ns } : {}), namespaceNames(ctx)]);
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
			}),
		);
}

function volumesCreate(volumes: Command, io: CliIO): void {
	volumes
		.command("create <name>")
		.description("a volume (a PersistentVolumeClaim) for deployments to mount")
		.addOption(nsOption())
		.requiredOption("--mount-path <path>", "where deployments mount it by default (an absolute path)")
		.option("--size <size>", '"1Gi" to "999Gi", or in Mi', "1Gi")
		.addOption(new Option("--access-mode <mode>", "repeatable; default ReadWriteOnce").choices(ACCESS_MODES).argParser(collect))
		.option("--storage-class <class>", "the cluster's default when left out")
		.action(
			action(io, async (ctx, name: string, flags: { namespace?: string; mountPath: string; size: string; accessMode?: string[]; storageClass?: string }) => {
				const volume = await ctx.client.volumes.create({
					namespace: await ctx.namespace(flags.namespace),
					name,
					mountPath: flags.mountPath,
					size: flags.size,
					...(flags.accessMode?.length ? { accessModes: flags.accessMode as VolumeEntity["accessModes"] } : {}),
					...(flags.storageClass ? { storageClass: flags.storageClass } : {}),
				});
				ctx.emit(volume, () => `Volume ${volume.name} created (${volume.status?.phase ?? "Pending"}, id ${volume.id}).\n`);
			}),
		);
}

function volumesGet(volumes: Command, io: CliIO): void {
	volumes
		.command("get <volume>")
		.description("one volume, by name or id")
		.addOption(nsOption())
		.action(
			action(io, async (ctx, ref: string, flags: { namespace?: string }) => {
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
			}),
		);
}

function volumesDelete(volumes: Command, io: CliIO): void {
	volumes
		.command("delete <volume>")
		.alias("rm")
		.description("delete a volume and its data (refused while a deployment mounts it)")
		.addOption(nsOption())
		.action(
			action(io, async (ctx, ref: string, flags: { namespace?: string }) => {
				const removed = await ctx.client.volumes.remove((await find(ctx, ref, flags.namespace)).id);
				ctx.emit(removed, () => `Volume ${removed.name} deleted.\n`);
			}),
		);
}
