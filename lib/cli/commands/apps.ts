import type { Command } from "commander";
import { BerthTimeoutError, BerthWaitError, type Application } from "../../client";
import { subcommand, type CommandSpec } from "../context";
import { details, table } from "../format";
import { ExitCode, type CliIO } from "../io";
import { duration } from "../parse";

function appDetails(app: Application): string {
	return details([
		["id", app.id],
		["template", app["template-name"]],
		["status", app.status],
		["location", app.location],
	]);
}

export function registerApps(program: Command, io: CliIO): void {
	const apps = program.command("apps").description("ephemeral applications: instances of launchable templates (`berth images list --launchable`)");
	for (const add of [appsLaunch, appsStatus, appsList, appsKeepalive, appsDelete]) add(apps, io);
}

function appsLaunch(apps: Command, io: CliIO): void {
	const options: CommandSpec["options"] = [
		["--no-wait", "answer with the id at once"],
		["--timeout <duration>", "how long to wait for the location", duration, duration("5m")],
	];
	subcommand(apps, io, { use: "launch <template>", about: "launch an instance and wait for its location", options }, async (ctx, template: string, flags: { wait: boolean; timeout: number }) => {
		const { id } = await ctx.client.apps.launch(template);
		if (!flags.wait) {
			ctx.emit({ id }, () => `Launched ${template}: ${id}\nFollow it with \`berth apps status ${template} ${id}\`.\n`);
			return;
		}
		const progress = ctx.progress(`Launching ${template} (${id})…`);
		try {
			const app = await ctx.client.apps.waitForLocation(template, id, {
				timeoutMs: flags.timeout * 1000,
				intervalMs: 1000,
				signal: ctx.io.signal,
				onProgress: a => progress.update(`Launching ${template} (${id}): ${a.status}`),
			});
			progress.succeed(`${template} ${id} is running at ${app.location}`);
			ctx.emit(app, () => appDetails(app));
			return ExitCode.Ok;
		} catch (err) {
			if (err instanceof BerthWaitError) {
				const app = err.last as Application;
				progress.fail(`${template} ${id} ${app.status} before it ran`);
				ctx.emit(app, () => appDetails(app));
				return ExitCode.Failed;
			}
			if (err instanceof BerthTimeoutError) {
				const app = err.last as Application | undefined;
				progress.fail(`${template} ${id} still ${app?.status ?? "deploying"} after ${flags.timeout} s; stopped waiting. See \`berth apps status ${template} ${id}\``);
				if (app) ctx.emit(app, () => appDetails(app));
				return ExitCode.Timeout;
			}
			progress.fail(`Waiting for ${template} ${id} stopped: ${(err as Error).message}`);
			throw err;
		}
	});
}

function appsStatus(apps: Command, io: CliIO): void {
	subcommand(apps, io, { use: "status <template> <id>", about: "an instance's status and location" }, async (ctx, template: string, id: string) => {
		const app = await ctx.client.apps.get(template, id);
		ctx.emit(app, () => appDetails(app));
		return app.status === "failed" ? ExitCode.Failed : ExitCode.Ok;
	});
}

function appsList(apps: Command, io: CliIO): void {
	subcommand(apps, io, { use: "list <template>", alias: "ls", about: "the instances of a template" }, async (ctx, template: string) => {
		const list = await ctx.client.apps.list(template);
		ctx.emit(list, () =>
			table(list, [
				{ header: "id", value: (a: Application) => a.id },
				{ header: "status", value: a => a.status },
				{ header: "location", value: a => a.location },
			], "No instances."),
		);
	});
}

function appsKeepalive(apps: Command, io: CliIO): void {
	subcommand(apps, io, { use: "keepalive <template> <id>", about: "mark an instance as in use, so it is not culled as idle" }, async (ctx, template: string, id: string) => {
		const answer = await ctx.client.apps.keepalive(template, id);
		ctx.emit(answer ?? { id }, () => `${template} ${id} kept alive.\n`);
	});
}

function appsDelete(apps: Command, io: CliIO): void {
	subcommand(apps, io, { use: "delete <id>", alias: "rm", about: "end an instance and delete what it runs" }, async (ctx, id: string) => {
		const app = await ctx.client.applications.remove(id);
		ctx.emit(app, () => `${app["template-name"]} ${app.id} deleted.\n`);
	});
}
