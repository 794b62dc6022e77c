import type { ServiceSchema } from "moleculer";
import { createDataObjectMixin } from "../mixins/data-object.mixin";

/**
 * v1.k8s.configmaps: ConfigMaps with data in a tenant's namespace, for deployments to mount by id or
 * name (docs/api/configmaps.md). Everything but the kind is mixins/data-object.mixin.ts.
 */
const ConfigMapsService: ServiceSchema = {
	name: "k8s.configmaps",
	version: 1,
	mixins: [createDataObjectMixin({ kind: "ConfigMap" })],
};

export default ConfigMapsService;
