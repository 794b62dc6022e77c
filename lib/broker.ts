import { ServiceBroker, type BrokerOptions, type ServiceSchema } from "moleculer";
import brokerConfig from "../moleculer.config";
import { serviceRegistry } from "../services";

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
