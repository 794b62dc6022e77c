import type { CatalogImage } from "../../lib/manifests/deployment";

/**
 * The seed's php example as the catalog ships it (images/php-8-1-0-fpm.json): the catalog test checks
 * the shipped file against it, the manifest tests build deployments from it.
 */
export const SEED_PHP: Pick<CatalogImage, "image" | "imagePullPolicy" | "ports" | "env" | "volumes" | "resources"> = {
	image: "php:8.1.0-fpm",
	imagePullPolicy: "IfNotPresent",
	ports: [{ name: "php", port: 9000, protocol: "TCP" }],
	env: [{ key: "PHP_ROOT_PASSWORD", type: "secret" }],
	volumes: [{ name: "php-data", type: "persistentVolumeClaim", mountPath: "/var/www/html" }],
	resources: { limits: { cpu: 500, memory: 500 }, requests: { cpu: 100, memory: 20 } },
};
