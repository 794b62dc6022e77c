/**
 * The inventory: what runs in the cluster, whoever made it, as compact records. Pure: live objects
 * in, records out, and an in-memory index the inventory service fills from its informers. No I/O,
 * no clock.
 *
 * Records are small on purpose: a pod record keeps a dozen fields, not the pod. Secrets keep their
 * key names and never a value; no record keeps annotations (kubectl's last-applied-configuration
 * annotation holds a Secret's values in clear).
 */
export * from "./kinds";
export * from "./records";
export * from "./selectors";
export * from "./store";
export * from "./retire";
export * from "./tree";
