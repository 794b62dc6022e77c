import type { Service, ServiceSchema } from "moleculer";
import { getLeaderElector } from "../lib/leader";

/** Something that runs only on the leader: informers, reconcilers, cullers. */
export interface Controller {
	name: string;
	start(): Promise<void> | void;
	stop(): Promise<void> | void;
}

export interface ControllerMethods {
	/**
	 * Runs `controller` whenever this node holds the controller Lease, and stops it when it loses it.
	 * Resolves once it has started, when this node already leads.
	 */
	runWhileLeading(controller: Controller): Promise<void>;
}

type ControllerThis = Service & ControllerMethods & { $controllers: Controller[]; $controllersRunning: boolean; $onLead?: () => void; $onLose?: () => void };

/** Leader election is on unless LEADER_ELECTION=false (then every node runs its controllers). */
function electionEnabled(): boolean {
	return process.env.LEADER_ELECTION !== "false";
}

/**
 * Exactly one active controller per cluster: services register their watchers and reconcilers
 * here and they run only while this process holds the coordination.k8s.io Lease.
 */
export function createControllerMixin(): Partial<ServiceSchema> {
	const schema: Partial<ServiceSchema<Record<string, never>, ControllerMethods, Record<string, unknown>, ControllerThis>> = {
		methods: {
			async runWhileLeading(this: ControllerThis, controller: Controller) {
				this.$controllers.push(controller);
				if (this.$controllersRunning) await Promise.resolve(controller.start()).catch(err => this.logger.error(`Controller ${controller.name} failed to start`, err));
			},
		},
		created(this: ControllerThis) {
			this.$controllers = [];
			this.$controllersRunning = false;
		},
		async started(this: ControllerThis) {
			const startAll = async () => {
				if (this.$controllersRunning) return;
				this.$controllersRunning = true;
				for (const c of this.$controllers) await Promise.resolve(c.start()).catch(err => this.logger.error(`Controller ${c.name} failed to start`, err));
			};
			const stopAll = async () => {
				if (!this.$controllersRunning) return;
				this.$controllersRunning = false;
				for (const c of this.$controllers) await Promise.resolve(c.stop()).catch(err => this.logger.warn(`Controller ${c.name} failed to stop`, err));
			};
			if (!electionEnabled()) return startAll();
			const elector = getLeaderElector({ log: msg => this.logger.info(msg) });
			this.$onLead = () => void startAll();
			this.$onLose = () => void stopAll();
			elector.on("started-leading", this.$onLead);
			elector.on("stopped-leading", this.$onLose);
			await elector.start();
			if (elector.isLeader) await startAll();
		},
		async stopped(this: ControllerThis) {
			const elector = getLeaderElector();
			if (this.$onLead) elector.off("started-leading", this.$onLead);
			if (this.$onLose) elector.off("stopped-leading", this.$onLose);
			this.$controllersRunning = false;
			for (const c of this.$controllers) await Promise.resolve(c.stop()).catch(() => undefined);
			// The last service to stop hands the lease over, so a successor need not wait it out.
			if (elector.listenerCount("started-leading") === 0) await elector.stop();
		},
	};
	return schema as Partial<ServiceSchema>;
}
