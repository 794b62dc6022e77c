import type { Command } from "commander";
import type { ImageEntity } from "../../client";
import { subcommand } from "../context";
import { details, table, truncate } from "../format";
import type { CliIO } from "../io";

export function registerImages(program: Command, io: CliIO): void {
	const images = program.command("images").description("the image catalog");

	subcommand(images, io, { use: "list", alias: "ls", about: "every image you can deploy", options: [["--launchable", "only templates of applications (`berth apps launch`)"]] }, async (ctx, flags: { launchable?: boolean }) => {
		const list = await ctx.client.images.list(flags.launchable ? { launchable: true } : {});
		ctx.emit(list, () =>
			table(list, [
				{ header: "name", value: (i: ImageEntity) => i.name },
				{ header: "image", value: i => i.image },
				{ header: "ports", value: i => i.ports?.map(p => `${p.port}/${p.protocol ?? "TCP"}`) },
				{ header: "launchable", value: i => (i.launchable ? (i.public ? "public" : "yes") : "no") },
				{ header: "description", value: i => truncate(i.description) },
			], "The catalog is empty."),
		);
	});

	subcommand(images, io, { use: "get <image>", about: "one image, by catalog name, image reference or id" }, async (ctx, ref: string) => {
		const image = await ctx.client.images.getByName(ref).catch(async err => {
			if ((err as { status?: number }).status !== 404) throw err;
			return ctx.client.images.get(ref);
		});
		ctx.emit(image, () =>
			details([
				["name", image.name],
				["id", image.id],
				["image", image.image],
				["description", image.description],
				["ports", image.ports?.map(p => `${p.name ?? ""}:${p.port}/${p.protocol ?? "TCP"}`)],
				["env", image.env?.map(e => `${e.key}${e.type === "secret" ? " (secret)" : ""}`)],
				["volumes", image.volumes?.map(v => `${v.name}:${v.mountPath}`)],
				["resources", image.resources],
				["launchable", image.launchable ? (image.public ? "yes, public" : "yes") : "no"],
			]),
		);
	});
}
