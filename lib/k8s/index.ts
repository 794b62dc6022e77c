export { KubeClient, FIELD_MANAGER, apiserverRequests, checkedWrites, type ApiserverWrite, type ObjectRef, type LogOptions, type PodMetrics } from "./client";
export { describeKube, findKubeSource, loadKubeConfig, type KubeSource } from "./config";
export { toMoleculerError, isAlreadyExists, isNotFound, statusOf } from "./errors";
export { ResilientInformer, type WatchEvent, type WatchHandler, type InformerOptions } from "./informer";
export { Kinds, collectionPath, type ResourceKind } from "./resources";
export type * from "./types";
export { getKubeClient, setKubeClient } from "./shared";
