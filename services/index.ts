import { ServiceBroker, type BrokerOptions, type ServiceSchema } from "moleculer";
import brokerConfig from "../moleculer.config";
import ApiService from "./api.service";
import AuditService from "./audit.service";
import HealthService from "./health.service";
import KeysService from "./keys.service";
import JobsService from "./k8s.jobs.service";
import CronJobsService from "./k8s.cronjobs.service";
import ImagesService from "./k8s.images.service";
import BuildsService from "./k8s.builds.service";
import NamespacesService from "./k8s.namespaces.service";
import VolumesService from "./k8s.volumes.service";
import ConfigMapsService from "./k8s.configmaps.service";
import SecretsService from "./k8s.secrets.service";
import DeploymentsService from "./k8s.deployments.service";
import EnvsService from "./k8s.envs.service";
import RevisionsService from "./k8s.revisions.service";
import InventoryService from "./k8s.inventory.service";
import ApplicationsService from "./k8s.applications.service";
import ServicesService from "./k8s.services.service";
import StatusService from "./k8s.status.service";

/**
 * Every service of the mesh, by the name SERVICES selects them with. Explicit rather than a glob,
 * so the compiled mesh, ts tests and bundlers all see the same list.
 */
export const serviceRegistry: Record<string, ServiceSchema> = {
	api: ApiService as ServiceSchema,
	health: HealthService,
	keys: KeysService as unknown as ServiceSchema,
	"k8s.jobs": JobsService as unknown as ServiceSchema,
	"k8s.cronjobs": CronJobsService as unknown as ServiceSchema,
	"k8s.namespaces": NamespacesService as unknown as ServiceSchema,
	"k8s.images": ImagesService as unknown as ServiceSchema,
	"k8s.builds": BuildsService as unknown as ServiceSchema,
	"k8s.volumes": VolumesService as unknown as ServiceSchema,
	"k8s.configmaps": ConfigMapsService,
	"k8s.secrets": SecretsService,
	"k8s.deployments": DeploymentsService as unknown as ServiceSchema,
	"k8s.envs": EnvsService as unknown as ServiceSchema,
	"k8s.revisions": RevisionsService as unknown as ServiceSchema,
	"k8s.inventory": InventoryService as unknown as ServiceSchema,
	"k8s.applications": ApplicationsService as unknown as ServiceSchema,
	"k8s.services": ServicesService as unknown as ServiceSchema,
	"k8s.status": StatusService as unknown as ServiceSchema,
	audit: AuditService as unknown as ServiceSchema,
};

/** Services named in `names` (or all), in registry order; unknown names are an error, not a silent gap. */
export function selectServices(names: string[], registry: Record<string, ServiceSchema> = serviceRegistry): ServiceSchema[] {
	const unknown = names.filter(n => !(n in registry));
	if (unknown.length) throw new Error(`Unknown service(s) in SERVICES: ${unknown.join(", ")}. Known: ${Object.keys(registry).join(", ")}`);
	const wanted = names.length ? new Set(names) : undefined;
	return Object.entries(registry)
		.filter(([name]) => !wanted || wanted.has(name))
		.map(([, schema]) => schema);
}

/** A broker with Berth's configuration (overridable, e.g. by tests) and the selected services. */
export function createBroker(services: string[], overrides: Partial<BrokerOptions> = {}): ServiceBroker {
	const broker = new ServiceBroker({ ...brokerConfig, ...overrides });
	for (const schema of selectServices(services)) broker.createService(schema);
	return broker;
}
