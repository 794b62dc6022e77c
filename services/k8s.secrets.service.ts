import type { ServiceSchema } from "moleculer";
import { createDataObjectMixin } from "../mixins/data-object.mixin";

/**
 * v1.k8s.secrets: Secrets with data in a tenant's namespace, for deployments to mount by id or name
 * (docs/api/configmaps.md). Values are write-only (reads give key names) and sealed at rest.
 * Everything but the kind is mixins/data-object.mixin.ts.
 */
const SecretsService: ServiceSchema = {
	name: "k8s.secrets",
	version: 1,
	mixins: [createDataObjectMixin({ kind: "Secret" })],
};

export default SecretsService;
